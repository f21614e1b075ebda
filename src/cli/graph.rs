//! `cairn graph -e ENV [DIR]`: the dependency graph of one environment in DOT (or SVG through
//! Graphviz's `dot`).

use super::vars::VarArgs;
use super::views;
use crate::graph::{self, ExpandOptions};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

/// Output format of `cairn graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Dot,
    Svg,
}

/// Print the dependency graph of an environment.
#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// The environment to expand.
    #[arg(short = 'e', long = "env")]
    pub environment: String,

    /// The stack directory.
    #[arg(default_value = ".")]
    pub dir: PathBuf,

    /// `dot` (Graphviz source) or `svg` (rendered with Graphviz's `dot` program).
    #[arg(long, value_enum, default_value = "dot")]
    pub format: GraphFormat,

    #[command(flatten)]
    pub vars: VarArgs,
}

pub fn run(args: GraphArgs) -> ExitCode {
    let expansion = match graph::load_and_expand(
        &args.dir,
        &args.vars.load_options(),
        &args.environment,
        &ExpandOptions::default(),
    ) {
        Ok((_, expansion)) => expansion,
        Err(diagnostics) => return super::report::diagnostics(&diagnostics),
    };
    let dot = graph::to_dot(&expansion);
    match args.format {
        GraphFormat::Dot => {
            views::config::graph(&dot);
            ExitCode::SUCCESS
        }
        GraphFormat::Svg => match render_svg(&dot) {
            Ok(svg) => {
                views::config::graph(&svg);
                ExitCode::SUCCESS
            }
            Err(report) => super::report::error(report),
        },
    }
}

fn render_svg(dot: &str) -> Result<String, miette::Report> {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| {
            miette::miette!(
                help = "install graphviz (for example `apt-get install graphviz` or `brew install graphviz`), or use `--format dot`",
                "cannot run the Graphviz program `dot`: {error}"
            )
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(dot.as_bytes())
            .map_err(|error| miette::miette!("cannot write to `dot`: {error}"))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|error| miette::miette!("`dot` failed: {error}"))?;
    if !output.status.success() {
        return Err(miette::miette!(
            "`dot` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

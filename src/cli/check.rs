//! `cairn check [-e ENV]... [DIR]`: the built-in policy rules on the configuration (or, with
//! `--live`, on what the cloud has), as text, JSON or SARIF.
//!
//! Exit codes: 0 clean (warnings allowed unless `--strict`), 1 errors (or warnings with
//! `--strict`), or a configuration that cannot be checked.

use super::report::outcome;
use super::stack_args::block_on;
use super::vars::VarArgs;
use super::views;
use super::views::check::CheckFormat;
use crate::ops::{self, CheckRequest};
use std::path::PathBuf;
use std::process::ExitCode;

/// Check the configuration against the built-in policy rules.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The environment to check (repeatable); every environment when left out.
    #[arg(short = 'e', long = "env", value_name = "ENV")]
    pub environments: Vec<String>,

    /// The stack directory.
    #[arg(default_value = ".", value_hint = clap::ValueHint::DirPath)]
    pub dir: PathBuf,

    #[command(flatten)]
    pub vars: VarArgs,

    /// Check what the refresh reads from the cloud, and say which findings are drift.
    #[arg(long)]
    pub live: bool,

    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub strict: bool,

    /// Print the findings as JSON.
    #[arg(long, conflicts_with = "sarif")]
    pub json: bool,

    /// Print the findings as SARIF 2.1.0, for code scanning.
    #[arg(long)]
    pub sarif: bool,

    /// List the rules with their ids, severities, rationales and fixes, and check nothing.
    #[arg(long)]
    pub rules: bool,
}

pub fn run(args: CheckArgs) -> ExitCode {
    if args.rules {
        return views::check::show_rules();
    }
    let request = CheckRequest {
        dir: args.dir.clone(),
        environments: args.environments.clone(),
        load: args.vars.load_options(),
        live: args.live,
    };
    let format = match (args.sarif, args.json) {
        (true, _) => CheckFormat::Sarif,
        (false, true) => CheckFormat::Json,
        (false, false) => CheckFormat::Human,
    };
    outcome(block_on(ops::check(&request)), |checked| {
        views::check::show(checked, format, args.strict)
    })
}

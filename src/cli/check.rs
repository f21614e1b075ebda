//! `cairn check [-e ENV]... [DIR]`: the built-in policy rules on the configuration (or, with
//! `--live`, on what the cloud has), as text, JSON or SARIF.
//!
//! Exit codes: 0 clean (warnings allowed unless `--strict`), 1 errors (or warnings with
//! `--strict`), or a configuration that cannot be checked.

use super::stack_args::{block_on, color_enabled};
use super::vars::VarArgs;
use super::views;
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
    #[arg(default_value = ".")]
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
        print!("{}", views::check::rules());
        return ExitCode::SUCCESS;
    }
    let request = CheckRequest {
        dir: args.dir.clone(),
        environments: args.environments.clone(),
        load: args.vars.load_options(),
        live: args.live,
    };
    let outcome = match block_on(ops::check(&request)) {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(error)) => return super::report::ops(error),
        Err(error) => return super::report::error(miette::miette!("cannot start: {error}")),
    };
    if args.sarif {
        println!(
            "{}",
            serde_json::to_string_pretty(&views::check::sarif(&outcome)).unwrap_or_default()
        );
    } else if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&views::check::json(&outcome)).unwrap_or_default()
        );
    } else {
        print!("{}", views::check::text(&outcome, color_enabled()));
    }
    if outcome.fails(args.strict) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

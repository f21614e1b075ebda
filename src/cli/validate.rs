//! `cairn validate [DIR]`: load the stack and expand every environment, reporting every
//! problem at once.

use super::vars::VarArgs;
use crate::graph::{self, ValidationSummary};
use std::path::PathBuf;
use std::process::ExitCode;

/// Check a stack's configuration without touching any cloud.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The stack directory.
    #[arg(default_value = ".")]
    pub dir: PathBuf,

    #[command(flatten)]
    pub vars: VarArgs,
}

pub fn run(args: ValidateArgs) -> ExitCode {
    match graph::validate(&args.dir, &args.vars.load_options()) {
        Ok(summary) => {
            view(&summary);
            ExitCode::SUCCESS
        }
        Err(diagnostics) => super::report::diagnostics(&diagnostics),
    }
}

fn view(summary: &ValidationSummary) {
    let plural = |count: usize, word: &str| {
        if count == 1 {
            format!("{count} {word}")
        } else {
            format!("{count} {word}s")
        }
    };
    println!(
        "Success! The configuration in {} is valid ({}, {}).",
        summary.dir,
        plural(summary.environments, "environment"),
        plural(summary.blocks, "block")
    );
}

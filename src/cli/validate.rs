//! `cairn validate [DIR]`: load the stack and expand every environment, reporting every
//! problem at once.

use super::vars::VarArgs;
use super::views;
use crate::graph;
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
            views::config::valid(&summary);
            ExitCode::SUCCESS
        }
        Err(diagnostics) => super::report::diagnostics(&diagnostics),
    }
}

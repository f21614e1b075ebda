//! The command line: clap commands and their output only; no engine logic lives here.

mod sim;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Cairn: declarative infrastructure with plan, apply and disaster recovery.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, about)]
pub struct Cli {
    /// Show cause chains and debug logs.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect and change the built-in simulated cloud.
    Sim(sim::SimArgs),
}

/// Parses the command line, runs the command and turns errors into reports.
///
/// Exit codes: 0 success, 1 error, 2 changes present with `--detailed-exitcode`.
pub fn main() -> ExitCode {
    let Cli { command, verbose } = Cli::parse();
    match command {
        Command::Sim(args) => sim::run(args, verbose),
    }
}

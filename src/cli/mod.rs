//! The command line: clap commands and their output only; no engine logic lives here.

mod fmt;
mod graph;
mod report;
mod sim;
mod validate;
mod vars;

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
    /// Check a stack's configuration (every environment) without touching any cloud.
    Validate(validate::ValidateArgs),
    /// Print an environment's dependency graph (DOT or SVG).
    Graph(graph::GraphArgs),
    /// Rewrite a stack's `.hcl` files in the canonical format.
    Fmt(fmt::FmtArgs),
    /// Inspect and change the built-in simulated cloud.
    Sim(sim::SimArgs),
}

/// Parses the command line, runs the command and turns errors into reports.
///
/// Exit codes: 0 success, 1 error, 2 changes present with `--detailed-exitcode`.
pub fn main() -> ExitCode {
    let Cli { command, verbose } = Cli::parse();
    match command {
        Command::Validate(args) => validate::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Sim(args) => sim::run(args, verbose),
    }
}

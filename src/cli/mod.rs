//! The command line: clap commands and their output only; no engine logic lives here.

mod apply;
mod backup;
mod check;
mod completions;
mod discover;
mod dr;
mod fmt;
mod graph;
mod history;
pub(crate) mod output;
mod plan;
mod report;
mod show;
mod sim;
mod stack_args;
mod validate;
mod vars;
pub mod views;

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
    /// Show what apply would change (refresh + diff), without changing anything.
    Plan(plan::PlanArgs),
    /// Make the cloud match the configuration, or apply a saved plan file.
    Apply(apply::ApplyArgs),
    /// Destroy everything cairn manages in an environment.
    Destroy(apply::DestroyArgs),
    /// Show the recorded resources and outputs of an environment.
    Show(show::ShowArgs),
    /// Print an environment's outputs.
    Output(show::OutputArgs),
    /// Inspect or edit recorded state (list, show, rm).
    State(show::StateArgs),
    /// Record an existing cloud resource in state at a configured address.
    Import(show::ImportArgs),
    /// List what no stack owns in an environment's regions; write blocks that import it.
    Discover(discover::DiscoverArgs),
    /// List an environment's versions (every apply, destroy, rollback, promote, import, state
    /// edit and DR operation), newest first.
    History(history::HistoryArgs),
    /// Apply the configuration an earlier version recorded (by default the one before the
    /// current one), and record it as a new version.
    Rollback(history::RollbackArgs),
    /// Apply to one environment the artifacts another last applied successfully.
    Promote(history::PromoteArgs),
    /// Remove a lock left behind by a run that died.
    ForceUnlock(show::ForceUnlockArgs),
    /// Check a stack's configuration (every environment) without touching any cloud.
    Validate(validate::ValidateArgs),
    /// Check the configuration (or, with --live, the cloud) against the built-in policy rules.
    Check(check::CheckArgs),
    /// Print an environment's dependency graph (DOT or SVG).
    Graph(graph::GraphArgs),
    /// Rewrite a stack's `.hcl` files in the canonical format.
    Fmt(fmt::FmtArgs),
    /// Inspect and change the built-in simulated cloud.
    Sim(sim::SimArgs),
    /// Run, list and verify an environment's backups.
    Backup(backup::BackupArgs),
    /// Disaster recovery: drill a redeploy into the DR region.
    Dr(dr::DrArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
}

/// Parses the command line, runs the command and turns errors into reports.
///
/// Exit codes: 0 success, 1 error, 2 changes present with `--detailed-exitcode`. A reader
/// that stops early (`| head`) changes none of them (see [`output`]).
pub fn main() -> ExitCode {
    let Cli { command, verbose } = Cli::parse();
    init_tracing(verbose);
    report::set_verbose(verbose);
    let code = match command {
        Command::Plan(args) => plan::run(args),
        Command::Apply(args) => apply::run_apply(args),
        Command::Destroy(args) => apply::run_destroy(args),
        Command::Show(args) => show::run_show(args),
        Command::Output(args) => show::run_output(args),
        Command::State(args) => show::run_state(args),
        Command::Import(args) => show::run_import(args),
        Command::Discover(args) => discover::run(args),
        Command::History(args) => history::run_history(args),
        Command::Rollback(args) => history::run_rollback(args),
        Command::Promote(args) => history::run_promote(args),
        Command::ForceUnlock(args) => show::run_force_unlock(args),
        Command::Validate(args) => validate::run(args),
        Command::Check(args) => check::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Sim(args) => sim::run(args),
        Command::Backup(args) => backup::run(args),
        Command::Dr(args) => dr::run(args),
        Command::Completions(args) => completions::run(args),
    };
    output::finish(code)
}

/// Logs go to stderr: warnings by default, debug with `-v`, or as `CAIRN_LOG` says.
fn init_tracing(verbose: bool) {
    let default = if verbose { "cairn=debug" } else { "cairn=warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAIRN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}

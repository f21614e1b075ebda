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
    let Cli { command, verbose } = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage(&error),
    };
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

/// Reports a command line clap refused and its exit code: 1, as for every other error, not
/// clap's 2, which `plan --detailed-exitcode` answers for "changes present" (a mistyped flag
/// in a drift check would read as drift); `--help` and `--version` print and exit 0.
fn usage(error: &clap::Error) -> ExitCode {
    let stream = if error.use_stderr() {
        "standard error"
    } else {
        "standard output"
    };
    // A reader that stopped early (`cairn --help | head`) is no error of ours; a full disk is.
    if let Err(failure) = error.print()
        && failure.kind() != std::io::ErrorKind::BrokenPipe
    {
        return report::error(miette::miette!("cannot write to {stream}: {failure}"));
    }
    if error.use_stderr() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Logs go to stderr: warnings by default, debug with `-v`, or as `CAIRN_LOG` says; coloured
/// only on a terminal.
fn init_tracing(verbose: bool) {
    let default = if verbose { "cairn=debug" } else { "cairn=warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAIRN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours as the views have them (a terminal, no `NO_COLOR`), but for standard error:
        // a CI log or `2> file` gets plain text.
        .with_ansi(views::stderr_color_enabled())
        .without_time()
        .try_init();
}

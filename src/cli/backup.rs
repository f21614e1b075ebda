//! `cairn backup run|list|verify`: run an environment's backup policies, list the copies per
//! region with their ages, and test-restore the newest DR copies. Each parses its arguments,
//! calls one `ops` function and hands the report to [`super::views::backup`].

use super::report::outcome;
use super::stack_args::{StackArgs, block_on};
use super::views::{self, Format};
use crate::ops::{self, BackupRequest};
use std::process::ExitCode;
use std::time::Duration;

/// Backups of an environment's data volumes.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub command: BackupCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum BackupCommand {
    /// Snapshot every volume the policies select, copy to `copy_to`, prune to `retain`.
    /// Snapshots and copies still pending are reported as such (a pending snapshot is copied
    /// by a later run), unless `--wait` waits for them.
    Run(RunOptions),
    /// List the backup snapshots per region, with their ages.
    List(BackupOptions),
    /// Restore the newest copy in the DR region into a scratch volume, check it, delete it.
    Verify(BackupOptions),
}

#[derive(Debug, clap::Args)]
pub struct BackupOptions {
    #[command(flatten)]
    pub stack: StackArgs,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RunOptions {
    #[command(flatten)]
    pub options: BackupOptions,

    /// Wait for each snapshot to complete, copy it, and wait for the copy to complete, up to
    /// `--wait-timeout` each, instead of leaving what is pending to a later run.
    #[arg(long)]
    pub wait: bool,

    /// Seconds `--wait` waits for one snapshot or copy.
    #[arg(long, default_value_t = 3600, requires = "wait")]
    pub wait_timeout: u64,
}

impl BackupOptions {
    fn request(&self) -> BackupRequest {
        BackupRequest {
            plan: self.stack.request(),
            wait: None,
        }
    }

    fn format(&self) -> Format {
        Format::from_json_flag(self.json)
    }
}

pub fn run(args: BackupArgs) -> ExitCode {
    match args.command {
        BackupCommand::Run(run) => {
            let request = BackupRequest {
                wait: run.wait.then(|| Duration::from_secs(run.wait_timeout)),
                ..run.options.request()
            };
            let result = block_on(ops::run_backups(&request));
            outcome(result, |report| {
                views::backup::run(report, run.options.format())
            })
        }
        BackupCommand::List(options) => {
            let result = block_on(ops::list_backups(&options.request()));
            outcome(result, |listing| {
                views::backup::list(listing, options.format())
            })
        }
        BackupCommand::Verify(options) => {
            let result = block_on(ops::verify_backups(&options.request()));
            outcome(result, |report| {
                views::backup::verify(report, options.format())
            })
        }
    }
}

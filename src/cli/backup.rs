//! `cairn backup run|list|verify`: run an environment's backup policies, list the copies per
//! region with their ages, and test-restore the newest DR copies. Each parses its arguments,
//! calls one `ops` function and hands the report to [`super::views::backup`].

use super::report::outcome;
use super::stack_args::{StackArgs, block_on};
use super::views::{self, Format};
use crate::ops::{self, BackupRequest};
use std::process::ExitCode;

/// Backups of an environment's data volumes.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub command: BackupCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum BackupCommand {
    /// Snapshot every volume the policies select, copy to `copy_to`, prune to `retain`.
    Run(BackupOptions),
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

impl BackupOptions {
    fn request(&self) -> BackupRequest {
        BackupRequest {
            plan: self.stack.request(),
        }
    }

    fn format(&self) -> Format {
        Format::from_json_flag(self.json)
    }
}

pub fn run(args: BackupArgs) -> ExitCode {
    match args.command {
        BackupCommand::Run(options) => {
            let result = block_on(ops::run_backups(&options.request()));
            outcome(result, |report| {
                views::backup::run(report, options.format())
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

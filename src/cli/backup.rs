//! `cairn backup run|list|verify`: run an environment's backup policies, list the copies per
//! region with their ages, and test-restore the newest DR copies.

use super::stack_args::{StackArgs, block_on};
use crate::dr::{
    self, BackupListing, BackupRequest, BackupRunReport, CopyAction, DrError, SnapshotAction,
    VerifyReport,
};
use chrono::{DateTime, Utc};
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

    /// Act as if it were this time (RFC 3339), for replays and tests.
    #[arg(long, value_name = "TIME", hide = true)]
    pub at: Option<DateTime<Utc>>,
}

impl BackupOptions {
    fn request(&self) -> BackupRequest {
        BackupRequest {
            plan: self.stack.request(),
            now: self.at.unwrap_or_else(Utc::now),
            fresh: false,
        }
    }
}

pub fn run(args: BackupArgs) -> ExitCode {
    match args.command {
        BackupCommand::Run(options) => {
            let result = block_on(dr::run_backups(&options.request()));
            finish(result, |report| view_run(report, options.json))
        }
        BackupCommand::List(options) => {
            let result = block_on(dr::list_backups(&options.request()));
            finish(result, |listing| view_list(listing, options.json))
        }
        BackupCommand::Verify(options) => {
            let result = block_on(dr::verify_backups(&options.request()));
            finish(result, |report| view_verify(report, options.json))
        }
    }
}

/// Runs the view on success, reports the error otherwise.
pub(super) fn finish<T>(
    result: std::io::Result<Result<T, DrError>>,
    view: impl FnOnce(&T) -> ExitCode,
) -> ExitCode {
    match result {
        Ok(Ok(value)) => view(&value),
        Ok(Err(DrError::Ops(error))) => super::report::ops(error),
        Ok(Err(error)) => super::report::error(miette::Report::new(error)),
        Err(error) => super::report::error(miette::miette!("cannot start: {error}")),
    }
}

pub(super) fn print_json(value: &impl serde::Serialize) -> ExitCode {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => super::report::error(miette::miette!("cannot render JSON: {error}")),
    }
}

/// `3d 4h`, `5h 2m`, `12m`, `40s`.
pub(super) fn age(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
    );
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m")
    } else {
        format!("{seconds}s")
    }
}

fn view_run(report: &BackupRunReport, json: bool) -> ExitCode {
    if json {
        return print_json(report);
    }
    for volume in &report.volumes {
        let header = format!("{} ({})", volume.address, volume.policy);
        if let Some(reason) = &volume.skipped {
            println!("{header}: skipped, {reason}");
            continue;
        }
        let snapshot = match &volume.snapshot {
            Some(SnapshotAction::Created(id)) => format!("snapshot {id} taken"),
            Some(SnapshotAction::Recent(id)) => format!("snapshot {id} is recent, none taken"),
            None => "no snapshot".to_string(),
        };
        let copy = match (&volume.copy, &volume.copy_region) {
            (Some(CopyAction::Created(id)), Some(region)) => {
                format!("; copied to {region} as {id}")
            }
            (Some(CopyAction::Existing(id)), Some(region)) => {
                format!("; already copied to {region} as {id}")
            }
            _ => String::new(),
        };
        println!("{header}: {snapshot}{copy}");
        for (region, id) in &volume.pruned {
            println!("  pruned {id} in {region}");
        }
    }
    let taken = report
        .volumes
        .iter()
        .filter(|volume| matches!(volume.snapshot, Some(SnapshotAction::Created(_))))
        .count();
    let copied = report
        .volumes
        .iter()
        .filter(|volume| matches!(volume.copy, Some(CopyAction::Created(_))))
        .count();
    let pruned: usize = report
        .volumes
        .iter()
        .map(|volume| volume.pruned.len())
        .sum();
    println!("\nBackup complete! Snapshots: {taken} taken, {copied} copied, {pruned} pruned.");
    ExitCode::SUCCESS
}

fn view_list(listing: &BackupListing, json: bool) -> ExitCode {
    if json {
        return print_json(listing);
    }
    for region in &listing.regions {
        println!("{}:", region.region);
        if let Some(error) = &region.error {
            println!("  unavailable: {error}");
            continue;
        }
        if region.copies.is_empty() {
            println!("  no backups");
        }
        for copy in &region.copies {
            let kind = if copy.is_copy() { "copy" } else { "snapshot" };
            println!(
                "  {}  {:<8}  {}  {}  age {}",
                copy.id,
                kind,
                copy.source_address,
                copy.policy,
                age((listing.now - copy.taken_at).num_seconds())
            );
        }
    }
    ExitCode::SUCCESS
}

fn view_verify(report: &VerifyReport, json: bool) -> ExitCode {
    let code = if report.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    };
    if json {
        print_json(report);
        return code;
    }
    if report.copies.is_empty() {
        println!("No backup copies to verify in the DR region; run `cairn backup run` first.");
    }
    for copy in &report.copies {
        let outcome = match &copy.problem {
            None => "ok".to_string(),
            Some(problem) => format!("FAILED: {problem}"),
        };
        println!(
            "{} ({}): {} in {} restored to {} in {} ({} GiB), age {}: {outcome}",
            copy.source_address,
            copy.policy,
            copy.snapshot_id,
            copy.region,
            copy.volume_id.as_deref().unwrap_or("-"),
            copy.zone,
            copy.size_gb
                .map_or("?".to_string(), |size| size.to_string()),
            age((report.now - copy.taken_at).num_seconds()),
        );
    }
    code
}

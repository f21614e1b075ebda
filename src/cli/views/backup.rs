//! What `cairn backup run|list|verify` print: per volume, per region, per restore test, as
//! text or JSON.

use super::{Format, age, show};
use crate::cli::output::println;
use crate::dr::{BackupListing, BackupRunReport, CopyAction, SnapshotAction, VerifyReport};
use std::process::ExitCode;

/// `cairn backup run`.
pub fn run(report: &BackupRunReport, format: Format) -> ExitCode {
    show(report, format, print_run, ExitCode::SUCCESS)
}

/// `cairn backup list`.
pub fn list(listing: &BackupListing, format: Format) -> ExitCode {
    show(listing, format, print_list, ExitCode::SUCCESS)
}

/// `cairn backup verify`; exits 1 unless a copy was restored and every restore succeeded.
pub fn verify(report: &VerifyReport, format: Format) -> ExitCode {
    let code = if report.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    };
    show(report, format, print_verify, code)
}

fn print_run(report: &BackupRunReport) {
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
        if let Some(pending) = &volume.pending {
            println!("  pending: {pending}");
        }
        for (region, id) in &volume.pruned {
            println!("  pruned {id} in {region}");
        }
    }
    println!(
        "\nBackup complete! Snapshots: {} taken, {} copied, {} pruned, {} pending.",
        report.taken(),
        report.copied(),
        report.pruned(),
        report.pending()
    );
}

fn print_list(listing: &BackupListing) {
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
            if let Some(progress) = &copy.pending {
                println!("    pending ({progress}): cannot be copied or restored yet");
            }
        }
    }
}

fn print_verify(report: &VerifyReport) {
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
}

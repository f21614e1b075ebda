//! What `cairn dr drill|failover|failback|status` print: the reports of the DR operations,
//! as text or JSON.

use super::{Format, age, show};
use crate::cli::output::println;
use crate::dr::{
    AuditRecord, DrillReport, DrillTeardownReport, GroupHealth, MoveReport, RestoredVolume,
    SnapshotAction, StatusReport,
};
use std::process::ExitCode;

/// A failover or failback.
pub fn moved(report: &MoveReport, format: Format) -> ExitCode {
    show(report, format, print_move, ExitCode::SUCCESS)
}

/// A drill; exits 1 when something of it was left behind.
pub fn drill(report: &DrillReport, format: Format) -> ExitCode {
    show(report, format, print_drill, left_behind(&report.leftovers))
}

/// The teardown of a kept drill; exits 1 when something of it was left behind.
pub fn teardown(report: &DrillTeardownReport, format: Format) -> ExitCode {
    show(
        report,
        format,
        print_teardown,
        left_behind(&report.leftovers),
    )
}

/// `cairn dr status`.
pub fn status(report: &StatusReport, format: Format) -> ExitCode {
    show(report, format, print_status, ExitCode::SUCCESS)
}

fn left_behind(leftovers: &[String]) -> ExitCode {
    if leftovers.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_move(report: &MoveReport) {
    let verb = if report.operation == "failover" {
        "Failed over"
    } else {
        "Failed back"
    };
    println!(
        "{verb} `{}` from {} to {}{}: {} changes applied.",
        report.environment,
        report.from,
        report.region,
        if report.resumed { " (resumed)" } else { "" },
        report.changes
    );
    for volume in &report.backups {
        if let Some(SnapshotAction::Created(id) | SnapshotAction::Recent(id)) = &volume.snapshot {
            println!("  backed up {} as {id}", volume.address);
        }
    }
    print_recovery(
        &report.restored,
        &report.groups,
        report.rto_seconds,
        report.rpo_seconds,
    );
    for switch in &report.dns {
        match &switch.switched_at {
            Some(at) => println!(
                "DNS: {} answers from {} (switched at {}).",
                switch.name,
                switch.region,
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            None => println!(
                "DNS: {} answers from {} (it already did).",
                switch.name, switch.region
            ),
        }
    }
    println!("Active region: {}.", report.region);
    println!("Recorded in {}.", report.audit_log.display());
}

/// What a redeploy restored and brought up, and what that took (RTO) and lost (RPO).
fn print_recovery(
    restored: &[RestoredVolume],
    groups: &[GroupHealth],
    rto_seconds: f64,
    rpo_seconds: Option<i64>,
) {
    for volume in restored {
        println!(
            "  restored {} from {} (copy of {}, age {})",
            volume.address,
            volume.snapshot_id,
            volume.source_address,
            age(volume.age_seconds)
        );
    }
    for group in groups {
        println!(
            "  {}: {} in service (min {})",
            group.address, group.in_service, group.min
        );
    }
    println!("RTO: {rto_seconds:.1}s");
    match rpo_seconds {
        Some(seconds) => println!("RPO: {}", age(seconds)),
        None => println!("RPO: - (no data volumes restored)"),
    }
}

fn print_status(report: &StatusReport) {
    println!(
        "Environment `{}` of stack `{}`",
        report.environment, report.stack
    );
    match &report.failed_over_since {
        Some(since) => println!(
            "  active region: {} (failed over from {} at {since})",
            report.active_region, report.primary
        ),
        None => println!("  active region: {} (primary)", report.active_region),
    }
    match (&report.dr_region, &report.dr_mode) {
        (Some(region), Some(mode)) => println!("  DR region:     {region} ({mode})"),
        _ => println!("  DR region:     none"),
    }
    let ago = |record: &AuditRecord| age((report.now - record.time).num_seconds());
    for (label, record) in [
        ("last drill:   ", &report.last_drill),
        ("last failover:", &report.last_failover),
        ("last failback:", &report.last_failback),
        ("last backup:  ", &report.last_backup),
    ] {
        match record {
            None => println!("  {label} never"),
            Some(record) => {
                let mut line = format!(
                    "  {label} {} ago, {}, {}",
                    ago(record),
                    record.region,
                    record.outcome
                );
                if let Some(rto) = record.rto_seconds {
                    line.push_str(&format!(", RTO {rto:.1}s"));
                }
                if let Some(rpo) = record.rpo_seconds {
                    line.push_str(&format!(", RPO {rpo}s"));
                }
                println!("{line}");
            }
        }
    }
    if report.backups.is_empty() {
        println!("  backups:       no backup policy");
    }
    for region in &report.backups {
        match (&region.error, region.copies.first()) {
            (Some(error), _) => println!("  backups in {}: unreadable ({error})", region.region),
            (None, None) => println!("  backups in {}: none", region.region),
            (None, Some(newest)) => println!(
                "  backups in {}: {}, newest {} old",
                region.region,
                region.copies.len(),
                age((report.now - newest.taken_at).num_seconds())
            ),
        }
    }
}

fn print_drill(report: &DrillReport) {
    println!(
        "Drill of `{}` into {}: {} resources created.",
        report.environment, report.region, report.created
    );
    print_recovery(
        &report.restored,
        &report.groups,
        report.rto_seconds,
        report.rpo_seconds,
    );
    match report.destroyed {
        None => println!(
            "Kept running (state `{}-drill`); tear it down with `cairn dr drill --teardown -e {}`.",
            report.environment, report.environment
        ),
        Some(destroyed) => {
            println!(
                "Torn down: {destroyed} resources destroyed in {:.1}s.",
                report.teardown_seconds.unwrap_or_default()
            );
            if report.leftovers.is_empty() {
                println!("Nothing left in {}.", report.region);
            } else {
                println!("Left behind in {}:", report.region);
                for leftover in &report.leftovers {
                    println!("  {leftover}");
                }
            }
        }
    }
    println!("Recorded in {}.", report.audit_log.display());
}

fn print_teardown(report: &DrillTeardownReport) {
    if report.destroyed == 0 {
        println!(
            "No drill of `{}` was running in {}.",
            report.environment, report.region
        );
    } else {
        println!(
            "Torn down the drill of `{}` in {}: {} resources destroyed in {:.1}s.",
            report.environment, report.region, report.destroyed, report.teardown_seconds
        );
    }
    if report.leftovers.is_empty() {
        println!("Nothing of the drill left in {}.", report.region);
    } else {
        println!("Left behind:");
        for leftover in &report.leftovers {
            println!("  {leftover}");
        }
    }
    println!("Recorded in {}.", report.audit_log.display());
}

//! What `cairn dr drill|failover|failback|status` print: the reports of the DR operations,
//! as text or JSON.

use super::apply::ask_question;
use super::{Format, age, show};
use crate::cli::output::println;
use crate::dr::{
    AuditRecord, DrillReport, DrillTeardownReport, GroupHealth, MoveReport, ReadinessReport,
    RestoredVolume, RtoPrediction, SkippedCopy, SnapshotAction, StatusReport,
};
use crate::ops::{MovePlan, OpsError};
use crate::plan::ChangeAction;
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

/// `cairn dr check`; exits 1 when something blocks a failover.
pub fn check(report: &ReadinessReport, format: Format) -> ExitCode {
    let code = if report.ready() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    };
    show(report, format, print_check, code)
}

fn print_check(report: &ReadinessReport) {
    println!(
        "DR readiness of `{}` in {} ({}):",
        report.environment, report.region, report.mode
    );
    for copy in &report.copies {
        match (&copy.copy, copy.age_seconds) {
            (Some(id), Some(seconds)) => println!(
                "  copy of {}: {id}, age {} (window {})",
                copy.volume,
                age(seconds),
                age(i64::try_from(copy.window_seconds).unwrap_or(i64::MAX))
            ),
            _ => println!("  copy of {}: none completed", copy.volume),
        }
        if !copy.pending.is_empty() {
            println!("    pending: {}", copy.pending.join(", "));
        }
    }
    for image in &report.images {
        let presence = match image.present {
            Some(true) => "present",
            Some(false) => "MISSING",
            None => "not verifiable on this cloud",
        };
        println!("  image {}: {presence}", image.image);
    }
    if report.mode != "backup_restore" {
        if report.standby.is_empty() {
            println!("  standby: matches the configuration");
        } else {
            println!("  standby: {} resources differ", report.standby.len());
        }
    }
    if report.quotas.is_empty() {
        println!("  quotas: not exposed by this cloud, not checked");
    }
    for quota in &report.quotas {
        println!(
            "  quota {}: {} needed ({} now + {} a failover adds) of {}",
            quota.quota,
            quota.needed(),
            quota.usage,
            quota.adds,
            quota.limit
        );
    }
    print_prediction(&report.predicted);
    if let Some((time, rto)) = report.last_drill {
        println!(
            "  last drill measured RTO {rto:.1}s ({} ago)",
            age((report.now - time).num_seconds())
        );
    }
    if report.ready() {
        println!("\nReady: nothing blocks a failover to {}.", report.region);
        return;
    }
    println!("\nNot ready: {}.", blockers(report.blockers.len()));
    for blocker in &report.blockers {
        println!("  - {}", blocker.problem);
        println!("    fix: {}", blocker.fix);
    }
}

/// `1 blocker`, `2 blockers`.
fn blockers(count: usize) -> String {
    if count == 1 {
        "1 blocker".to_string()
    } else {
        format!("{count} blockers")
    }
}

fn print_prediction(predicted: &RtoPrediction) {
    let steps: Vec<String> = predicted
        .steps
        .iter()
        .map(|step| format!("{} {:.0}s", step.step, step.seconds))
        .collect();
    let dominant = predicted
        .dominant
        .as_ref()
        .map_or_else(String::new, |step| format!(", dominated by {step}"));
    println!(
        "  predicted RTO: {:.1}s ({} profile{dominant}{})",
        predicted.total_seconds,
        predicted.profile,
        if steps.is_empty() {
            String::new()
        } else {
            format!(": {}", steps.join(" + "))
        }
    );
}

/// `cairn dr status`.
pub fn status(report: &StatusReport, format: Format) -> ExitCode {
    show(report, format, print_status, ExitCode::SUCCESS)
}

/// Shows what a failover or failback will do, then asks (unless `approved`), as apply does.
///
/// # Errors
/// [`OpsError::NoConfirmation`] when the question cannot be asked.
pub fn confirm_move(plan: &MovePlan, approved: bool) -> Result<bool, OpsError> {
    super::plan::text(&plan.plan);
    let verb = if plan.operation == "failover" {
        "fail over"
    } else {
        "fail back"
    };
    println!(
        "\nTo {verb} `{}` from {} to {}{}:",
        plan.environment,
        plan.from,
        plan.to,
        if plan.resumed { " (resuming)" } else { "" }
    );
    for address in &plan.fresh_backups {
        println!(
            "  back up {address} now, copy it to {}, and restore from that copy",
            plan.to
        );
    }
    for volume in &plan.restored {
        println!(
            "  restore {} from {} (copy of {}, age {})",
            volume.address,
            volume.snapshot_id,
            volume.source_address,
            age(volume.age_seconds)
        );
    }
    for copy in &plan.skipped {
        println!(
            "  skip {} (copy of {}): {}",
            copy.id, copy.source_address, copy.reason
        );
    }
    let count = |action: ChangeAction| {
        plan.plan
            .changes
            .iter()
            .filter(|change| change.action == action)
            .count()
    };
    println!(
        "  create {}, replace {}, delete {}",
        count(ChangeAction::Create),
        count(ChangeAction::Replace),
        count(ChangeAction::Delete)
    );
    for change in &plan.plan.changes {
        let desired = |attributes: &Option<crate::model::Attributes>| {
            attributes
                .as_ref()
                .and_then(|attributes| attributes.get("desired"))
                .and_then(serde_json::Value::as_u64)
        };
        if change.action == ChangeAction::Update
            && let (Some(before), Some(after)) = (desired(&change.before), desired(&change.after))
            && before != after
        {
            println!("  resize {} from {before} to {after}", change.address);
        }
    }
    for name in &plan.dns {
        println!("  switch DNS {name} to {}", plan.to);
    }
    if approved {
        return Ok(true);
    }
    ask_question(&format!(
        "Do you want to {verb} environment `{}`?",
        plan.environment
    ))
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
        &report.skipped,
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
    skipped: &[SkippedCopy],
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
    for copy in skipped {
        println!(
            "  skipped {} (copy of {}): {}",
            copy.id, copy.source_address, copy.reason
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
    print_readiness(report);
}

/// The readiness section of `cairn dr status`.
fn print_readiness(report: &StatusReport) {
    if let Some(error) = &report.readiness_error {
        println!("  readiness:     not checked ({error})");
    }
    let Some(readiness) = &report.readiness else {
        return;
    };
    if readiness.ready() {
        println!(
            "  readiness:     ready to fail over to {}",
            readiness.region
        );
    } else {
        println!(
            "  readiness:     NOT READY, {} (`cairn dr check -e {}` names them with their fixes)",
            blockers(readiness.blockers.len()),
            readiness.environment
        );
        for blocker in &readiness.blockers {
            println!("    - {}", blocker.problem);
        }
    }
    print_prediction(&readiness.predicted);
}

fn print_drill(report: &DrillReport) {
    if report.reused.is_empty() {
        println!(
            "Drill of `{}` into {}: {} resources created.",
            report.environment, report.region, report.created
        );
    } else {
        println!(
            "Drill of `{}` into {}: {} resources created beside the standby, {} of the standby's reused.",
            report.environment,
            report.region,
            report.created,
            report.reused.len()
        );
        for reused in &report.reused {
            println!("  reused {} ({})", reused.address, reused.id);
        }
        for grown in &report.grown {
            println!("  grown  {grown}");
        }
    }
    print_recovery(
        &report.restored,
        &report.skipped,
        &report.groups,
        report.rto_seconds,
        report.rpo_seconds,
    );
    print_prediction(&report.predicted);
    println!(
        "RTO measured {:.1}s against {:.1}s predicted.",
        report.rto_seconds, report.predicted.total_seconds
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

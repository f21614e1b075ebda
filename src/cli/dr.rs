//! `cairn dr drill`: redeploy the environment into its DR region, measure RTO and RPO, tear
//! the drill down (or later, with `--teardown`); `cairn dr failover|failback|status`.

use super::apply::{Progress, ask_question};
use super::backup::{age, finish, print_json};
use super::stack_args::{StackArgs, block_on};
use crate::apply::{ApplyObserver, ApplyOptions, SilentObserver};
use crate::dr::{
    self, DrillReport, DrillRequest, DrillTeardownReport, MoveReport, MoveRequest, StatusReport,
};
use std::process::ExitCode;
use std::time::Duration;

/// Disaster recovery.
#[derive(Debug, clap::Args)]
pub struct DrArgs {
    #[command(subcommand)]
    pub command: DrCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum DrCommand {
    /// Redeploy the environment into its DR region from the backup copies, report RTO and
    /// RPO, and tear it down again. The primary region is never called.
    Drill(DrillArgs),
    /// Move the environment into its DR region for real: restore the data volumes from the
    /// newest copies there, record the DR region as active (later plans and applies target
    /// it), apply, and wait until the groups are healthy. The primary region is never called.
    Failover(MoveArgs),
    /// Move a failed-over environment back to its primary region, with the data volumes
    /// restored from fresh backups of the DR region, and return the DR region to its standby.
    Failback(MoveArgs),
    /// Show where the environment runs, its last drill, failover and backup, and the ages of
    /// its backups per region.
    Status(StatusArgs),
}

#[derive(Debug, clap::Args)]
pub struct MoveArgs {
    #[command(flatten)]
    pub stack: StackArgs,

    /// Fail over into this region instead of the environment's DR region.
    #[arg(long, value_name = "REGION")]
    pub to: Option<String>,

    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,

    /// Seconds to wait for the autoscaling groups to have their minimum in service.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub stack: StackArgs,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct DrillArgs {
    #[command(flatten)]
    pub stack: StackArgs,

    /// Drill into this region instead of the environment's DR region.
    #[arg(long, value_name = "REGION")]
    pub to: Option<String>,

    /// Leave the drill running (its state is `<env>-drill`); `--teardown` removes it later.
    #[arg(long)]
    pub keep: bool,

    /// Tear down a drill left running by `--keep` instead of drilling: destroy state
    /// `<env>-drill` and check that nothing of it is left in the drill's region.
    #[arg(long, conflicts_with = "keep")]
    pub teardown: bool,

    /// Seconds to wait for the autoscaling groups to have their minimum in service.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: DrArgs) -> ExitCode {
    match args.command {
        DrCommand::Drill(args) => {
            let request = DrillRequest {
                plan: args.stack.request(),
                to: args.to,
                keep: args.keep,
                timeout: Duration::from_secs(args.timeout),
                apply: ApplyOptions::default(),
            };
            let json = args.json;
            if args.teardown {
                let result =
                    block_on(async { dr::tear_down_drill(&request, &SilentObserver).await });
                return finish(result, |report| view_teardown(report, json));
            }
            let result = block_on(async { dr::run_drill(&request, &SilentObserver).await });
            finish(result, |report| view_drill(report, json))
        }
        DrCommand::Failover(args) => move_environment(args, "failover"),
        DrCommand::Failback(args) => move_environment(args, "failback"),
        DrCommand::Status(args) => {
            let request = args.stack.request();
            let json = args.json;
            let result = block_on(dr::status(&request));
            finish(result, |report| view_status(report, json))
        }
    }
}

fn move_environment(args: MoveArgs, operation: &str) -> ExitCode {
    let request = MoveRequest {
        plan: args.stack.request(),
        to: args.to,
        timeout: Duration::from_secs(args.timeout),
        apply: ApplyOptions::default(),
    };
    if !args.auto_approve {
        let question = format!(
            "Do you want to {} environment `{}`?",
            if operation == "failover" {
                "fail over"
            } else {
                "fail back"
            },
            request.plan.environment
        );
        match ask_question(&question) {
            Ok(true) => {}
            Ok(false) => {
                println!("\nCancelled.");
                return ExitCode::SUCCESS;
            }
            Err(error) => return super::report::ops(error),
        }
    }
    let json = args.json;
    // Progress lines would break the JSON document.
    let observer: &dyn ApplyObserver = if json { &SilentObserver } else { &Progress };
    let result = block_on(async {
        match operation {
            "failover" => dr::run_failover(&request, observer).await,
            _ => dr::run_failback(&request, observer).await,
        }
    });
    finish(result, |report| view_move(report, json))
}

fn view_move(report: &MoveReport, json: bool) -> ExitCode {
    if json {
        return print_json(report);
    }
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
        if let Some(dr::SnapshotAction::Created(id) | dr::SnapshotAction::Recent(id)) =
            &volume.snapshot
        {
            println!("  backed up {} as {id}", volume.address);
        }
    }
    for volume in &report.restored {
        println!(
            "  restored {} from {} (copy of {}, age {})",
            volume.address,
            volume.snapshot_id,
            volume.source_address,
            age(volume.age_seconds)
        );
    }
    for group in &report.groups {
        println!(
            "  {}: {} in service (min {})",
            group.address, group.in_service, group.min
        );
    }
    println!("RTO: {:.1}s", report.rto_seconds);
    match report.rpo_seconds {
        Some(seconds) => println!("RPO: {}", age(seconds)),
        None => println!("RPO: - (no data volumes restored)"),
    }
    println!("Active region: {}.", report.region);
    println!("Recorded in {}.", report.audit_log.display());
    ExitCode::SUCCESS
}

fn view_status(report: &StatusReport, json: bool) -> ExitCode {
    if json {
        return print_json(report);
    }
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
    let ago = |record: &dr::AuditRecord| age((report.now - record.time).num_seconds());
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
    ExitCode::SUCCESS
}

fn view_drill(report: &DrillReport, json: bool) -> ExitCode {
    if json {
        return print_json(report);
    }
    println!(
        "Drill of `{}` into {}: {} resources created.",
        report.environment, report.region, report.created
    );
    for volume in &report.restored {
        println!(
            "  restored {} from {} (copy of {}, age {})",
            volume.address,
            volume.snapshot_id,
            volume.source_address,
            age(volume.age_seconds)
        );
    }
    for group in &report.groups {
        println!(
            "  {}: {} in service (min {})",
            group.address, group.in_service, group.min
        );
    }
    println!("RTO: {:.1}s", report.rto_seconds);
    match report.rpo_seconds {
        Some(seconds) => println!("RPO: {}", age(seconds)),
        None => println!("RPO: - (no data volumes restored)"),
    }
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
    if report.leftovers.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Exits 1 when something of the drill was left behind, in JSON too.
fn view_teardown(report: &DrillTeardownReport, json: bool) -> ExitCode {
    if json {
        let printed = print_json(report);
        if report.leftovers.is_empty() {
            return printed;
        }
    } else {
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
    if report.leftovers.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

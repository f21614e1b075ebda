//! `cairn dr drill`: redeploy the environment into its DR region, measure RTO and RPO, tear
//! the drill down.

use super::backup::{age, finish};
use super::stack_args::{StackArgs, block_on};
use crate::apply::{ApplyOptions, SilentObserver};
use crate::dr::{self, DrillReport, DrillRequest};
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
}

#[derive(Debug, clap::Args)]
pub struct DrillArgs {
    #[command(flatten)]
    pub stack: StackArgs,

    /// Drill into this region instead of the environment's DR region.
    #[arg(long, value_name = "REGION")]
    pub to: Option<String>,

    /// Leave the drill running (its state is `<env>-drill`).
    #[arg(long)]
    pub keep: bool,

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
            let result = block_on(async { dr::run_drill(&request, &SilentObserver).await });
            finish(result, |report| view_drill(report, json))
        }
    }
}

fn view_drill(report: &DrillReport, json: bool) -> ExitCode {
    if json {
        return match serde_json::to_string_pretty(report) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(error) => super::report::error(miette::miette!("cannot render JSON: {error}")),
        };
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
            "  {}: {}/{} in service",
            group.address, group.in_service, group.min
        );
    }
    println!("RTO: {:.1}s", report.rto_seconds);
    match report.rpo_seconds {
        Some(seconds) => println!("RPO: {seconds}s ({})", age(seconds)),
        None => println!("RPO: - (no data volumes restored)"),
    }
    match report.destroyed {
        None => println!(
            "Kept running; tear it down with `cairn dr drill` without --keep, or destroy state `{}-drill`.",
            report.environment
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

//! `cairn dr drill`: redeploy the environment into its DR region, measure RTO and RPO, tear
//! the drill down (or later, with `--teardown`); `cairn dr failover|failback|status`. Each
//! parses its arguments, calls one `ops` function and hands the report to
//! [`super::views::dr`].

use super::apply::Progress;
use super::report::outcome;
use super::stack_args::{StackArgs, block_on};
use super::views::{self, Format};
use crate::apply::{ApplyObserver, ApplyOptions, SilentObserver};
use crate::cli::output::println;
use crate::ops::{self, DrillRequest, MovePlan, MoveRequest, OpsError};
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
    /// Check, changing nothing, that a failover could succeed now: a completed backup copy of
    /// every data volume in the DR region within its policy's window, every image present
    /// there, the standby matching the configuration; and predict the recovery time. Exits 1
    /// naming each blocker with its fix.
    Check(StatusArgs),
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
            let format = Format::from_json_flag(args.json);
            if args.teardown {
                let result = block_on(ops::tear_down_drill(&request, &SilentObserver));
                return outcome(result, |report| views::dr::teardown(report, format));
            }
            let result = block_on(ops::drill(&request, &SilentObserver));
            outcome(result, |report| views::dr::drill(report, format))
        }
        DrCommand::Failover(args) => move_environment(args, Move::Failover),
        DrCommand::Failback(args) => move_environment(args, Move::Failback),
        DrCommand::Check(args) => {
            let format = Format::from_json_flag(args.json);
            let result = block_on(ops::dr_check(&args.stack.request()));
            outcome(result, |report| views::dr::check(report, format))
        }
        DrCommand::Status(args) => {
            let format = Format::from_json_flag(args.json);
            let result = block_on(ops::dr_status(&args.stack.request()));
            outcome(result, |report| views::dr::status(report, format))
        }
    }
}

/// Which way an environment moves.
#[derive(Debug, Clone, Copy)]
enum Move {
    Failover,
    Failback,
}

fn move_environment(args: MoveArgs, direction: Move) -> ExitCode {
    let request = MoveRequest {
        plan: args.stack.request(),
        to: args.to,
        timeout: Duration::from_secs(args.timeout),
        apply: ApplyOptions::default(),
    };
    let format = Format::from_json_flag(args.json);
    let approved = args.auto_approve;
    // The plan is shown before the question, as apply shows its own; JSON output carries
    // only the report, so it needs `--auto-approve`.
    let mut confirm = |plan: &MovePlan| -> Result<bool, OpsError> {
        match format {
            Format::Human => views::dr::confirm_move(plan, approved),
            Format::Json if approved => Ok(true),
            Format::Json => Err(OpsError::NoConfirmation),
        }
    };
    // Progress lines would break the JSON document.
    let observer: &dyn ApplyObserver = match format {
        Format::Json => &SilentObserver,
        Format::Human => &Progress,
    };
    let result = block_on(async {
        match direction {
            Move::Failover => ops::failover(&request, &mut confirm, observer).await,
            Move::Failback => ops::failback(&request, &mut confirm, observer).await,
        }
    });
    if let Ok(Err(OpsError::Cancelled { .. })) = &result {
        println!("\nCancelled.");
        return ExitCode::SUCCESS;
    }
    outcome(result, |report| views::dr::moved(report, format))
}

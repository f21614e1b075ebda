//! `cairn history`, `cairn rollback` and `cairn promote`: an environment's versions, and
//! applying a recorded configuration (or another environment's artifacts) again.

use super::apply::Progress;
use super::report::outcome;
use super::stack_args::{StackArgs, block_on_stoppable};
use super::vars::VarArgs;
use super::views;
use crate::apply::ApplyOptions;
use crate::ops::{
    self, ApplyRequest, OpsError, PlanRequest, PolicyGate, PromoteRequest, RollbackRequest,
};
use crate::plan::Plan;
use std::path::PathBuf;
use std::process::ExitCode;

/// List an environment's versions, newest first.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub stack: StackArgs,

    /// Print the versions as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Apply the configuration an earlier version recorded, and record it as a new version.
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub stack: StackArgs,

    /// The version to go back to (`cairn history` lists them); by default the successful
    /// version before the current one.
    #[arg(long = "to", value_name = "VERSION")]
    pub to: Option<u64>,

    #[command(flatten)]
    pub run: RunArgs,
}

/// Apply to one environment the artifacts (variables marked `artifact = true`) another
/// environment last applied successfully.
#[derive(Debug, clap::Args)]
pub struct PromoteArgs {
    /// The environment whose artifacts are promoted.
    #[arg(long = "from", value_name = "ENV")]
    pub from: String,

    /// The environment to apply them to.
    #[arg(long = "to", value_name = "ENV")]
    pub to: String,

    /// The stack directory.
    #[arg(default_value = ".", value_hint = clap::ValueHint::DirPath)]
    pub dir: PathBuf,

    #[command(flatten)]
    pub vars: VarArgs,

    #[command(flatten)]
    pub run: RunArgs,
}

/// How the apply of a rollback or promote runs, as `cairn apply` takes it.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,

    /// At most N cloud calls in flight.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,

    /// Apply despite the policy errors of rule RULE (`CAIRN001`); repeatable. Each use is
    /// recorded in the audit log with who ran it.
    #[arg(long = "allow", value_name = "RULE", value_delimiter = ',')]
    pub allow: Vec<String>,
}

impl RunArgs {
    fn request(&self, plan: PlanRequest) -> ApplyRequest {
        ApplyRequest {
            plan,
            options: ApplyOptions {
                parallelism: usize::from(self.parallelism),
                ..ApplyOptions::default()
            },
            policy: PolicyGate::Enforce {
                allow: self.allow.clone(),
            },
            ..ApplyRequest::default()
        }
    }
}

pub fn run_history(args: HistoryArgs) -> ExitCode {
    match ops::history(&args.stack.request()) {
        Ok(report) if args.json => views::history::json(&report),
        Ok(report) => views::history::text(&report),
        Err(error) => super::report::ops(error),
    }
}

pub fn run_rollback(args: RollbackArgs) -> ExitCode {
    let request = RollbackRequest {
        apply: args.run.request(args.stack.request()),
        to: args.to,
    };
    release(Release::Rollback(request), &args.run)
}

pub fn run_promote(args: PromoteArgs) -> ExitCode {
    let plan = PlanRequest {
        dir: args.dir.clone(),
        environment: args.to.clone(),
        load: args.vars.load_options(),
        ..PlanRequest::default()
    };
    let request = PromoteRequest {
        apply: args.run.request(plan),
        from: args.from,
    };
    release(Release::Promote(request), &args.run)
}

/// A rollback or a promote to run.
enum Release {
    Rollback(RollbackRequest),
    Promote(PromoteRequest),
}

/// Runs `release` as `cairn apply` runs: the plan shown and confirmed, the first Ctrl-C
/// letting the calls in flight finish.
fn release(mut release: Release, run: &RunArgs) -> ExitCode {
    if let Err(error) = ops::check_allow(&run.allow) {
        return super::report::ops(error);
    }
    let approved = run.auto_approve;
    let mut confirm =
        |plan: &Plan| -> Result<bool, OpsError> { views::apply::confirm(plan, "apply", approved) };
    let (stop, stop_requested) = tokio::sync::watch::channel(false);
    let (apply, verb) = match &mut release {
        Release::Rollback(request) => (&mut request.apply, "rollback"),
        Release::Promote(request) => (&mut request.apply, "promote"),
    };
    apply.options.stop = Some(stop_requested);
    let work = async {
        match &release {
            Release::Rollback(request) => ops::rollback(request, &mut confirm, &Progress).await,
            Release::Promote(request) => ops::promote(request, &mut confirm, &Progress).await,
        }
    };
    outcome(block_on_stoppable(work, Some(stop)), |released| {
        views::history::released(released, verb)
    })
}

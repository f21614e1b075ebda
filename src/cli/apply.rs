//! `cairn apply` and `cairn destroy`: show the plan, confirm, execute, report.

use super::report::final_outcome;
use super::stack_args::{StackArgs, block_on_stoppable};
use super::views;
use crate::apply::ApplyOptions;
use crate::ops::{self, ApplyRequest, OpsError, PolicyGate};
use crate::plan::Plan;
use std::path::PathBuf;
use std::process::ExitCode;

// `cairn dr` confirms and reports progress the way apply does.
pub(super) use super::views::apply::Progress;

/// Make the cloud match the configuration (or a saved plan).
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub stack: StackArgs,

    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,

    /// At most N cloud calls in flight.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,

    /// Limit the apply to ADDRESS (and what it depends on); repeatable.
    #[arg(long = "target", value_name = "ADDRESS")]
    pub target: Vec<String>,

    /// Leave ADDRESS (and what depends on it) out of the apply; repeatable.
    #[arg(long = "exclude", value_name = "ADDRESS")]
    pub exclude: Vec<String>,

    /// Roll out again the release of group ADDRESS that a failed rollout rolled back (plans
    /// otherwise keep the group on the version it went back to); repeatable.
    #[arg(long = "retry-rollout", value_name = "ADDRESS")]
    pub retry_rollout: Vec<String>,

    /// Replace or destroy resources even in an environment with `protect = true` (never a
    /// resource with `prevent_destroy`).
    #[arg(long)]
    pub force: bool,

    /// Record what changed outside cairn into state; change nothing in the cloud.
    #[arg(long)]
    pub refresh_only: bool,

    /// Apply despite the policy errors of rule RULE (`CAIRN001`); repeatable. Each use is
    /// recorded in the audit log with who ran it.
    #[arg(long = "allow", value_name = "RULE", value_delimiter = ',')]
    pub allow: Vec<String>,

    /// Print JSON lines instead of text: the plan, each step and rollout step as it happens,
    /// and a summary (needs `--auto-approve` or a saved plan).
    #[arg(long)]
    pub json: bool,
}

/// Destroy everything cairn manages in an environment.
#[derive(Debug, clap::Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub stack: StackArgs,

    /// Destroy without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,

    /// Destroy even an environment with `protect = true` (never a resource with
    /// `prevent_destroy`).
    #[arg(long)]
    pub force: bool,

    /// Destroy only ADDRESS (and what depends on it); repeatable.
    #[arg(long = "target", value_name = "ADDRESS")]
    pub target: Vec<String>,

    /// Keep ADDRESS (and what it depends on); repeatable.
    #[arg(long = "exclude", value_name = "ADDRESS")]
    pub exclude: Vec<String>,

    /// At most N cloud calls in flight.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
}

pub fn run_apply(args: ApplyArgs) -> ExitCode {
    if let Err(error) = ops::check_allow(&args.allow) {
        return super::report::ops(error);
    }
    let mut request = ApplyRequest {
        plan: args.stack.request(),
        options: options(args.parallelism),
        policy: PolicyGate::Enforce { allow: args.allow },
        force: args.force,
        ..ApplyRequest::default()
    };
    // `cairn apply PLAN_FILE`: the positional argument names a saved plan, not a directory.
    if args.stack.dir.is_file() {
        request.plan_file = Some(args.stack.dir.clone());
        request.plan.dir = PathBuf::from(".");
    }
    request.plan.target = args.target;
    request.plan.exclude = args.exclude;
    request.plan.retry_rollouts = args.retry_rollout;
    request.plan.refresh_only = args.refresh_only;
    if args.json {
        return execute_json(request, args.auto_approve);
    }
    execute(request, args.auto_approve, "apply")
}

/// `cairn apply --json`: nobody is asked anything, so the apply must be approved already.
fn execute_json(mut request: ApplyRequest, auto_approve: bool) -> ExitCode {
    let approved = auto_approve || request.plan_file.is_some();
    let mut confirm = |plan: &Plan| -> Result<bool, OpsError> {
        views::apply_json::plan(plan);
        if approved {
            Ok(true)
        } else {
            Err(OpsError::NoConfirmation)
        }
    };
    let (stop, stop_requested) = tokio::sync::watch::channel(false);
    request.options.stop = Some(stop_requested);
    final_outcome(
        block_on_stoppable(
            ops::apply(&request, &mut confirm, &views::apply_json::JsonProgress),
            Some(stop),
        ),
        views::apply_json::finished,
    )
}

pub fn run_destroy(args: DestroyArgs) -> ExitCode {
    let mut request = ApplyRequest {
        plan: args.stack.request(),
        options: options(args.parallelism),
        force: args.force,
        ..ApplyRequest::default()
    };
    request.plan.destroy = true;
    request.plan.target = args.target;
    request.plan.exclude = args.exclude;
    execute(request, args.auto_approve, "destroy")
}

fn options(parallelism: u16) -> ApplyOptions {
    ApplyOptions {
        parallelism: usize::from(parallelism),
        ..ApplyOptions::default()
    }
}

fn execute(mut request: ApplyRequest, auto_approve: bool, verb: &str) -> ExitCode {
    let approved = auto_approve || request.plan_file.is_some();
    let mut confirm =
        |plan: &Plan| -> Result<bool, OpsError> { views::apply::confirm(plan, verb, approved) };
    // The first Ctrl-C lets the calls in flight finish and saves; see `block_on_stoppable`.
    let (stop, stop_requested) = tokio::sync::watch::channel(false);
    request.options.stop = Some(stop_requested);
    final_outcome(
        block_on_stoppable(ops::apply(&request, &mut confirm, &Progress), Some(stop)),
        |done| views::apply::finished(done, verb),
    )
}

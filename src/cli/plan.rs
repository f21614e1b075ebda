//! `cairn plan -e ENV [DIR]`: refresh, diff and show what apply would do.

use super::report::final_outcome;
use super::stack_args::{StackArgs, block_on};
use super::views;
use crate::ops;
use crate::ops::Planned;
use std::path::PathBuf;
use std::process::ExitCode;

/// Show what apply would change, without changing anything.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub stack: StackArgs,

    /// Save the plan to FILE for a later `cairn apply FILE`.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,

    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Only show what changed outside cairn; propose no changes.
    #[arg(long)]
    pub refresh_only: bool,

    /// Plan the destruction of everything in the environment.
    #[arg(long)]
    pub destroy: bool,

    /// Limit the plan to ADDRESS (and what it depends on); repeatable.
    #[arg(long = "target", value_name = "ADDRESS")]
    pub target: Vec<String>,

    /// Leave ADDRESS (and what depends on it) out of the plan; repeatable.
    #[arg(long = "exclude", value_name = "ADDRESS")]
    pub exclude: Vec<String>,

    /// Roll out again the release of group ADDRESS that a failed rollout rolled back (plans
    /// otherwise keep the group on the version it went back to); repeatable.
    #[arg(long = "retry-rollout", value_name = "ADDRESS")]
    pub retry_rollout: Vec<String>,

    /// Plan against the recorded state without reading the cloud.
    #[arg(long)]
    pub no_refresh: bool,

    /// Plan replacements and destroys even in an environment with `protect = true` (never of
    /// a resource with `prevent_destroy`).
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: PlanArgs) -> ExitCode {
    let mut request = args.stack.request();
    request.target = args.target.clone();
    request.exclude = args.exclude.clone();
    request.retry_rollouts = args.retry_rollout.clone();
    request.refresh_only = args.refresh_only;
    request.destroy = args.destroy;
    request.skip_refresh = args.no_refresh;
    request.force = args.force;
    final_outcome(block_on(ops::make_plan(&request)), |planned| {
        show(planned, &args)
    })
}

/// Saves the plan when asked to, then shows it.
fn show(planned: &Planned, args: &PlanArgs) -> ExitCode {
    // Saved before anything is shown, so a plan that could not be saved is never presented
    // as one that can be applied.
    if let Some(out) = &args.out
        && let Err(error) = planned.save(out)
    {
        return super::report::ops(error.into());
    }
    let plan = &planned.file.plan;
    if args.json {
        let code = ops::phase("render", || views::plan::json(plan));
        if code != ExitCode::SUCCESS {
            return code;
        }
    } else {
        ops::phase("render", || {
            views::plan::human(plan, planned.state.failover.as_ref(), args.out.as_deref())
        });
    }
    if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

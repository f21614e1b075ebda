//! `cairn plan -e ENV [DIR]`: refresh, diff and show what apply would do.

use super::stack_args::{StackArgs, block_on, color_enabled};
use crate::ops;
use crate::plan::{self, RenderOptions};
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

    /// Plan against the recorded state without reading the cloud.
    #[arg(long)]
    pub no_refresh: bool,
}

pub fn run(args: PlanArgs) -> ExitCode {
    let mut request = args.stack.request();
    request.target = args.target.clone();
    request.refresh_only = args.refresh_only;
    request.destroy = args.destroy;
    request.skip_refresh = args.no_refresh;
    let planned = match block_on(ops::make_plan(&request)) {
        Ok(Ok(planned)) => planned,
        Ok(Err(error)) => return super::report::ops(error),
        Err(error) => return super::report::error(miette::miette!("cannot start: {error}")),
    };
    let plan = planned.plan;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&plan::render_json(&plan)).unwrap_or_default()
        );
    } else {
        if let Some(failover) = &planned.state.failover {
            println!(
                "Environment `{}` runs in {} (failed over from {} at {}); what it has in {} is left as it is until `cairn dr failback`.\n",
                plan.environment,
                failover.region,
                failover.primary,
                failover.since,
                failover.primary
            );
        }
        print!(
            "{}",
            plan::render_text(
                &plan,
                &RenderOptions {
                    color: color_enabled()
                }
            )
        );
        print!(
            "{}",
            super::views::check::under_plan(&plan.policy, color_enabled())
        );
    }
    if let Some(out) = &args.out {
        if let Err(error) = plan::save(&plan, out) {
            return super::report::ops(error.into());
        }
        if !args.json {
            println!(
                "\nSaved the plan to {}. To apply exactly this plan, run: cairn apply {}",
                out.display(),
                out.display()
            );
        }
    }
    if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

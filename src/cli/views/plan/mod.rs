//! Views of a plan: the colored text a person reads and the JSON a program reads, each with
//! the policy findings the plan carries.
//!
//! Promise: a sensitive value never appears in either; it shows as `(sensitive value)` in both. Values only the cloud can tell show as `(known after apply)`.

mod interrupted;
mod json;
mod policy;
mod rollout;
mod text;
mod value;

pub use json::{JSON_FORMAT_VERSION, render_json};
pub use rollout::version;
pub use text::{RenderOptions, render_text, summary_line};

use super::Painter;
use crate::cli::output::{print, println};
use crate::plan::Plan;
use crate::state::Failover;
use std::path::Path;
use std::process::ExitCode;

/// `cairn plan`: where the environment runs when it is failed over, the plan, and how to
/// apply a saved plan file.
pub fn human(plan: &Plan, failover: Option<&Failover>, saved_to: Option<&Path>) {
    if let Some(failover) = failover {
        println!(
            "Environment `{}` runs in {} (failed over from {} at {}); what it has in {} is left as it is until `cairn dr failback`.\n",
            plan.environment, failover.region, failover.primary, failover.since, failover.primary
        );
    }
    print!("{}", render_text(plan, &options()));
    if let Some(path) = saved_to {
        println!(
            "\nSaved the plan to {}. To apply exactly this plan, run: cairn apply {}",
            path.display(),
            path.display()
        );
    }
}

/// `cairn plan --json`.
pub fn json(plan: &Plan) -> ExitCode {
    super::print_json(&render_json(plan))
}

/// The plan as text on standard output (before a confirmation, or when apply found nothing
/// to do).
pub fn text(plan: &Plan) {
    print!("{}", render_text(plan, &options()));
}

fn options() -> RenderOptions {
    RenderOptions {
        color: Painter::for_stdout().color,
    }
}

#[cfg(test)]
mod tests;

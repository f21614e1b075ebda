//! The rollouts of a plan, as text and JSON: which groups the apply replaces step by step,
//! with which strategy, in which steps, behind which gates.

use super::super::Painter;
use crate::model::Value;
use crate::model::rollout::RolloutStrategy;
use crate::plan::{Plan, PlannedRollout};
use crate::state::RolloutPhase;
use owo_colors::Style;
use serde_json::json;
use std::fmt::Write as _;

/// A launch template version as users read it: `3`, `$Latest`, or "(known after apply)"
/// for a version a template update of the same plan makes.
pub fn version(value: &Value) -> String {
    match value {
        Value::Number(number) => number.to_string(),
        Value::String(_) if crate::model::contains_reference(value) => {
            "(known after apply)".to_string()
        }
        Value::String(text) => text.clone(),
        Value::Null => "(default)".to_string(),
        other => other.to_string(),
    }
}

/// Text: the groups kept on the version a rollback took them back to, when, why, and how to
/// release again.
fn render_held(out: &mut String, plan: &Plan, painter: &Painter) {
    if plan.held.is_empty() {
        return;
    }
    out.push_str(
        "Cairn keeps these groups on the version a failed rollout took them back to; the \
         configuration still asks for the version rolled back:\n\n",
    );
    for held in &plan.held {
        let rolled_back = &held.rolled_back;
        let _ = writeln!(
            out,
            "  {} {} stays on version {}: version {} was rolled back at {} ({})",
            painter.paint("#", Style::new().bold()),
            painter.paint(held.address.as_str(), Style::new().bold()),
            version(&rolled_back.back_to),
            version(&rolled_back.version),
            rolled_back
                .at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            rolled_back.reason,
        );
        let _ = writeln!(
            out,
            "      change the definition to release again, or retry this version with \
             `--retry-rollout {}`",
            held.address
        );
    }
    out.push('\n');
}

/// Text: one paragraph per rollout.
pub(super) fn render_rollouts(out: &mut String, plan: &Plan, painter: &Painter) {
    let waiting: Vec<_> = plan.kept.iter().filter(|kept| !kept.expired).collect();
    if !waiting.is_empty() {
        out.push_str(
            "Cairn keeps old groups of blue-green rollouts until their `keep_old` ends:\n\n",
        );
        for kept in waiting {
            let _ = writeln!(
                out,
                "  {} blue group `{}` of {} kept until {}",
                painter.paint("#", Style::new().bold()),
                kept.id,
                painter.paint(kept.address.as_str(), Style::new().bold()),
                kept.until
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
        }
        out.push('\n');
    }
    render_held(out, plan, painter);
    if plan.rollouts.is_empty() {
        return;
    }
    out.push_str("Cairn will roll out new instances:\n\n");
    for rollout in &plan.rollouts {
        let verb = match rollout.resume {
            None => "will roll out",
            Some((RolloutPhase::Forward, _)) => "will resume its rollout",
            Some((RolloutPhase::RollingBack, _)) => "will finish rolling back",
        };
        let _ = writeln!(
            out,
            "  {} {} {verb}: {} from version {} to {}",
            painter.paint("~", Style::new().yellow()),
            painter.paint(rollout.address.as_str(), Style::new().bold()),
            rollout.course.spec.strategy.name(),
            version(&rollout.course.from_version),
            version(&rollout.course.to_version),
        );
        let _ = writeln!(out, "      steps: {}", steps(rollout));
        if !rollout.course.weights.is_empty() {
            let shares: Vec<String> = rollout
                .course
                .weights
                .iter()
                .map(|percent| format!("{percent}%"))
                .collect();
            let _ = writeln!(
                out,
                "      traffic: {} to the new version (listener weights, a canary target group beside the group's)",
                shares.join(" → ")
            );
        }
        if rollout.course.spec.strategy == RolloutStrategy::BlueGreen {
            let _ = writeln!(
                out,
                "      then: traffic switches to the new group, the old one is kept {}",
                duration(rollout.course.spec.keep_old_seconds)
            );
        }
        let _ = writeln!(out, "      gates: {}", gates(rollout));
        if let Some((phase, step)) = rollout.resume {
            let at = match phase {
                RolloutPhase::Forward => {
                    format!("step {} of {}", step + 1, rollout.course.targets.len())
                }
                RolloutPhase::RollingBack => "its rollback".to_string(),
            };
            let _ = writeln!(
                out,
                "      interrupted at {at}; continues from what the group runs"
            );
        }
        out.push('\n');
    }
}

/// `1 → 5 → 10 of 10 instances on the new version`, with bake and warmup.
fn steps(rollout: &PlannedRollout) -> String {
    if rollout.course.spec.strategy == RolloutStrategy::BlueGreen {
        let mut text = format!(
            "a second group of {} instances on the new version beside the old one",
            rollout.course.capacity
        );
        let spec = &rollout.course.spec;
        if spec.warmup_seconds > 0 {
            let _ = write!(text, ", warmup {}", duration(spec.warmup_seconds));
        }
        if spec.bake_seconds > 0 {
            let _ = write!(
                text,
                ", bake {} after the switch",
                duration(spec.bake_seconds)
            );
        }
        return text;
    }
    let counts: Vec<String> = rollout.course.targets.iter().map(u32::to_string).collect();
    let mut text = format!(
        "{} of {} instances on the new version",
        counts.join(" → "),
        rollout.course.capacity
    );
    let spec = &rollout.course.spec;
    if spec.warmup_seconds > 0 {
        let _ = write!(text, ", warmup {}", duration(spec.warmup_seconds));
    }
    if spec.bake_seconds > 0 {
        let _ = write!(text, ", bake {} at each step", duration(spec.bake_seconds));
    }
    text
}

/// Health within the timeout, min_healthy, the alarms, and Ctrl-C.
fn gates(rollout: &PlannedRollout) -> String {
    let spec = &rollout.course.spec;
    let mut parts = vec![format!("healthy within {}", duration(spec.timeout_seconds))];
    // A blue-green rollout never takes an old instance out of service before the switch.
    if spec.strategy != RolloutStrategy::BlueGreen {
        parts.push(format!("{}% in service", spec.min_healthy));
    }
    parts.extend(
        spec.abort_on
            .iter()
            .map(|gate| format!("`{}` not in ALARM", gate.alarm)),
    );
    format!("{}; a failed gate rolls back", parts.join(", "))
}

fn duration(seconds: u64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(seconds)).to_string()
}

/// JSON: `[{"address", "region", "strategy", "from_version", "to_version", "capacity",
/// "steps", "traffic_weights" (a weighted canary's percent per step, else null), "warmup_seconds", "bake_seconds", "timeout_seconds", "min_healthy", "abort_on",
/// "resume"}]`.
pub(super) fn json_rollouts(plan: &Plan) -> serde_json::Value {
    plan.rollouts
        .iter()
        .map(|rollout| {
            let spec = &rollout.course.spec;
            json!({
                "address": rollout.address,
                "region": rollout.course.region,
                "strategy": spec.strategy,
                "from_version": rollout.course.from_version,
                "to_version": rollout.course.to_version,
                "capacity": rollout.course.capacity,
                "steps": rollout.course.targets,
                "traffic_weights": (!rollout.course.weights.is_empty()).then_some(&rollout.course.weights),
                "warmup_seconds": spec.warmup_seconds,
                "bake_seconds": spec.bake_seconds,
                "timeout_seconds": spec.timeout_seconds,
                "min_healthy": spec.min_healthy,
                "abort_on": spec.abort_on.iter().map(|gate| &gate.alarm).collect::<Vec<_>>(),
                "keep_old_seconds": (spec.strategy == RolloutStrategy::BlueGreen).then_some(spec.keep_old_seconds),
                "resume": rollout.resume.map(|(phase, step)| json!({"phase": phase, "step": step})),
            })
        })
        .collect()
}

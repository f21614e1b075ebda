//! `cairn apply --json`: one JSON object a line on standard output, for programs that follow an
//! apply as it runs. The first line is the plan (`{"type": "plan", "plan": {...}}`, as
//! `cairn plan --json` renders it), then one line per event (`step_started`,
//! `step_completed`, `step_failed`, `step_retrying`, `rollout_started`, `rollout_step`,
//! `rollout_rolling_back`, `rollout_switched`, `rollout_ended`), and last a `summary` with
//! what was done, what failed and how each rollout ended. Sensitive values never appear: the plan line masks them
//! and no event carries attribute values.

use crate::apply::{ApplyEvent, ApplyObserver, ApplyReport, RolloutEnd};
use crate::cli::output::println;
use crate::ops::ApplyOutcome;
use crate::plan::{Operation, Plan};
use serde_json::{Value, json};
use std::process::ExitCode;

fn line(value: &Value) {
    println!("{value}");
}

/// The plan, as the first line.
pub fn plan(plan: &Plan) {
    line(&json!({"type": "plan", "plan": super::plan::render_json(plan)}));
}

/// Prints every event as a line.
pub struct JsonProgress;

impl ApplyObserver for JsonProgress {
    fn on_event(&self, event: &ApplyEvent) {
        let value = match event {
            ApplyEvent::StepStarted {
                address, operation, ..
            } => json!({"type": "step_started", "address": address, "operation": operation}),
            ApplyEvent::StepRetrying {
                address,
                operation,
                attempt,
                delay,
                error,
                ..
            } => json!({
                "type": "step_retrying", "address": address, "operation": operation,
                "attempt": attempt, "delay_seconds": delay.as_secs_f64(), "error": error,
            }),
            ApplyEvent::StepCompleted {
                address,
                operation,
                elapsed,
                ..
            } => json!({
                "type": "step_completed", "address": address, "operation": operation,
                "elapsed_seconds": elapsed.as_secs_f64(),
            }),
            ApplyEvent::StepFailed {
                address,
                operation,
                error,
                ..
            } => json!({
                "type": "step_failed", "address": address, "operation": operation, "error": error,
            }),
            ApplyEvent::RolloutStarted {
                address,
                strategy,
                from_version,
                to_version,
                targets,
                resumed,
            } => json!({
                "type": "rollout_started", "address": address, "strategy": strategy,
                "from_version": from_version, "to_version": to_version, "steps": targets,
                "resumed": resumed,
            }),
            ApplyEvent::RolloutStep {
                address,
                step,
                steps,
                target,
                capacity,
                old_healthy,
                new_healthy,
                elapsed,
                rolling_back,
            } => json!({
                "type": "rollout_step", "address": address, "step": step, "steps": steps,
                "target": target, "capacity": capacity, "old_healthy": old_healthy,
                "new_healthy": new_healthy, "elapsed_seconds": elapsed.as_secs_f64(),
                "rolling_back": rolling_back,
            }),
            ApplyEvent::RolloutRollingBack { address, reason } => {
                json!({"type": "rollout_rolling_back", "address": address, "reason": reason})
            }
            ApplyEvent::RolloutSwitched {
                address,
                from,
                to,
                healthy,
                rolling_back,
            } => json!({
                "type": "rollout_switched", "address": address, "from": from, "to": to,
                "healthy": healthy, "rolling_back": rolling_back,
            }),
            ApplyEvent::RolloutTraffic {
                address,
                old_weight,
                new_weight,
                configured,
            } => json!({
                "type": "rollout_traffic", "address": address, "old_weight": old_weight,
                "new_weight": new_weight, "configured": configured,
            }),
            ApplyEvent::RolloutEnded {
                address,
                end,
                elapsed,
            } => json!({
                "type": "rollout_ended", "address": address, "end": end,
                "elapsed_seconds": elapsed.as_secs_f64(),
            }),
            ApplyEvent::ConcurrencyChanged { .. } | ApplyEvent::StatePersisted { .. } => return,
        };
        line(&value);
    }
}

/// The last line; exit 1 when anything failed or was held back, 0 otherwise.
pub fn finished(outcome: &ApplyOutcome) -> ExitCode {
    let summary = match &outcome.report {
        None => json!({
            "type": "summary", "succeeded": outcome.blocked.is_empty(),
            "changed_anything": false,
            "blocked_by": outcome.blocked.iter().map(|finding| &finding.rule).collect::<Vec<_>>(),
        }),
        Some(report) => report_summary(report),
    };
    let succeeded = summary["succeeded"] == true;
    line(&summary);
    if succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn report_summary(report: &ApplyReport) -> Value {
    let count = |wanted: Operation| {
        report
            .completed
            .iter()
            .filter(|(_, operation)| *operation == wanted)
            .count()
    };
    let rollouts: Vec<Value> = report
        .rollouts
        .iter()
        .map(|rollout| {
            let (outcome, reason) = match &rollout.end {
                RolloutEnd::Completed => ("completed", None),
                RolloutEnd::RolledBack { reason } => ("rolled_back", Some(reason)),
                RolloutEnd::Failed { reason } => ("failed", Some(reason)),
            };
            json!({
                "address": rollout.address, "outcome": outcome, "reason": reason,
                "steps_done": rollout.steps_done,
                "elapsed_seconds": rollout.elapsed.as_secs_f64(),
            })
        })
        .collect();
    json!({
        "type": "summary",
        "succeeded": report.succeeded(),
        "changed_anything": true,
        "added": count(Operation::Create),
        "changed": count(Operation::Update),
        "destroyed": count(Operation::Delete),
        "failed": report.failed.iter().map(|(address, operation, error)| json!({
            "address": address, "operation": operation, "error": error,
        })).collect::<Vec<_>>(),
        "not_started": report.not_started.iter().map(|(address, operation)| json!({
            "address": address, "operation": operation,
        })).collect::<Vec<_>>(),
        "fatal": report.fatal.as_ref().map(ToString::to_string),
        "rollouts": rollouts,
        "elapsed_seconds": report.elapsed.as_secs_f64(),
    })
}

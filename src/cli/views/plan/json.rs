//! The JSON view of a plan, for programs and CI: changes with before/after values, the
//! summary counts, drift, adoptions and the refresh's API calls.

use super::value::json_value;
use crate::model::{Attributes, Value};
use crate::plan::Plan;
use crate::state::StateResource;
use serde_json::{Map, json};
use std::collections::BTreeSet;

/// The version of the JSON view's shape, for programs that read it. It is the view's own
/// contract, apart from the plan file's format: a plan file may change how it records where
/// to apply while this view stays the same.
pub const JSON_FORMAT_VERSION: u32 = 1;

/// The plan as JSON:
/// `{"format_version", "stack", "environment", "refresh_only", "changes": [{"address", "kind",
/// "region", "action", "before", "after", "before_tags", "after_tags", "replace_because",
/// "create_before_destroy", "keeps_old"}], "summary": {"create", "update", "replace", "delete",
/// "kept_old" (when not 0)}, "drift":
/// [{"address", "kind", "region", "what", "attributes": {name: {"before", "after"}}}],
/// "adopted": [{"address", "kind", "region", "id"}], "interrupted": [{"operation", "address",
/// "kind", "region", "id", "since", "resolution", "message"}], "moves": [{"from", "to", "kind",
/// "region", "id"}], "forgets": [{"address", "kind", "region", "id"}], "imports": [{"address",
/// "kind", "region", "id"}], "refresh_calls": {"reads", "mutations"},
/// "policy": [{"rule", "severity", "message", "location", "addresses"}], "rollouts": [...]
/// (see `rollout::json_rollouts`), "held": [{"address", "version", "back_to", "reason",
/// "at"}], "in_use": [{"address", "kind", "region", "id", "users"}], "kept": [{"address",
/// "kind", "region", "id", "until", "expired"}]}`.
/// Sensitive values are `"(sensitive value)"`; values only known after apply are
/// `"(known after apply)"`.
pub fn render_json(plan: &Plan) -> Value {
    let changes: Vec<Value> = plan
        .changes
        .iter()
        .map(|change| {
            json!({
                "address": change.address,
                "kind": change.kind,
                "region": change.region,
                "action": change.action,
                "before": change.before.as_ref().map(|values| masked(values, &change.sensitive)),
                "after": change.after.as_ref().map(|values| masked(values, &change.sensitive)),
                "before_tags": change.before_tags,
                "after_tags": change.after_tags,
                "replace_because": change.replace_because,
                "create_before_destroy": change.create_before_destroy,
                "keeps_old": change.keeps_old,
            })
        })
        .collect();
    let drift: Vec<Value> = plan
        .drift
        .iter()
        .map(|entry| {
            let attributes: Map<String, Value> = entry
                .attributes
                .iter()
                .map(|(name, (recorded, live))| {
                    let sensitive = entry.sensitive.contains(name);
                    (
                        name.clone(),
                        json!({
                            "before": json_value(recorded, sensitive),
                            "after": json_value(live, sensitive),
                        }),
                    )
                })
                .collect();
            json!({
                "address": entry.address,
                "kind": entry.kind,
                "region": entry.region,
                "what": entry.what,
                "attributes": attributes,
            })
        })
        .collect();
    let interrupted: Vec<Value> = plan
        .interrupted
        .iter()
        .map(|entry| {
            json!({
                "operation": entry.intent.operation,
                "address": entry.intent.address,
                "kind": entry.intent.kind,
                "region": entry.intent.region,
                "id": entry.intent.id,
                "since": entry.intent.since,
                "resolution": entry.resolution,
                "message": super::interrupted::resolution_text(entry.resolution),
            })
        })
        .collect();
    json!({
        "format_version": JSON_FORMAT_VERSION,
        "stack": plan.stack,
        "environment": plan.environment,
        "refresh_only": plan.refresh_only,
        "changes": changes,
        "summary": plan.summary(),
        "drift": drift,
        "adopted": objects(&plan.adopted),
        "interrupted": interrupted,
        "moves": plan.moves,
        "forgets": plan.forgets,
        "imports": objects(&plan.imports),
        "refresh_calls": plan.refresh_calls,
        "policy": plan.policy,
        "rollouts": super::rollout::json_rollouts(plan),
        "held": plan.held,
        "in_use": plan.in_use,
        "kept": plan.kept,
    })
}

/// Objects a plan records without a call (adopted, imported): where each is and its id.
fn objects(resources: &[StateResource]) -> Vec<Value> {
    resources
        .iter()
        .map(|object| {
            json!({
                "address": object.address,
                "kind": object.kind,
                "region": object.region,
                "id": object.id,
            })
        })
        .collect()
}

fn masked(values: &Attributes, sensitive: &BTreeSet<String>) -> Value {
    Value::Object(
        values
            .iter()
            .map(|(name, value)| (name.clone(), json_value(value, sensitive.contains(name))))
            .collect(),
    )
}

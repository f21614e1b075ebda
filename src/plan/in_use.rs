//! Deletes the cloud refuses while something still uses the object: AWS answers
//! `DependencyViolation` to the delete of a security group any instance still runs with.
//!
//! An autoscaling group's instances keep the security groups of the template version they
//! were launched from; they move off an old group only when they are replaced, which a
//! rollout does after every step of its apply (or a later release, or never without a
//! `rollout` block). Deleting the old group of a renamed firewall in the same apply therefore
//! failed half-way. Terraform retries such a delete until its timeout and then fails; here the
//! plan leaves the object in place and says what still uses it, and a later plan deletes it
//! once nothing does.

use super::InUse;
use super::decide::{Decisions, same_version};
use super::model::ChangeAction;
use crate::model::{Address, Kind, Value};
use crate::state::{StateDocument, StateResource};
use std::collections::{BTreeMap, BTreeSet};

/// Splits `deletes` into those that can go now and the objects something still uses, with
/// what uses them. `state` knows the security groups of the template versions Cairn made.
pub(super) fn hold_in_use<'s>(
    deletes: Vec<&'s StateResource>,
    current: &BTreeMap<Address, StateResource>,
    decisions: &Decisions,
    state: &StateDocument,
) -> (Vec<&'s StateResource>, Vec<InUse>) {
    // Most plans delete no security group: they need no look at every group (issue 14).
    if !deletes
        .iter()
        .any(|object| object.kind == Kind::SecurityGroup)
    {
        return (deletes, Vec::new());
    }
    // Groups that stay, with their instances: a group deleted or replaced takes its instances
    // with it, before the delete of what they used (deletes run in reverse dependency order).
    // A group this plan does not look at (outside `--target`, or `--exclude`d) stays too.
    let deleted: BTreeSet<&Address> = deletes.iter().map(|object| &object.address).collect();
    let staying: Vec<&StateResource> = current
        .values()
        .filter(|object| object.kind == Kind::AutoscalingGroup)
        .filter(|group| !deleted.contains(&group.address))
        .filter(|group| {
            decisions
                .by_address
                .get(&group.address)
                .is_none_or(|decision| decision.action != Some(ChangeAction::Replace))
        })
        .collect();
    // Each group's template by id, looked up once per group rather than searched for.
    let templates: BTreeMap<&str, &StateResource> = current
        .values()
        .filter(|object| object.kind == Kind::LaunchTemplate)
        .map(|template| (template.id.as_str(), template))
        .collect();
    let mut now = Vec::new();
    let mut in_use = Vec::new();
    for object in deletes {
        let users: Vec<Address> = match object.kind {
            Kind::SecurityGroup => staying
                .iter()
                .filter(|group| instances_may_use(group, &object.id, &templates, state))
                .map(|group| group.address.clone())
                .collect(),
            _ => Vec::new(),
        };
        if users.is_empty() {
            now.push(object);
        } else {
            in_use.push(InUse {
                address: object.address.clone(),
                kind: object.kind,
                region: object.region.clone(),
                id: object.id.clone(),
                users,
            });
        }
    }
    (now, in_use)
}

/// Whether instances of `group` may run with security group `security_group_id`: its
/// template (as recorded) lists it, or some instance runs another version than the
/// template's latest whose groups list it. A version whose groups state does not know (made
/// before they were recorded, or outside Cairn) may use any.
fn instances_may_use(
    group: &StateResource,
    security_group_id: &str,
    templates: &BTreeMap<&str, &StateResource>,
    state: &StateDocument,
) -> bool {
    let instances: Vec<&Value> = group
        .attributes
        .get("instances")
        .and_then(Value::as_array)
        .map(|instances| instances.iter().collect())
        .unwrap_or_default();
    if instances.is_empty() {
        return false;
    }
    let Some(template) = group
        .attributes
        .get("launch_template_id")
        .and_then(Value::as_str)
        .and_then(|id| templates.get(id))
    else {
        return false;
    };
    let listed = template
        .attributes
        .get("security_group_ids")
        .and_then(Value::as_array)
        .is_some_and(|ids| ids.iter().any(|id| id.as_str() == Some(security_group_id)));
    let latest = template.attributes.get("latest_version");
    let older_uses = |running: &Value| match state.template_version_groups(&template.id, running) {
        Some(groups) => groups.iter().any(|id| id == security_group_id),
        None => true,
    };
    listed
        || instances.iter().any(|instance| {
            match (instance.get("launch_template_version"), latest) {
                (Some(running), Some(latest)) => {
                    !same_version(running, latest) && older_uses(running)
                }
                _ => false,
            }
        })
}

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
//!
//! Every delete of a security group goes through the same check: one no longer configured,
//! the old object of a `create_before_destroy` replacement (kept deposed), and a deposed one
//! left by an earlier replacement. A destroy-then-create replacement cannot wait (its new
//! object needs the old one gone), so the plan refuses it while instances use the group. And
//! a security group deleted with the groups whose instances use it is deleted after them.

use super::decide::{Decisions, same_version};
use super::model::ChangeAction;
use super::order::Role;
use super::{InUse, PlanError, ReplacedInUse};
use crate::model::{Address, DesiredResource, Kind, Value};
use crate::state::{StateDocument, StateResource};
use std::collections::{BTreeMap, BTreeSet};

/// What instances use, as the plan leaves them: the autoscaling groups that stay, with their
/// templates and the security groups of the template versions Cairn made.
pub(super) struct InUseCheck<'s> {
    /// Groups that stay, with their instances: a group deleted or replaced takes its
    /// instances with it, before the delete of what they used (deletes run in reverse
    /// dependency order). A group this plan does not look at (outside `--target`, or
    /// `--exclude`d) stays too, and so does a deposed one kept until a deadline.
    staying: Vec<&'s StateResource>,
    /// Each group's template by id, looked up once per group rather than searched for.
    templates: BTreeMap<&'s str, &'s StateResource>,
    state: &'s StateDocument,
}

impl<'s> InUseCheck<'s> {
    /// The check for a plan that deletes `deletes` and the deposed objects of `garbage`, and
    /// decided `decisions` over `current`.
    pub(super) fn new(
        deletes: &[&StateResource],
        garbage: &[(StateResource, Role)],
        current: &'s BTreeMap<Address, StateResource>,
        decisions: &Decisions,
        state: &'s StateDocument,
    ) -> Self {
        // Most plans delete no security group: they need no look at every group (issue 14).
        let is_security_group = |object: &StateResource| object.kind == Kind::SecurityGroup;
        let involved = deletes.iter().any(|object| is_security_group(object))
            || garbage.iter().any(|(object, _)| is_security_group(object))
            || decisions.by_address.iter().any(|(address, decision)| {
                decision.action == Some(ChangeAction::Replace)
                    && current.get(address).is_some_and(is_security_group)
            });
        if !involved {
            return InUseCheck {
                staying: Vec::new(),
                templates: BTreeMap::new(),
                state,
            };
        }
        let deleted: BTreeSet<&Address> = deletes.iter().map(|object| &object.address).collect();
        let mut staying: Vec<&StateResource> = current
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
        // A deposed group this plan does not delete keeps running its instances: the old
        // group of a blue-green rollout, kept until its `keep_old` has passed.
        let going: BTreeSet<&str> = garbage
            .iter()
            .map(|(object, _)| object.id.as_str())
            .collect();
        staying.extend(state.deposed.iter().filter(|object| {
            object.kind == Kind::AutoscalingGroup && !going.contains(object.id.as_str())
        }));
        InUseCheck {
            staying,
            templates: templates(current),
            state,
        }
    }

    /// What still uses `object` once the plan ran: empty when its delete can go now.
    fn users(&self, object: &StateResource) -> Vec<Address> {
        if object.kind != Kind::SecurityGroup {
            return Vec::new();
        }
        // A kept deposed group shares its address with the group serving there: each address
        // once.
        let users: BTreeSet<&Address> = self
            .staying
            .iter()
            .filter(|group| instances_may_use(group, &object.id, &self.templates, self.state))
            .map(|group| &group.address)
            .collect();
        users.into_iter().cloned().collect()
    }

    /// `object` as held back while `users` use it.
    fn held(object: &StateResource, users: Vec<Address>) -> InUse {
        InUse {
            address: object.address.clone(),
            kind: object.kind,
            region: object.region.clone(),
            id: object.id.clone(),
            users,
        }
    }

    /// Splits `deletes` into those that can go now and the objects something still uses,
    /// with what uses them.
    pub(super) fn split<'d>(
        &self,
        deletes: Vec<&'d StateResource>,
    ) -> (Vec<&'d StateResource>, Vec<InUse>) {
        let mut now = Vec::new();
        let mut in_use = Vec::new();
        for object in deletes {
            let users = self.users(object);
            if users.is_empty() {
                now.push(object);
            } else {
                in_use.push(Self::held(object, users));
            }
        }
        (now, in_use)
    }

    /// The replaced objects (`current` ones of `decisions`' replacements) whose old object
    /// stays: a `create_before_destroy` replacement creates the new one and keeps the old
    /// one deposed until nothing uses it. Returns their addresses and what uses them.
    ///
    /// # Errors
    /// [`PlanError::ReplaceInUse`], naming every one, for destroy-then-create replacements of
    /// objects instances still use: an old object cannot go before they move to the new one.
    pub(super) fn replacements(
        &self,
        decisions: &Decisions,
        current: &BTreeMap<Address, StateResource>,
        desired: &BTreeMap<Address, DesiredResource>,
    ) -> Result<(BTreeSet<Address>, Vec<InUse>), PlanError> {
        let mut kept = BTreeSet::new();
        let mut in_use = Vec::new();
        let mut refused = Vec::new();
        for (address, decision) in &decisions.by_address {
            if decision.action != Some(ChangeAction::Replace) {
                continue;
            }
            let Some(object) = current.get(address) else {
                continue;
            };
            let users = self.users(object);
            if users.is_empty() {
                continue;
            }
            if !decisions.create_before_destroy.contains(address) {
                refused.push(ReplacedInUse {
                    address: address.clone(),
                    id: object.id.clone(),
                    source: desired
                        .get(address)
                        .and_then(|resource| resource.source.clone()),
                    replace_because: decision.replace_because.clone(),
                    users,
                });
                continue;
            }
            kept.insert(address.clone());
            in_use.push(Self::held(object, users));
        }
        if !refused.is_empty() {
            return Err(PlanError::ReplaceInUse {
                replacements: refused,
            });
        }
        Ok((kept, in_use))
    }

    /// Takes out of `garbage` the deposed objects something still uses; returns them with
    /// what uses them.
    pub(super) fn keep_deposed(&self, garbage: &mut Vec<(StateResource, Role)>) -> Vec<InUse> {
        let mut in_use = Vec::new();
        garbage.retain(|(object, role)| {
            if *role != Role::DeleteDeposed {
                return true;
            }
            let users = self.users(object);
            if users.is_empty() {
                return true;
            }
            in_use.push(Self::held(object, users));
            false
        });
        in_use
    }
}

/// Each launch template of `objects` by id.
fn templates(objects: &BTreeMap<Address, StateResource>) -> BTreeMap<&str, &StateResource> {
    objects
        .values()
        .filter(|object| object.kind == Kind::LaunchTemplate)
        .map(|template| (template.id.as_str(), template))
        .collect()
}

/// The uses of security groups by the instances of autoscaling groups that the same plan
/// deletes, as `(group, security group)` address pairs: the security group's delete must
/// wait for the group's, as for a recorded dependency. State may no longer record one (the
/// template moved to another group while the instances still run an older version).
pub(super) fn deleted_uses(
    deleted: &[&StateResource],
    current: &BTreeMap<Address, StateResource>,
    state: &StateDocument,
) -> Vec<(Address, Address)> {
    let security_groups: Vec<&&StateResource> = deleted
        .iter()
        .filter(|object| object.kind == Kind::SecurityGroup)
        .collect();
    if security_groups.is_empty() {
        return Vec::new();
    }
    let templates = templates(current);
    let mut uses = Vec::new();
    for group in deleted
        .iter()
        .filter(|object| object.kind == Kind::AutoscalingGroup)
    {
        for security_group in &security_groups {
            if instances_may_use(group, &security_group.id, &templates, state) {
                uses.push((group.address.clone(), security_group.address.clone()));
            }
        }
    }
    uses
}

/// Whether instances of `group` may run with security group `security_group_id`: its
/// template (as recorded) lists it, or some instance runs another version than the
/// template's latest whose groups list it. A version whose groups state does not know (made
/// before they were recorded, or outside Cairn) may use any, and so does an instance launched
/// from another template than the group's (one replaced since): its version number says
/// nothing about the group's template.
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
    let on_another_template = |instance: &Value| {
        instance
            .get("launch_template_id")
            .and_then(Value::as_str)
            .is_some_and(|id| id != template.id)
    };
    listed
        || instances.iter().any(|instance| {
            if on_another_template(instance) {
                return true;
            }
            match (instance.get("launch_template_version"), latest) {
                (Some(running), Some(latest)) => {
                    !same_version(running, latest) && older_uses(running)
                }
                _ => false,
            }
        })
}

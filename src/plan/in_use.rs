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

/// What instances use, as the plan leaves them: the autoscaling groups that stay, by the
/// security groups their instances may run with (their templates' and those of the template
/// versions Cairn made).
///
/// A group stays unless the plan deletes or replaces it: a group deleted or replaced takes
/// its instances with it, before the delete of what they used (deletes run in reverse
/// dependency order). A group this plan does not look at (outside `--target`, or
/// `--exclude`d) stays too, and so does a deposed one kept until a deadline.
pub(super) struct InUseCheck<'s> {
    /// The staying groups by the ids of the security groups their instances may run with:
    /// looked up per security group, where asking each group about each security group made
    /// destroying 30,000 resources spend seconds pairing them (issue 14).
    users: BTreeMap<&'s str, BTreeSet<&'s Address>>,
    /// The staying groups whose instances may run with any security group (see [`Uses`]).
    users_of_any: BTreeSet<&'s Address>,
    /// Each launch template by id, looked up once per group rather than searched for; empty
    /// when the plan deletes no security group.
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
        let mut check = InUseCheck {
            users: BTreeMap::new(),
            users_of_any: BTreeSet::new(),
            templates: BTreeMap::new(),
            state,
        };
        if !involved {
            return check;
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
        check.templates = templates(current);
        for group in staying {
            match uses(group, &check.templates, state) {
                Uses::Any => {
                    check.users_of_any.insert(&group.address);
                }
                Uses::These(ids) => {
                    for id in ids {
                        check.users.entry(id).or_default().insert(&group.address);
                    }
                }
            }
        }
        check
    }

    /// What still uses `object` once the plan ran: empty when its delete can go now.
    fn users(&self, object: &StateResource) -> Vec<Address> {
        if object.kind != Kind::SecurityGroup {
            return Vec::new();
        }
        // A kept deposed group shares its address with the group serving there: each address
        // once.
        let mut users = self.users_of_any.clone();
        if let Some(these) = self.users.get(object.id.as_str()) {
            users.extend(these);
        }
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

    /// The uses of security groups by the instances of autoscaling groups that the same plan
    /// deletes (`deleted`), as `(group, security group)` address pairs: the security group's
    /// delete must wait for the group's, as for a recorded dependency. State may no longer
    /// record one (the template moved to another group while the instances still run an
    /// older version).
    pub(super) fn deleted_uses(&self, deleted: &[&StateResource]) -> Vec<(Address, Address)> {
        let security_groups: BTreeMap<&str, &Address> = deleted
            .iter()
            .filter(|object| object.kind == Kind::SecurityGroup)
            .map(|object| (object.id.as_str(), &object.address))
            .collect();
        if security_groups.is_empty() {
            return Vec::new();
        }
        let mut uses_found = Vec::new();
        for group in deleted
            .iter()
            .filter(|object| object.kind == Kind::AutoscalingGroup)
        {
            let used: Vec<&Address> = match uses(group, &self.templates, self.state) {
                Uses::Any => security_groups.values().copied().collect(),
                Uses::These(ids) => ids
                    .into_iter()
                    .filter_map(|id| security_groups.get(id).copied())
                    .collect(),
            };
            uses_found.extend(
                used.into_iter()
                    .map(|security_group| (group.address.clone(), security_group.clone())),
            );
        }
        uses_found
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

/// The security groups the instances of a group may run with.
enum Uses<'s> {
    /// Any: an instance runs a version of the template whose groups state does not know
    /// (made before they were recorded, or outside Cairn), or was launched from another
    /// template than the group's (one replaced since), whose version number says nothing
    /// about the group's template.
    Any,
    /// These ids: those its template (as recorded) lists, and those of the other versions
    /// its instances run. None when it has no instances.
    These(BTreeSet<&'s str>),
}

/// What the instances of `group` may run with (see [`Uses`]).
fn uses<'s>(
    group: &'s StateResource,
    templates: &BTreeMap<&str, &'s StateResource>,
    state: &'s StateDocument,
) -> Uses<'s> {
    let mut ids = BTreeSet::new();
    let instances = group
        .attributes
        .get("instances")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if instances.is_empty() {
        return Uses::These(ids);
    }
    let Some(template) = group
        .attributes
        .get("launch_template_id")
        .and_then(Value::as_str)
        .and_then(|id| templates.get(id))
    else {
        return Uses::These(ids);
    };
    let listed = template
        .attributes
        .get("security_group_ids")
        .and_then(Value::as_array);
    ids.extend(listed.into_iter().flatten().filter_map(Value::as_str));
    let latest = template.attributes.get("latest_version");
    for instance in instances {
        let launched_from = instance.get("launch_template_id").and_then(Value::as_str);
        if launched_from.is_some_and(|id| id != template.id) {
            return Uses::Any;
        }
        let (Some(running), Some(latest)) = (instance.get("launch_template_version"), latest)
        else {
            continue;
        };
        if same_version(running, latest) {
            continue;
        }
        match state.template_version_groups(&template.id, running) {
            Some(groups) => ids.extend(groups.iter().map(String::as_str)),
            None => return Uses::Any,
        }
    }
    Uses::These(ids)
}

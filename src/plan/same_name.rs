//! Replacements the cloud would refuse for their name: a network holds one security group of
//! a name, so a `create_before_destroy` replacement whose new group keeps the old one's name
//! and network fails at its create (`InvalidGroup.Duplicate`) while the old one still exists.
//! A firewall replaced only because its `description` changed keeps its default name, so
//! this is what such a change meets; the plan refuses it rather than failing half-way.

use super::decide::Decisions;
use super::model::ChangeAction;
use super::{PlanError, SameNameReplacement};
use crate::model::{Address, DesiredResource, Kind};
use crate::state::StateResource;
use std::collections::BTreeMap;

/// The attributes that together must differ between a security group and its replacement.
const UNIQUE_TOGETHER: [&str; 2] = ["name", "network_id"];

/// Refuses the `create_before_destroy` replacements of security groups whose new object
/// would have the old one's name in the old one's network.
///
/// # Errors
/// [`PlanError::ReplaceKeepsName`], naming every one.
pub(super) fn refuse_same_name(
    decisions: &Decisions,
    current: &BTreeMap<Address, StateResource>,
    desired: &BTreeMap<Address, DesiredResource>,
) -> Result<(), PlanError> {
    let mut refused = Vec::new();
    for address in &decisions.create_before_destroy {
        let Some(decision) = decisions.by_address.get(address) else {
            continue;
        };
        let Some(old) = current.get(address) else {
            continue;
        };
        if decision.action != Some(ChangeAction::Replace) || old.kind != Kind::SecurityGroup {
            continue;
        }
        let same = UNIQUE_TOGETHER.iter().all(|name| {
            decision
                .resolved
                .get(*name)
                .is_some_and(|new| old.attributes.get(*name) == Some(new))
        });
        if !same {
            continue;
        }
        let name = old.attributes.get("name").and_then(|name| name.as_str());
        refused.push(SameNameReplacement {
            address: address.clone(),
            name: name.unwrap_or_default().to_string(),
            source: desired
                .get(address)
                .and_then(|resource| resource.source.clone()),
            replace_because: decision.replace_because.clone(),
        });
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(PlanError::ReplaceKeepsName {
            replacements: refused,
        })
    }
}

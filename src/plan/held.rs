//! Held releases: the releases a rollback undid that a plan keeps its groups off, and the
//! checks of `--retry-rollout`, which lets named ones go.
//!
//! Promise: a `--retry-rollout` either lets a held release go in this plan or is refused with
//! the reason; it is never accepted to do nothing (a typo, a group the plan leaves out with
//! `--target` or `--exclude`, a refresh-only or destroy plan that rolls nothing out).

use super::PlanError;
use super::scope::Scope;
use crate::model::{Address, Value};
use crate::state::StateDocument;
use std::collections::BTreeMap;

/// Refuses `--retry-rollout` with `--refresh-only` or `--destroy`: a refresh-only plan changes
/// nothing in the cloud and a destroy deletes the groups, so neither rolls a release out again.
///
/// # Errors
/// [`PlanError::RetryRollsNothingOut`] when `retry` names a group and the plan is either.
pub(super) fn refuse_retry_where_nothing_rolls_out(
    retry: &[String],
    refresh_only: bool,
    destroy: bool,
) -> Result<(), PlanError> {
    let flag = match (refresh_only, destroy) {
        (true, _) => "--refresh-only",
        (false, true) => "--destroy",
        (false, false) => return Ok(()),
    };
    match retry.first() {
        Some(pattern) => Err(PlanError::RetryRollsNothingOut {
            pattern: pattern.clone(),
            flag,
        }),
        None => Ok(()),
    }
}

/// The releases a rollback undid that this plan holds back, by group: the version each must
/// not be moved to again. `--retry-rollout` (`retry`) lets the ones it names go.
///
/// # Errors
/// [`PlanError::RetryMatchesNothing`] for a `--retry-rollout` that names no rolled-back group,
/// and [`PlanError::RetryOutOfScope`] for one whose groups all lie outside the plan's scope.
pub(super) fn held_back(
    state: &StateDocument,
    scope: &Scope,
    retry: &[String],
) -> Result<BTreeMap<Address, Value>, PlanError> {
    for pattern in retry {
        let named: Vec<&Address> = state
            .rolled_back
            .keys()
            .filter(|address| address.matches_target(pattern))
            .collect();
        if named.is_empty() {
            return Err(PlanError::RetryMatchesNothing {
                pattern: pattern.clone(),
                rolled_back: state.rolled_back.keys().cloned().collect(),
            });
        }
        if !named.iter().any(|address| scope.contains(address)) {
            return Err(PlanError::RetryOutOfScope {
                pattern: pattern.clone(),
                parked: named.iter().all(|address| scope.is_parked(address)),
                addresses: named.into_iter().cloned().collect(),
            });
        }
    }
    Ok(state
        .rolled_back
        .iter()
        .filter(|(address, _)| !retry.iter().any(|pattern| address.matches_target(pattern)))
        .map(|(address, rolled_back)| (address.clone(), rolled_back.version.clone()))
        .collect())
}

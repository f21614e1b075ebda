//! Held releases: the releases a rollback undid that a plan keeps its groups off, and the
//! checks of `--retry-rollout`, which lets named ones go.
//!
//! Promise: a `--retry-rollout` either lets a held release go in this plan or is refused with
//! the reason; it is never accepted to do nothing (a typo, a group the plan leaves out with
//! `--target` or `--exclude`, a refresh-only plan that rolls nothing out).

use super::PlanError;
use super::scope::Scope;
use crate::model::{Address, Value};
use crate::state::StateDocument;
use std::collections::BTreeMap;

/// Refuses `--retry-rollout` with `--refresh-only`: a refresh-only plan changes nothing in the
/// cloud, so it cannot roll a release out again.
///
/// # Errors
/// [`PlanError::RetryWithRefreshOnly`] when both are given.
pub(super) fn refuse_retry_with_refresh_only(
    retry: &[String],
    refresh_only: bool,
) -> Result<(), PlanError> {
    match retry.first() {
        Some(pattern) if refresh_only => Err(PlanError::RetryWithRefreshOnly {
            pattern: pattern.clone(),
        }),
        _ => Ok(()),
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

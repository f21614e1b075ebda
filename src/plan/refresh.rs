//! Refresh: what the cloud holds right now, read in batches by ownership tags.
//!
//! One `read` per (region, kind) that the configuration or the state mentions, never one call
//! per resource. Live resources are grouped by their `cairn:address` tag, which is how a plan
//! finds out-of-band changes, deletions, and resources a crash left out of state.

use super::PlanError;
use crate::model::{Address, DesiredResource, Kind, Owner, TAG_ADDRESS};
use crate::provider::{CallCount, LiveResource, Provider};
use crate::state::StateDocument;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// One batched read: a region and a kind.
pub type RefreshScope = (String, Kind);

/// What a refresh saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// Owned live resources by their `cairn:address` tag, each list sorted by id. Several
    /// entries under one address are duplicates (a retried create, a crash's trace).
    pub resources: BTreeMap<Address, Vec<LiveResource>>,
    /// The (region, kind) pairs that were read. A recorded resource in a pair that was not
    /// read is assumed to exist as recorded; one in a pair that was read and is absent was
    /// deleted outside Cairn.
    pub scopes: BTreeSet<RefreshScope>,
    /// API calls the refresh made.
    pub calls: CallCount,
}

impl Observed {
    /// Nothing observed: plan against the state as recorded (`--refresh=false`).
    pub fn not_refreshed() -> Self {
        Observed::default()
    }

    /// Groups `live` resources by their address tag; resources without one are not Cairn's
    /// to manage and are left out.
    pub fn from_live(
        scopes: BTreeSet<RefreshScope>,
        live: impl IntoIterator<Item = LiveResource>,
    ) -> Self {
        let mut resources: BTreeMap<Address, Vec<LiveResource>> = BTreeMap::new();
        for resource in live {
            if let Some(address) = resource.tags.get(TAG_ADDRESS) {
                resources
                    .entry(Address::new(address.clone()))
                    .or_default()
                    .push(resource);
            }
        }
        for group in resources.values_mut() {
            group.sort_by(|left, right| left.id.cmp(&right.id));
        }
        Observed {
            resources,
            scopes,
            calls: CallCount::default(),
        }
    }

    /// Whether resources of `kind` in `region` were read.
    pub fn was_read(&self, region: &str, kind: Kind) -> bool {
        self.scopes.contains(&(region.to_string(), kind))
    }
}

/// The (region, kind) pairs a plan needs read: every one that a desired resource, a recorded
/// resource or a deposed object lives in.
pub fn refresh_scopes(
    desired: &BTreeMap<Address, DesiredResource>,
    state: &StateDocument,
) -> BTreeSet<RefreshScope> {
    desired
        .values()
        .map(|resource| (resource.region.clone(), resource.kind))
        .chain(
            state
                .resources
                .values()
                .chain(&state.deposed)
                .map(|resource| (resource.region.clone(), resource.kind)),
        )
        .collect()
}

/// How often a throttled or transient read is tried before the refresh gives up.
const READ_ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// Reads every owned resource in `scopes`, one batched call per scope (retrying throttling
/// and transient errors with exponential backoff), and records the calls made.
///
/// # Errors
/// [`PlanError::Refresh`] naming the region and kind when a read fails for good.
pub async fn refresh(
    provider: &dyn Provider,
    owner: &Owner,
    scopes: &BTreeSet<RefreshScope>,
) -> Result<Observed, PlanError> {
    let calls_before = provider.calls();
    let mut live = Vec::new();
    for (region, kind) in scopes {
        let mut attempt = 1;
        let resources = loop {
            match provider.read(region, *kind, owner).await {
                Ok(resources) => break resources,
                Err(error) if error.is_retryable() && attempt < READ_ATTEMPTS => {
                    tracing::debug!(%region, %kind, %error, attempt, "retrying refresh read");
                    tokio::time::sleep(FIRST_BACKOFF * 2u32.pow(attempt - 1)).await;
                    attempt += 1;
                }
                Err(source) => {
                    return Err(PlanError::Refresh {
                        region: region.clone(),
                        kind: *kind,
                        source,
                    });
                }
            }
        };
        // A provider filters by owner already; checking again keeps another stack's or
        // environment's resources out even if a filter is loose.
        live.extend(
            resources
                .into_iter()
                .filter(|resource| owner.owns(&resource.tags)),
        );
    }
    let calls_after = provider.calls();
    let mut observed = Observed::from_live(scopes.clone(), live);
    observed.calls = CallCount {
        reads: calls_after.reads.saturating_sub(calls_before.reads),
        mutations: calls_after.mutations.saturating_sub(calls_before.mutations),
    };
    Ok(observed)
}

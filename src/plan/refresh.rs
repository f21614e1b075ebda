//! Refresh: what the cloud holds right now, read in batches by ownership tags.
//!
//! One `read` per (region, kind) that the configuration or the state mentions, never one call
//! per resource; the reads of one wave run in a read session, so that kinds listed under the
//! same parents (listeners under load balancers, records in zones) share the parents'
//! listing. Live resources are grouped by their `cairn:address` tag, which is how a plan
//! finds out-of-band changes, deletions, and resources a crash left out of state.
//!
//! Right after an apply, a read may still miss what it created (the cloud's eventual
//! consistency). A recorded object missing from a read is only called deleted once the
//! provider's consistency window has passed since the state last changed: until then the
//! scopes that miss something are read again, with growing waits.

use super::PlanError;
use crate::model::{Address, DesiredResource, Kind, Owner, TAG_ADDRESS};
use crate::provider::{CallCount, LiveResource, Provider, ProviderError};
use crate::state::StateDocument;
use crate::util::backoff::{Backoff, Jitter, RetryPolicy, retry};
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
    /// The objects `import` blocks import, read by id (owned by nobody yet), by the address
    /// they are imported at.
    pub imports: BTreeMap<Address, LiveResource>,
    /// What the cloud's clock said when it was read (`None` when not refreshed): deposed
    /// objects kept until a deadline (a blue-green rollout's old group) are deleted once it
    /// has passed on this clock, the one the deadline was set on.
    pub now: Option<chrono::DateTime<chrono::Utc>>,
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
            imports: BTreeMap::new(),
            now: None,
        }
    }

    /// Whether resources of `kind` in `region` were read.
    pub fn was_read(&self, region: &str, kind: Kind) -> bool {
        self.scopes.contains(&(region.to_string(), kind))
    }
}

/// The (region, kind) pairs a plan needs read: every one that a desired resource, a recorded
/// resource, a deposed object or an interrupted call lives in.
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
        .chain(
            state
                .intents
                .iter()
                .map(|intent| (intent.region.clone(), intent.kind)),
        )
        .collect()
}

/// How a throttled or transient read is retried: five tries in all before the refresh gives
/// up, waits from 200 ms doubling (about 3 s at most in all), so a plan fails soon when the
/// cloud is really unavailable. Jittered, because the reads of a refresh run at once and
/// are throttled together.
const READ_RETRIES: RetryPolicy = RetryPolicy {
    attempts: 5,
    base: Duration::from_millis(200),
    cap: Duration::from_secs(2),
    jitter: Jitter::Full,
};
/// Scopes read at once: enough for every kind of one region in a single wave (a typical
/// environment's refresh is then one round trip), well under the burst EC2 allows for
/// Describe calls; throttled reads are retried with backoff anyway.
const READ_CONCURRENCY: usize = 16;

/// Waits between two reads of scopes that miss a recorded object: from a quarter second
/// doubling up to four seconds, spent in full (they let new objects show up).
const READ_AGAIN: RetryPolicy = RetryPolicy {
    attempts: u32::MAX,
    base: Duration::from_millis(250),
    cap: Duration::from_secs(4),
    jitter: Jitter::None,
};

/// Reads every owned resource in `scopes`, one batched call per scope (retrying throttling
/// and transient errors with exponential backoff), and records the calls made. Untaggable
/// resources are placed by their id in `state`.
///
/// While the provider's consistency window since the state last changed (its last recorded
/// call, or an interrupted one) has not passed, the scopes where a recorded object is missing
/// are read again until it shows up or the window has passed.
///
/// # Errors
/// [`PlanError::Refresh`] naming the region and kind when a read fails for good.
pub async fn refresh(
    provider: &dyn Provider,
    owner: &Owner,
    scopes: &BTreeSet<RefreshScope>,
    state: &StateDocument,
) -> Result<Observed, PlanError> {
    let calls_before = provider.calls();
    // The window is counted before the first read: only a read that began once it had passed
    // may call a recorded object gone.
    let deadline = tokio::time::Instant::now() + settling(state, provider.consistency_window());
    let mut read_started = tokio::time::Instant::now();
    let mut batches = read_scopes(provider, owner, scopes).await?;
    let mut waits = Backoff::of(&READ_AGAIN);
    let mut rounds = 0;
    loop {
        let missing = scopes_missing_recorded(state, &batches);
        if missing.is_empty() || read_started >= deadline {
            break;
        }
        rounds += 1;
        let now = tokio::time::Instant::now();
        let wait = waits
            .delay(rounds)
            .min(deadline.saturating_duration_since(now));
        tracing::info!(
            scopes = missing.len(),
            ?wait,
            "recorded objects missing from a read inside the consistency window; reading again"
        );
        tokio::time::sleep(wait).await;
        read_started = tokio::time::Instant::now();
        batches.extend(read_scopes(provider, owner, &missing).await?);
    }
    // A provider filters by owner already; checking again keeps another stack's or
    // environment's resources out even if a filter is loose.
    let live = batches
        .into_values()
        .flatten()
        .filter(|resource| owner.owns(&resource.tags))
        .collect::<Vec<_>>();
    let calls_after = provider.calls();
    let (addressed, untagged): (Vec<LiveResource>, Vec<LiveResource>) = live
        .into_iter()
        .partition(|resource| resource.tags.contains_key(TAG_ADDRESS));
    let mut observed = Observed::from_live(scopes.clone(), addressed);
    // Kinds the cloud keeps no tags on (AWS scaling policies) carry no address tag: they are
    // matched to the state record with the same region, kind and id. Without this a policy
    // reads as deleted outside Cairn on every plan. The records are looked up by key, not
    // scanned once per object (issue 14).
    let recorded: BTreeMap<(&str, Kind, &str), &Address> = state
        .resources
        .values()
        .filter(|recorded| !recorded.kind.takes_tags())
        .map(|recorded| {
            let key = (
                recorded.region.as_str(),
                recorded.kind,
                recorded.id.as_str(),
            );
            (key, &recorded.address)
        })
        .rev()
        .collect();
    for resource in untagged {
        if resource.kind.takes_tags() {
            continue;
        }
        let key = (
            resource.region.as_str(),
            resource.kind,
            resource.id.as_str(),
        );
        if let Some(address) = recorded.get(&key) {
            observed
                .resources
                .entry((*address).clone())
                .or_default()
                .push(resource);
        }
    }
    observed.now = provider.now().await.ok();
    observed.calls = CallCount {
        reads: calls_after.reads.saturating_sub(calls_before.reads),
        mutations: calls_after.mutations.saturating_sub(calls_before.mutations),
    };
    Ok(observed)
}

/// One batched read per scope, concurrently.
///
/// # Errors
/// The first failed scope in scope order.
async fn read_scopes(
    provider: &dyn Provider,
    owner: &Owner,
    scopes: &BTreeSet<RefreshScope>,
) -> Result<BTreeMap<RefreshScope, Vec<LiveResource>>, PlanError> {
    use futures_util::StreamExt;

    // One session per wave: the kinds read in it share the parent listings they need (load
    // balancers for listeners, zones for records), and a wave read again after a wait lists
    // afresh, so it sees what appeared in between.
    let _session = provider.read_session();
    // The scopes are independent: reading them concurrently makes a refresh cost about one
    // round trip per wave instead of one per (region, kind). The bound keeps the burst polite
    // to rate-limited APIs.
    let mut results: Vec<(usize, Result<Vec<LiveResource>, PlanError>)> =
        futures_util::stream::iter(scopes.iter().enumerate())
            .map(|(position, (region, kind))| async move {
                (position, read_scope(provider, owner, region, *kind).await)
            })
            .buffer_unordered(READ_CONCURRENCY)
            .collect()
            .await;
    // Retry waits are jittered, so reads finish in any order; the failure reported is the
    // first in scope order, so the same failures always give the same message.
    results.sort_by_key(|(position, _)| *position);
    scopes
        .iter()
        .cloned()
        .zip(results.into_iter().map(|(_, result)| result))
        .map(|(scope, result)| result.map(|live| (scope, live)))
        .collect()
}

/// How much of the consistency window is left since the state last changed: the latest of
/// its last recorded call and the calls an interrupted run left unanswered.
fn settling(state: &StateDocument, window: Duration) -> Duration {
    let last_change = state
        .intents
        .iter()
        .map(|intent| intent.since)
        .chain(state.changed_at)
        .max();
    let Some(last_change) = last_change else {
        return Duration::ZERO;
    };
    let elapsed = (chrono::Utc::now() - last_change)
        .to_std()
        .unwrap_or_default();
    window.saturating_sub(elapsed)
}

/// The scopes read in `batches` where an object state records (an interrupted delete's aside)
/// is missing.
fn scopes_missing_recorded(
    state: &StateDocument,
    batches: &BTreeMap<RefreshScope, Vec<LiveResource>>,
) -> BTreeSet<RefreshScope> {
    let deleting: BTreeSet<&str> = state
        .intents
        .iter()
        .filter(|intent| intent.operation == crate::model::Operation::Delete)
        .filter_map(|intent| intent.id.as_deref())
        .collect();
    // The ids each scope read, looked up once per recorded object: scanning a scope's list
    // for every object would cost objects × scope size (issue 14).
    let live_ids: BTreeMap<&RefreshScope, BTreeSet<&str>> = batches
        .iter()
        .map(|(scope, live)| {
            (
                scope,
                live.iter().map(|resource| resource.id.as_str()).collect(),
            )
        })
        .collect();
    state
        .resources
        .values()
        .chain(&state.deposed)
        .filter(|object| !deleting.contains(object.id.as_str()))
        .filter_map(|object| {
            let scope = (object.region.clone(), object.kind);
            let ids = live_ids.get(&scope)?;
            (!ids.contains(object.id.as_str())).then_some(scope)
        })
        .collect()
}

/// One batched read of a scope, retrying throttling and transient errors with backoff.
async fn read_scope(
    provider: &dyn Provider,
    owner: &Owner,
    region: &str,
    kind: Kind,
) -> Result<Vec<LiveResource>, PlanError> {
    let what = format!("refresh read of {kind} in `{region}`");
    retry(READ_RETRIES, what, ProviderError::is_retryable, || {
        provider.read(region, kind, owner)
    })
    .await
    .map_err(|source| PlanError::Refresh {
        region: region.to_string(),
        kind,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tags;
    use crate::provider::{CreateRequest, UpdateRequest};
    use async_trait::async_trait;
    use std::sync::Mutex;

    /// A cloud holding fixed resources, counting reads, throttling the first few.
    struct FakeCloud {
        resources: Vec<LiveResource>,
        throttle_first: Mutex<u32>,
        reads: Mutex<Vec<(String, Kind)>>,
    }

    impl FakeCloud {
        fn new(resources: Vec<LiveResource>, throttle_first: u32) -> Self {
            FakeCloud {
                resources,
                throttle_first: Mutex::new(throttle_first),
                reads: Mutex::new(Vec::new()),
            }
        }
    }

    #[async_trait]
    impl crate::provider::CoreProvider for FakeCloud {
        fn name(&self) -> &'static str {
            "fake"
        }

        async fn read(
            &self,
            region: &str,
            kind: Kind,
            _owner: &Owner,
        ) -> Result<Vec<LiveResource>, ProviderError> {
            self.reads.lock().unwrap().push((region.to_string(), kind));
            let mut throttle = self.throttle_first.lock().unwrap();
            if *throttle > 0 {
                *throttle -= 1;
                return Err(ProviderError::Throttled {
                    message: "Rate exceeded".to_string(),
                });
            }
            Ok(self
                .resources
                .iter()
                .filter(|resource| resource.region == region && resource.kind == kind)
                .cloned()
                .collect())
        }

        async fn create(&self, _request: &CreateRequest) -> Result<LiveResource, ProviderError> {
            unreachable!("refresh never creates")
        }

        async fn update(&self, _request: &UpdateRequest) -> Result<LiveResource, ProviderError> {
            unreachable!("refresh never updates")
        }

        async fn delete(&self, _region: &str, _kind: Kind, _id: &str) -> Result<(), ProviderError> {
            unreachable!("refresh never deletes")
        }

        async fn import(
            &self,
            _region: &str,
            _kind: Kind,
            _id: &str,
        ) -> Result<LiveResource, ProviderError> {
            unreachable!("refresh never imports")
        }

        fn calls(&self) -> CallCount {
            CallCount {
                reads: self.reads.lock().unwrap().len() as u64,
                mutations: 0,
            }
        }
    }

    fn owner() -> Owner {
        Owner {
            stack: "shop".to_string(),
            env: "staging".to_string(),
        }
    }

    fn live(id: &str, kind: Kind, region: &str, tags: Tags) -> LiveResource {
        LiveResource {
            kind,
            region: region.to_string(),
            id: id.to_string(),
            attributes: Default::default(),
            tags,
        }
    }

    fn scopes() -> BTreeSet<RefreshScope> {
        BTreeSet::from([
            ("us-east-1".to_string(), Kind::Network),
            ("us-east-1".to_string(), Kind::Subnet),
            ("us-west-2".to_string(), Kind::Network),
        ])
    }

    #[tokio::test]
    async fn reads_once_per_scope_and_groups_by_address_tag() {
        let network = Address::new("network.main[us-east-1]");
        let other_env = Owner {
            stack: "shop".to_string(),
            env: "production".to_string(),
        };
        let cloud = FakeCloud::new(
            vec![
                live(
                    "vpc-2",
                    Kind::Network,
                    "us-east-1",
                    owner().tags_for(&network),
                ),
                live(
                    "vpc-1",
                    Kind::Network,
                    "us-east-1",
                    owner().tags_for(&network),
                ),
                live(
                    "vpc-3",
                    Kind::Network,
                    "us-east-1",
                    other_env.tags_for(&network),
                ),
                live("vpc-4", Kind::Network, "us-east-1", Tags::new()),
                live(
                    "subnet-1",
                    Kind::Subnet,
                    "us-east-1",
                    owner().tags_for(&Address::new("network.main.subnet.a[us-east-1a]")),
                ),
                live(
                    "vol-1",
                    Kind::Volume,
                    "us-east-1",
                    owner().tags_for(&Address::new("volume.data[us-east-1a]")),
                ),
            ],
            0,
        );
        let observed = refresh(
            &cloud,
            &owner(),
            &scopes(),
            &StateDocument::new("shop", "staging"),
        )
        .await
        .unwrap();

        assert_eq!(cloud.reads.lock().unwrap().len(), 3);
        assert_eq!(observed.calls.reads, 3);
        assert_eq!(observed.scopes, scopes());
        let ids: Vec<&str> = observed.resources[&network]
            .iter()
            .map(|resource| resource.id.as_str())
            .collect();
        assert_eq!(ids, vec!["vpc-1", "vpc-2"]);
        assert_eq!(observed.resources.len(), 2);
        assert!(observed.was_read("us-west-2", Kind::Network));
        assert!(!observed.was_read("us-east-1", Kind::Volume));
    }

    /// Refreshes the test scopes of an empty cloud whose first `throttled` reads are refused.
    async fn refresh_throttled(throttled: u32) -> (FakeCloud, Result<Observed, PlanError>) {
        let cloud = FakeCloud::new(Vec::new(), throttled);
        let state = StateDocument::new("shop", "staging");
        let result = refresh(&cloud, &owner(), &scopes(), &state).await;
        (cloud, result)
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_reads_are_retried_with_backoff() {
        let (_, result) = refresh_throttled(3).await;
        assert_eq!(result.unwrap().calls.reads, 6);
    }

    #[tokio::test(start_paused = true)]
    async fn persistent_throttling_fails_naming_the_scope() {
        let (cloud, result) = refresh_throttled(100).await;
        let error = result.unwrap_err();
        assert_eq!(
            error.to_string(),
            "refresh could not read network resources in `us-east-1`: throttled: Rate exceeded"
        );
        // Scopes are read concurrently; the one named gave up after its own attempts.
        let failed_scope_reads = cloud
            .reads
            .lock()
            .unwrap()
            .iter()
            .filter(|(region, kind)| region == "us-east-1" && *kind == Kind::Network)
            .count();
        assert_eq!(failed_scope_reads, READ_RETRIES.attempts as usize);
    }

    #[test]
    fn scopes_cover_desired_recorded_and_deposed_resources() {
        let mut state = StateDocument::new("shop", "staging");
        let recorded = crate::state::StateResource {
            address: Address::new("volume.old[us-east-1a]"),
            kind: Kind::Volume,
            region: "eu-west-1".to_string(),
            id: "vol-1".to_string(),
            attributes: Default::default(),
            tags: Tags::new(),
            dependencies: BTreeSet::new(),
            lifecycle: Default::default(),
            sensitive: BTreeSet::new(),
        };
        state
            .resources
            .insert(recorded.address.clone(), recorded.clone());
        let mut deposed = recorded;
        deposed.kind = Kind::Snapshot;
        state.deposed.push(deposed);
        let scopes = refresh_scopes(&BTreeMap::new(), &state);
        assert_eq!(
            scopes,
            BTreeSet::from([
                ("eu-west-1".to_string(), Kind::Volume),
                ("eu-west-1".to_string(), Kind::Snapshot),
            ])
        );
    }
}

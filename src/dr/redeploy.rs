//! What a drill, a failover and a failback all do when they bring an environment up in a
//! region: restore each data volume from the newest backup copy there, wait until every
//! autoscaling group has its minimum in service, and say what an apply left undone; and what
//! is left of a redeploy after its teardown.
//!
//! The data volumes are the volumes a backup policy selects, known by their block path
//! (`volume.data`), which stays the same whichever region the environment is expanded into.

use super::DrError;
use super::catalog::Restorable;
use crate::apply::ApplyReport;
use crate::graph::Expansion;
use crate::model::cloud::GLOBAL_REGION;
use crate::model::{Address, Kind, Owner, TAG_ADDRESS};
use crate::provider::{LiveResource, Provider};
use crate::util::backoff::Backoff;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How soon the autoscaling groups are looked at again while waiting for them: at first
/// often (moto and the instant simulation are ready at once), then less and less often, up to
/// [`HEALTH_POLL_CAP`], for boots that take a minute.
const HEALTH_POLL: Duration = Duration::from_millis(250);
const HEALTH_POLL_CAP: Duration = Duration::from_secs(5);

/// A data volume restored from a backup copy.
#[derive(Debug, Clone, Serialize)]
pub struct RestoredVolume {
    pub address: Address,
    pub source_address: Address,
    pub snapshot_id: String,
    pub taken_at: DateTime<Utc>,
    /// Age of the copy when the operation started: this volume's data loss.
    pub age_seconds: i64,
}

/// An autoscaling group and how many instances it had in service.
#[derive(Debug, Clone, Serialize)]
pub struct GroupHealth {
    pub address: Address,
    pub min: usize,
    pub in_service: usize,
}

/// The block paths (`volume.data`) of the volumes the backup policies of `expansion` select.
pub fn data_blocks(expansion: &Expansion) -> BTreeSet<String> {
    expansion
        .backup_policies
        .iter()
        .flat_map(|policy| {
            expansion
                .resources
                .values()
                .filter(|resource| policy.selects(resource))
        })
        .map(|volume| volume.address.block_path().to_string())
        .collect()
}

/// The snapshot each data volume of `expansion` is restored from: the newest completed copy
/// of its block in `restorable` (the copies in `region`).
///
/// # Errors
/// [`DrError::NoBackup`] naming the first data volume without a copy;
/// [`DrError::NoCompletedBackup`] for one whose copies are all still pending.
pub fn restores_for(
    expansion: &Expansion,
    restorable: &Restorable,
    started_at: DateTime<Utc>,
    region: &str,
) -> Result<(BTreeMap<Address, String>, Vec<RestoredVolume>), DrError> {
    let data_blocks = data_blocks(expansion);
    let mut restores = BTreeMap::new();
    let mut restored = Vec::new();
    for resource in expansion.resources.values() {
        let block = resource.address.block_path();
        if resource.kind != Kind::Volume || !data_blocks.contains(block) {
            continue;
        }
        let Some(copy) = restorable.newest.get(block) else {
            let pending: Vec<String> = restorable
                .skipped
                .iter()
                .filter(|skipped| skipped.source_address.block_path() == block)
                .map(|skipped| format!("`{}` is {}", skipped.id, skipped.reason))
                .collect();
            if !pending.is_empty() {
                return Err(DrError::NoCompletedBackup {
                    address: resource.address.to_string(),
                    region: region.to_string(),
                    pending: pending.join("; "),
                    environment: expansion.environment.name.clone(),
                });
            }
            return Err(DrError::NoBackup {
                address: resource.address.to_string(),
                region: region.to_string(),
                environment: expansion.environment.name.clone(),
            });
        };
        restores.insert(resource.address.clone(), copy.id.clone());
        restored.push(RestoredVolume {
            address: resource.address.clone(),
            source_address: copy.source_address.clone(),
            snapshot_id: copy.id.clone(),
            taken_at: copy.taken_at,
            age_seconds: (started_at - copy.taken_at).num_seconds().max(0),
        });
    }
    Ok((restores, restored))
}

/// Each autoscaling group of `expansion` in `region` with its `min`: what "healthy" waits
/// for. Groups elsewhere (a standby left in the other region) are not what a redeploy into
/// `region` waits for.
pub fn group_minimums(expansion: &Expansion, region: &str) -> BTreeMap<Address, usize> {
    expansion
        .resources
        .values()
        .filter(|resource| resource.kind == Kind::AutoscalingGroup && resource.region == region)
        .map(|resource| {
            let min = resource
                .attributes
                .get("min")
                .and_then(|min| min.as_u64())
                .and_then(|min| usize::try_from(min).ok())
                .unwrap_or(0);
            (resource.address.clone(), min)
        })
        .collect()
}

/// Polls `owner`'s groups in `region` until each of `groups` has its `min` instances running
/// and past their health checks. Waits go through [`Provider::wait`] and the timeout is
/// measured on [`Provider::now`]: on the simulated cloud with its clock set, waiting moves the
/// clock, so a timing profile's boots take their time without a test sleeping.
///
/// # Errors
/// [`DrError::Unhealthy`] naming a group still short after `timeout`; [`DrError::Provider`]
/// when the groups cannot be read or the cloud's clock cannot be read or moved.
pub async fn wait_healthy(
    provider: &dyn Provider,
    owner: &Owner,
    region: &str,
    groups: &BTreeMap<Address, usize>,
    timeout: Duration,
) -> Result<Vec<GroupHealth>, DrError> {
    let clock = |source| DrError::provider("read or move the cloud's clock", region, source);
    let started = provider.now().await.map_err(clock)?;
    let polls = Backoff::new(HEALTH_POLL, HEALTH_POLL_CAP, None);
    let mut attempt = 0;
    loop {
        let live = provider
            .read(region, Kind::AutoscalingGroup, owner)
            .await
            .map_err(|source| DrError::provider("read autoscaling groups", region, source))?;
        let health: Vec<GroupHealth> = groups
            .iter()
            .map(|(address, min)| GroupHealth {
                address: address.clone(),
                min: *min,
                in_service: in_service(&live, address),
            })
            .collect();
        let waited = (provider.now().await.map_err(clock)? - started)
            .to_std()
            .unwrap_or_default();
        match health.iter().find(|group| group.in_service < group.min) {
            None => return Ok(health),
            Some(group) if waited >= timeout => {
                return Err(DrError::Unhealthy {
                    group: group.address.to_string(),
                    in_service: group.in_service,
                    min: group.min,
                    waited_seconds: waited.as_secs(),
                });
            }
            Some(_) => {
                attempt += 1;
                provider.wait(polls.ceiling(attempt)).await.map_err(clock)?;
            }
        }
    }
}

/// The running instances of the group at `address` among `live` groups.
fn in_service(live: &[LiveResource], address: &Address) -> usize {
    live.iter()
        .find(|group| group.tags.get(TAG_ADDRESS) == Some(&address.to_string()))
        .and_then(|group| group.attributes.get("instances"))
        .and_then(|instances| instances.as_array())
        .map(|instances| {
            instances
                .iter()
                .filter(|instance| {
                    let state = instance.get("state").and_then(|state| state.as_str());
                    let health = instance.get("health").and_then(|health| health.as_str());
                    // `initial`: booted, its health checks not passed yet.
                    matches!(state, Some("running" | "InService")) && health != Some("initial")
                })
                .count()
        })
        .unwrap_or(0)
}

/// What failed in an apply, on one line: each failed step, then the fatal error if any.
pub fn failure_reason(report: &ApplyReport) -> String {
    report
        .failed
        .iter()
        .map(|(address, _, error)| format!("{address}: {error}"))
        .chain(report.fatal.as_ref().map(ToString::to_string))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Every resource of `owner` still in `region` (and, of the kinds that belong to no region,
/// anywhere), as `kind id`; a kind that cannot be read counts as a leftover too, since
/// nothing proves it is empty.
pub async fn leftovers(provider: &dyn Provider, owner: &Owner, region: &str) -> Vec<String> {
    let mut found = Vec::new();
    for kind in Kind::ALL {
        let place = if kind.is_global() {
            GLOBAL_REGION
        } else {
            region
        };
        match provider.read(place, kind, owner).await {
            Ok(resources) => found.extend(
                resources
                    .into_iter()
                    .filter(|resource| !is_gone(resource))
                    .map(|resource| format!("{kind} {}", resource.id)),
            ),
            Err(error) => found.push(format!("{kind} (unreadable: {error})")),
        }
    }
    found
}

/// Terminated instances linger in listings for a while, as on AWS; they are not leftovers.
fn is_gone(resource: &LiveResource) -> bool {
    matches!(
        resource
            .attributes
            .get("state")
            .and_then(|state| state.as_str()),
        Some("terminated" | "shutting-down")
    )
}

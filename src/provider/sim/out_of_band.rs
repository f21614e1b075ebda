//! Changes made behind the engine's back, for drift tests and `cairn sim`: set an attribute,
//! delete a resource, list what exists, reset the cloud, store fault settings and outages,
//! and set the cloud's clock.
//!
//! Promise: these go through the same lock and atomic save as API calls, but they are not API
//! calls: they are not written to the call log and ignore injected faults and outages.
//! Deleting applies the same dependency checks as the API (as a change in the AWS console
//! would).

use super::autoscaling;
use super::call_log;
use super::cloud::Cloud;
use super::error::SimError;
use super::faults::FaultSettings;
use super::operations::{self, Context};
use super::store::Store;
use crate::model::regions;
use crate::model::{Kind, TAG_ADDRESS, Tags, Value};
use crate::provider::LiveResource;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// An administrative handle on a simulated cloud file.
#[derive(Debug, Clone)]
pub struct SimCloud {
    store: Store,
}

/// What exists in the cloud, per region and kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    /// Region → kind → resources in id order.
    pub regions: BTreeMap<String, BTreeMap<Kind, Vec<InventoryItem>>>,
    /// Regions in a stored outage.
    pub outages: BTreeSet<String>,
    /// Stored fault settings.
    pub faults: FaultSettings,
    /// Number of API calls made so far.
    pub calls: u64,
    /// The time the clock stands at, when it was set (see [`SimCloud::set_clock`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<DateTime<Utc>>,
}

/// One resource in an [`Inventory`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryItem {
    pub id: String,
    /// The `cairn:address` tag, if Cairn created it.
    pub address: Option<String>,
    /// The attributes that identify it at a glance (cidr, zone, state, sizes, …).
    pub attributes: BTreeMap<String, Value>,
    pub tags: Tags,
}

impl SimCloud {
    /// A handle on the cloud stored at `path` (which need not exist yet).
    ///
    /// # Errors
    /// [`SimError::Corrupt`] or [`SimError::Io`] when an existing file cannot be read.
    pub fn open(path: &Path) -> Result<SimCloud, SimError> {
        let store = Store::new(path);
        store.peek()?;
        Ok(SimCloud { store })
    }

    /// The cloud file.
    pub fn path(&self) -> &Path {
        self.store.path()
    }

    fn change<T>(
        &self,
        change: impl FnOnce(&mut Cloud) -> Result<T, SimError>,
    ) -> Result<T, SimError> {
        let locked = self.store.lock()?;
        let mut cloud = locked.load()?;
        let out = change(&mut cloud)?;
        locked.save(cloud)?;
        Ok(out)
    }

    /// The region holding `id`.
    fn locate(cloud: &Cloud, id: &str) -> Result<String, SimError> {
        let mut found = cloud.regions_with(id);
        match found.len() {
            0 => Err(SimError::UnknownId { id: id.to_string() }),
            1 => Ok(found.remove(0)),
            _ => Err(SimError::AmbiguousId {
                id: id.to_string(),
                regions: found,
            }),
        }
    }

    /// Sets `attribute` of resource `id` to `value` (`null` removes it), or replaces its tags
    /// when `attribute` is `tags`. Changing an autoscaling group's size makes it launch or
    /// terminate instances, as a console change would.
    ///
    /// # Errors
    /// [`SimError::UnknownId`], [`SimError::AmbiguousId`], or [`SimError::InvalidAttribute`] for
    /// `id`, computed lists, or tags that are not an object of strings.
    pub fn set_attribute(&self, id: &str, attribute: &str, value: Value) -> Result<(), SimError> {
        self.change(|cloud| {
            let region = Self::locate(cloud, id)?;
            let Some(resource) = cloud.region_mut(&region).resources.get_mut(id) else {
                return Err(SimError::UnknownId { id: id.to_string() });
            };
            let kind = resource.kind;
            let refuse = |reason: &str| SimError::InvalidAttribute {
                kind,
                id: id.to_string(),
                attribute: attribute.to_string(),
                reason: reason.to_string(),
            };
            match attribute {
                "id" => return Err(refuse("the id is assigned by the cloud")),
                "instances" if kind == Kind::AutoscalingGroup => {
                    return Err(refuse(
                        "the group's instances are derived; set `desired` or delete an instance",
                    ));
                }
                "tags" => {
                    let tags: Tags = serde_json::from_value(value)
                        .map_err(|_| refuse("tags must be an object of strings"))?;
                    resource.tags = tags;
                }
                _ if value.is_null() => {
                    resource.attributes.remove(attribute);
                }
                _ => {
                    resource.attributes.insert(attribute.to_string(), value);
                }
            }
            if kind == Kind::AutoscalingGroup {
                // A group that cannot reach its new size stays short, as in AWS.
                let _short = console_action(cloud, &region, |draft, context| {
                    autoscaling::reconcile(draft, context, id)
                });
            }
            Ok(())
        })
    }

    /// Deletes resource `id` with the API's dependency checks (a group takes its instances).
    ///
    /// # Errors
    /// [`SimError::UnknownId`], [`SimError::AmbiguousId`], or [`SimError::Refused`] with the
    /// API's refusal (`DependencyViolation`, …).
    pub fn delete(&self, id: &str) -> Result<(), SimError> {
        self.change(|cloud| {
            let region = Self::locate(cloud, id)?;
            let kind = cloud
                .region(&region)
                .and_then(|state| state.resources.get(id))
                .map(|resource| resource.kind)
                .ok_or_else(|| SimError::UnknownId { id: id.to_string() })?;
            console_action(cloud, &region, |draft, context| {
                operations::delete(draft, context, kind, id)
            })?;
            Ok(())
        })
    }

    /// The resource `id` wherever it is, as the API would report it.
    ///
    /// # Errors
    /// [`SimError::AmbiguousId`] or a file error.
    pub fn resource(&self, id: &str) -> Result<Option<LiveResource>, SimError> {
        let cloud = self.store.peek()?.unwrap_or_default();
        let regions = cloud.regions_with(id);
        if regions.len() > 1 {
            return Err(SimError::AmbiguousId {
                id: id.to_string(),
                regions,
            });
        }
        Ok(regions.first().and_then(|region| {
            let resource = cloud.region(region)?.resources.get(id)?;
            Some(operations::live(&cloud, region, resource))
        }))
    }

    /// Everything that exists, per region and kind.
    ///
    /// # Errors
    /// A file error.
    pub fn inventory(&self) -> Result<Inventory, SimError> {
        let cloud = self.store.peek()?.unwrap_or_default();
        let mut regions = BTreeMap::new();
        for (region, state) in &cloud.regions {
            let mut kinds: BTreeMap<Kind, Vec<InventoryItem>> = BTreeMap::new();
            for resource in state.resources.values() {
                let live = operations::live(&cloud, region, resource);
                let attributes = key_attributes(resource.kind)
                    .iter()
                    .filter_map(|name| {
                        Some((name.to_string(), live.attributes.get(*name)?.clone()))
                    })
                    .collect();
                kinds.entry(resource.kind).or_default().push(InventoryItem {
                    id: resource.id.clone(),
                    address: resource.tags.get(TAG_ADDRESS).cloned(),
                    attributes,
                    tags: resource.tags.clone(),
                });
            }
            if !kinds.is_empty() {
                regions.insert(region.clone(), kinds);
            }
        }
        Ok(Inventory {
            regions,
            outages: cloud.outages.clone(),
            faults: cloud.faults.clone(),
            calls: cloud.sequence,
            clock: cloud.clock,
        })
    }

    /// Empties the cloud and its call log: no resources, tokens, faults or outages.
    ///
    /// # Errors
    /// A file error.
    pub fn reset(&self) -> Result<(), SimError> {
        let locked = self.store.lock()?;
        // Loading first keeps the promise that a corrupt file is never overwritten silently.
        locked.load()?;
        locked.save(Cloud::default())?;
        locked.clear_calls()
    }

    /// The stored fault settings.
    ///
    /// # Errors
    /// A file error.
    pub fn faults(&self) -> Result<FaultSettings, SimError> {
        Ok(self.store.peek()?.unwrap_or_default().faults)
    }

    /// Stores fault settings that every later call of every process applies (environment
    /// variables still win).
    ///
    /// # Errors
    /// [`SimError::InvalidFault`] for a rate outside 0..=1, or a file error.
    pub fn set_faults(&self, settings: FaultSettings) -> Result<(), SimError> {
        settings.validate()?;
        self.change(|cloud| {
            cloud.faults = settings;
            Ok(())
        })
    }

    /// Starts (`down = true`) or ends a stored outage of `region`.
    ///
    /// # Errors
    /// [`SimError::UnknownRegion`], or a file error.
    pub fn set_outage(&self, region: &str, down: bool) -> Result<(), SimError> {
        if !regions::is_region(region) {
            return Err(SimError::UnknownRegion {
                region: region.to_string(),
            });
        }
        self.change(|cloud| {
            if down {
                cloud.outages.insert(region.to_string());
            } else {
                cloud.outages.remove(region);
            }
            Ok(())
        })
    }

    /// The time the cloud's clock stands at, `None` when it follows the wall clock.
    ///
    /// # Errors
    /// A file error.
    pub fn clock(&self) -> Result<Option<DateTime<Utc>>, SimError> {
        Ok(self.store.peek()?.unwrap_or_default().clock)
    }

    /// Sets the cloud's clock to `time`, where it stays until set again (`None`: back to the
    /// wall clock). Every later call of every process sees it: snapshots start at it, and
    /// backup windows and RPOs are measured against it. Returns what the clock says now.
    ///
    /// # Errors
    /// A file error.
    pub fn set_clock(&self, time: Option<DateTime<Utc>>) -> Result<DateTime<Utc>, SimError> {
        self.change(|cloud| {
            cloud.clock = time;
            Ok(cloud.now())
        })
    }

    /// Moves the cloud's clock `by` forward from what it says now (the wall clock's time when
    /// it follows the wall clock), and stops it there. Returns the new time.
    ///
    /// # Errors
    /// [`SimError::InvalidClock`] when the time would be out of range; a file error.
    pub fn advance_clock(&self, by: std::time::Duration) -> Result<DateTime<Utc>, SimError> {
        self.change(|cloud| {
            let now = cloud.now();
            let later = chrono::Duration::from_std(by)
                .ok()
                .and_then(|by| now.checked_add_signed(by))
                .ok_or_else(|| SimError::InvalidClock {
                    reason: format!(
                        "{now} plus {} is out of range",
                        humantime::format_duration(by)
                    ),
                })?;
            cloud.clock = Some(later);
            Ok(later)
        })
    }

    /// Every API call recorded for this cloud.
    ///
    /// # Errors
    /// As [`call_log::read_call_log`].
    pub fn calls(&self) -> Result<Vec<call_log::CallRecord>, SimError> {
        call_log::read_call_log(self.store.path())
    }
}

/// The attributes `cairn sim show` prints for a kind.
fn key_attributes(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Network => &["cidr"],
        Kind::Subnet => &["network_id", "zone", "cidr", "public"],
        Kind::InternetGateway => &["network_id"],
        Kind::RouteTable => &["network_id", "subnet_ids"],
        Kind::SecurityGroup => &["name", "network_id"],
        Kind::LaunchTemplate => &["name", "image", "instance_type", "latest_version"],
        Kind::AutoscalingGroup => &["min", "desired", "max", "launch_template_version"],
        Kind::ScalingPolicy => &["group_name", "target_cpu"],
        Kind::Volume => &["zone", "size_gb", "encrypted", "snapshot_id"],
        Kind::Instance => &["subnet_id", "state", "private_ip"],
        Kind::Snapshot => &[
            "volume_id",
            "source_region",
            "source_snapshot_id",
            "size_gb",
            "state",
        ],
    }
}

/// Runs an API operation as a console action in `region` would (no region is out): on a
/// draft of the cloud, which replaces the cloud only when the operation succeeds, so a refused
/// action changes nothing.
fn console_action<T, E>(
    cloud: &mut Cloud,
    region: &str,
    operation: impl FnOnce(&mut Cloud, &Context) -> Result<T, E>,
) -> Result<T, E> {
    let outages = BTreeSet::new();
    let context = Context {
        region,
        sequence: cloud.sequence,
        now: cloud.now(),
        wall_clock: chrono::Utc::now(),
        outages: &outages,
        read_lag: chrono::TimeDelta::zero(),
    };
    let mut draft = cloud.clone();
    let result = operation(&mut draft, &context)?;
    *cloud = draft;
    Ok(result)
}

//! Changes made behind the engine's back, for drift tests and `cairn sim`: set an attribute,
//! delete a resource, list what exists, reset the cloud, store fault settings and outages,
//! force an alarm's state, make instances fail their health checks, and set a group's load.
//! and set the cloud's clock.
//!
//! Promise: these go through the same lock and atomic save as API calls, but they are not API
//! calls: they are not written to the call log and ignore injected faults and outages.
//! Deleting applies the same dependency checks as the API (as a change in the AWS console
//! would).

use super::autoscaling;
use super::call_log;
use super::cloud::{Cloud, Resource};
use super::dns;
use super::error::SimError;
use super::faults::FaultSettings;
use super::load_balancing::{self, INSTANCE_HEALTH};
use super::monitoring;
use super::operations::{self, Context};
use super::store::Store;
use crate::model::regions;
use crate::model::{Kind, TAG_ADDRESS, Tags, Value};
use crate::provider::{LiveResource, QuotaName};
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
    /// Images whose instances fail their health checks.
    #[serde(default)]
    pub unhealthy_images: BTreeSet<String>,
    /// Stored fault settings.
    pub faults: FaultSettings,
    /// Number of API calls made so far.
    pub calls: u64,
    /// Region → images taken out of it (`cairn sim image --missing-in`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub missing_images: BTreeMap<String, BTreeSet<String>>,
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
        // A change may move a metric: alarms forced before it see it.
        let regions: Vec<String> = cloud.regions.keys().cloned().collect();
        for region in regions {
            monitoring::settle(&mut cloud, &region);
        }
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
            let Some(mut resource) = cloud.region_mut(&region).get_mut(id) else {
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
            // Filed again under what it has become before anything else looks at the region.
            drop(resource);
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
                .and_then(|state| state.get(id))
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
            let resource = cloud.region(region)?.get(id)?;
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
            for resource in state.resources().values() {
                let live = operations::live(&cloud, region, resource);
                let mut attributes: BTreeMap<String, Value> = key_attributes(resource.kind)
                    .iter()
                    .filter_map(|name| {
                        Some((name.to_string(), live.attributes.get(*name)?.clone()))
                    })
                    .collect();
                attributes.extend(observed(&cloud, region, resource));
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
            unhealthy_images: cloud.unhealthy_images.clone(),
            missing_images: cloud.missing_images.clone(),
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

    /// Forces the state of every alarm `name` names (see [`alarm_matches`]) to `state`
    /// (`OK` or `ALARM`), as SetAlarmState does: until its metric says otherwise. Returns the
    /// alarms forced, as `region/name`.
    ///
    /// # Errors
    /// [`SimError::UnknownAlarm`] when no alarm matches, or a file error.
    pub fn force_alarm(&self, name: &str, state: &str) -> Result<Vec<String>, SimError> {
        self.change(|cloud| {
            let matched: Vec<(String, String)> = cloud
                .regions
                .iter()
                .flat_map(|(region, resources)| {
                    resources
                        .of_kind(Kind::Alarm)
                        .filter(|resource| alarm_matches(resource, name))
                        .map(|alarm| (region.clone(), alarm.id.clone()))
                })
                .collect();
            if matched.is_empty() {
                return Err(SimError::UnknownAlarm {
                    name: name.to_string(),
                });
            }
            for (region, id) in &matched {
                monitoring::force(cloud, region, id, state)?;
            }
            Ok(matched
                .into_iter()
                .map(|(region, id)| format!("{region}/{id}"))
                .collect())
        })
    }

    /// Makes instances fail their health checks (`healthy = false`) or pass them again:
    /// `target` is an instance id (that instance alone), or else an image id (every
    /// instance launched from it, now and later).
    ///
    /// # Errors
    /// [`SimError::MalformedImage`] for a target that is neither an instance nor an image id
    /// shaped as AWS takes one (an image marked by an older build can still be cleared), or
    /// a file error.
    pub fn set_health(&self, target: &str, healthy: bool) -> Result<HealthTarget, SimError> {
        self.change(|cloud| {
            let regions = cloud.regions_with(target);
            let instance_region = regions
                .into_iter()
                .find(|region| cloud.find(region, Kind::Instance, target).is_some());
            if let Some(region) = instance_region
                && let Some(mut instance) = cloud.find_mut(&region, Kind::Instance, target)
            {
                let health = if healthy {
                    load_balancing::HEALTHY
                } else {
                    load_balancing::UNHEALTHY
                };
                instance
                    .internal
                    .insert(INSTANCE_HEALTH.to_string(), Value::from(health));
                return Ok(HealthTarget::Instance);
            }
            // Not an instance: an image, shaped as validate takes one, unless it is the
            // marking of an older build being cleared.
            let clears_recorded = healthy && cloud.unhealthy_images.contains(target);
            if !clears_recorded {
                check_image(target)?;
            }
            if healthy {
                cloud.unhealthy_images.remove(target);
            } else {
                cloud.unhealthy_images.insert(target.to_string());
            }
            Ok(HealthTarget::Image)
        })
    }

    /// Takes `image` out of `region` (`present = false`: instances can no longer be launched
    /// from it there, as an AMI id of another region) or registers it there again (as a
    /// CopyImage would).
    ///
    /// # Errors
    /// [`SimError::MalformedImage`] for an image id not shaped as AWS takes one (as
    /// `cairn validate` refuses it; one an older build marked missing can still be marked
    /// present), [`SimError::UnknownRegion`] for a region AWS does not have.
    pub fn set_image(&self, image: &str, region: &str, present: bool) -> Result<(), SimError> {
        if !regions::is_region(region) {
            return Err(SimError::UnknownRegion {
                region: region.to_string(),
            });
        }
        self.change(|cloud| {
            let missing = cloud.missing_images.entry(region.to_string()).or_default();
            // An id an older build marked missing can still be cleared, whatever its shape.
            if !(present && missing.contains(image)) {
                check_image(image)?;
            }
            if present {
                missing.remove(image);
            } else {
                missing.insert(image.to_string());
            }
            cloud.missing_images.retain(|_, images| !images.is_empty());
            Ok(())
        })
    }

    /// Sets the limit of quota `name` in `region` (`None`: back to unlimited, or AWS's
    /// default under `CAIRN_SIM_PROFILE=aws`): creates past it are refused with AWS's codes.
    /// Returns the limits stored for the region afterwards.
    ///
    /// # Errors
    /// [`SimError::UnknownRegion`] for a region AWS does not have, or a file error.
    pub fn set_quota(
        &self,
        region: &str,
        name: QuotaName,
        limit: Option<u64>,
    ) -> Result<BTreeMap<QuotaName, u64>, SimError> {
        if !regions::is_region(region) {
            return Err(SimError::UnknownRegion {
                region: region.to_string(),
            });
        }
        self.change(|cloud| {
            let quotas = cloud.quotas.entry(region.to_string()).or_default();
            match limit {
                Some(limit) => quotas.insert(name, limit),
                None => quotas.remove(&name),
            };
            let now = quotas.clone();
            cloud.quotas.retain(|_, quotas| !quotas.is_empty());
            Ok(now)
        })
    }

    /// The quota limits stored for `region` by [`SimCloud::set_quota`].
    ///
    /// # Errors
    /// A file error.
    pub fn quotas(&self, region: &str) -> Result<BTreeMap<QuotaName, u64>, SimError> {
        Ok(self
            .store
            .peek()?
            .unwrap_or_default()
            .quotas
            .get(region)
            .cloned()
            .unwrap_or_default())
    }

    /// Sets the simulated average CPU of autoscaling group `name` (in every region that has
    /// one), which its `CPUUtilization` alarms follow.
    ///
    /// # Errors
    /// [`SimError::UnknownId`] when no group has that name, [`SimError::InvalidLoad`] outside
    /// 0 to 100, or a file error.
    pub fn set_load(&self, name: &str, percent: f64) -> Result<(), SimError> {
        if !(0.0..=100.0).contains(&percent) {
            return Err(SimError::InvalidLoad { percent });
        }
        self.change(|cloud| {
            let regions = cloud.regions_with(name);
            let mut found = false;
            for region in regions {
                if let Some(mut group) = cloud.find_mut(&region, Kind::AutoscalingGroup, name) {
                    group
                        .internal
                        .insert(monitoring::GROUP_LOAD.to_string(), Value::from(percent));
                    found = true;
                }
            }
            if found {
                Ok(())
            } else {
                Err(SimError::UnknownId {
                    id: name.to_string(),
                })
            }
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
            move_clock(cloud, time);
            Ok(cloud.now())
        })
    }

    /// Moves the cloud's clock `by` from what it says now (the wall clock's time when it
    /// follows the wall clock; back in time when `by` is negative, as `set_clock` may), and
    /// stops it there. Returns the new time.
    ///
    /// # Errors
    /// [`SimError::InvalidClock`] when the time would be out of range; a file error.
    pub fn advance_clock(&self, by: chrono::Duration) -> Result<DateTime<Utc>, SimError> {
        self.change(|cloud| {
            let now = cloud.now();
            let later = now
                .checked_add_signed(by)
                .ok_or_else(|| SimError::InvalidClock {
                    reason: format!("{now} moved by {by} is out of range"),
                })?;
            move_clock(cloud, Some(later));
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

/// Refuses an image id `cairn validate` refuses: marking an image no configuration can name
/// (`ubuntu`) would change nothing a run does, and say nothing of the typo.
///
/// # Errors
/// [`SimError::MalformedImage`] with the reason.
fn check_image(image: &str) -> Result<(), SimError> {
    crate::model::limits::check_image_id(image)
        .map_err(|reason| SimError::MalformedImage { reason })
}

/// What `cairn sim unhealthy|healthy` marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthTarget {
    Instance,
    Image,
}

/// Whether `name` names `alarm`: its cloud name, or its block (`cpu_high`, `alarm.cpu_high`,
/// or inside a module `module.web.alarm.cpu_high`).
fn alarm_matches(alarm: &Resource, name: &str) -> bool {
    let block = alarm.tags.get(TAG_ADDRESS).map(|address| {
        crate::model::Address::new(address.clone())
            .block_path()
            .to_string()
    });
    alarm.id == name
        || block.is_some_and(|block| {
            block == name
                || block == format!("alarm.{name}")
                || block.ends_with(&format!(".alarm.{name}"))
        })
}

/// What the cloud observes of a resource beyond its attributes, for `cairn sim show`: the
/// health of a target group's targets, whether a health check passes, which record answers
/// for its name and in which region its load balancer is.
fn observed(cloud: &Cloud, region: &str, resource: &Resource) -> BTreeMap<String, Value> {
    let outages = &cloud.outages;
    match resource.kind {
        Kind::TargetGroup => BTreeMap::from([(
            "targets".to_string(),
            Value::from(
                load_balancing::targets(cloud, region, &resource.id)
                    .into_iter()
                    .map(|(id, health)| format!("{id}:{health}"))
                    .collect::<Vec<_>>(),
            ),
        )]),
        Kind::DnsHealthCheck => BTreeMap::from([(
            "healthy".to_string(),
            Value::from(dns::check_is_healthy(cloud, outages, resource)),
        )]),
        Kind::DnsRecord => {
            let target = resource
                .attributes
                .get("alias")
                .and_then(|alias| alias.get("dns_name"))
                .and_then(Value::as_str)
                .and_then(|name| load_balancing::balancer_named(cloud, name))
                .map(|(balancer_region, _)| balancer_region.to_string());
            BTreeMap::from([
                (
                    "region".to_string(),
                    target.map_or(Value::Null, Value::from),
                ),
                (
                    "answering".to_string(),
                    Value::from(dns::answering(cloud, outages, region, resource)),
                ),
            ])
        }
        _ => BTreeMap::new(),
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
        Kind::LoadBalancer => &["name", "dns_name"],
        Kind::TargetGroup => &["name", "port"],
        Kind::Listener => &["port", "protocol", "forward"],
        Kind::Alarm => &["metric", "comparison", "threshold", "state"],
        Kind::DnsZone => &["name"],
        Kind::DnsHealthCheck => &["target", "port", "path"],
        Kind::DnsRecord => &["name", "failover"],
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
        // What a console action starts completes at once; the profile is the API's.
        timings: crate::model::timings::Timings::INSTANT,
    };
    cloud.attempt(|cloud| operation(cloud, &context))
}

/// Sets the cloud's clock to `time` (`None`: the wall clock). A clock moved back also empties
/// the API rate buckets' record: their calls were counted on the later timeline, and kept they
/// would throttle every call until the clock caught up with them again.
fn move_clock(cloud: &mut Cloud, time: Option<DateTime<Utc>>) {
    let before = cloud.now();
    cloud.clock = time;
    if cloud.now() < before {
        cloud.rate_buckets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::{Cloud, move_clock};
    use chrono::{TimeZone, Utc};

    #[test]
    fn a_clock_moved_back_forgets_the_rate_buckets_and_one_moved_on_keeps_them() {
        let mut cloud = Cloud::default();
        let noon = Utc.with_ymd_and_hms(2030, 1, 1, 12, 0, 0).unwrap();
        move_clock(&mut cloud, Some(noon));
        cloud
            .rate_buckets
            .insert("us-east-1/ec2_mutate".to_string(), Default::default());
        move_clock(&mut cloud, Some(noon + chrono::Duration::hours(1)));
        assert_eq!(cloud.rate_buckets.len(), 1);
        move_clock(&mut cloud, Some(noon - chrono::Duration::hours(5)));
        assert!(cloud.rate_buckets.is_empty());
    }
}

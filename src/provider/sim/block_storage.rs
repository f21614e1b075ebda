//! Block storage: volumes and snapshots, including cross-region snapshot copies and volumes
//! restored from a snapshot.
//!
//! AWS rules kept: a volume lives in a zone of the request's region, is 1–16384 GiB and only
//! grows; a volume restored from a snapshot uses a snapshot of its own region and is at least
//! the snapshot's size; a snapshot records the size of its volume; a copy is made in the
//! request's region from a snapshot of `source_region`.
//!
//! Lifecycle: with the instant profile a snapshot or copy is `completed` at once (as on moto).
//! With a timing profile it is `pending` with a `progress` percentage until its time has come
//! on the cloud's clock (scaled by size, see
//! [`Timings`](crate::model::timings::Timings)), and, as on AWS, a pending snapshot
//! can neither be copied nor restored (`IncorrectState`).

use super::attributes;
use super::cloud::{Cloud, Resource};
use super::error::api;
use super::network::replace_attributes;
use super::operations::Context;
use crate::model::{Attributes, Kind, Tags, Value};
use crate::model::{limits, regions};
use crate::provider::ProviderError;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

/// Internal key: the size of a volume restored from a snapshot without an explicit size.
const RESTORED_SIZE: &str = "size_gb";
/// Internal key: whether a snapshot's data is encrypted.
const ENCRYPTED: &str = "encrypted";
/// Internal key: when a pending snapshot completes, on the cloud's clock (RFC 3339).
const COMPLETES_AT: &str = "completes_at";
const PENDING: &str = "pending";
const COMPLETED: &str = "completed";

pub fn create_volume(
    cloud: &mut Cloud,
    context: &Context,
    attributes: &Attributes,
    tags: &Tags,
) -> Result<String, ProviderError> {
    let zone = attributes::string(attributes, "zone")?;
    if regions::region_of_zone(zone) != Some(context.region) {
        return Err(api(
            "InvalidParameterValue",
            format!("Invalid availability zone: [{zone}]"),
        ));
    }
    let encrypted = attributes::optional_bool(attributes, "encrypted")?.unwrap_or(false);
    check_volume_type(attributes)?;
    let size = attributes::optional_integer(attributes, "size_gb")?;
    let mut internal = Attributes::new();
    let mut snapshot_encrypted = false;
    let size = match attributes::optional_string(attributes, "snapshot_id")? {
        Some(snapshot_id) => {
            let snapshot = cloud.referenced(context.region, Kind::Snapshot, snapshot_id)?;
            check_completed(snapshot, context)?;
            let snapshot_size = snapshot_size(snapshot);
            snapshot_encrypted = snapshot.internal.get(ENCRYPTED) == Some(&json!(true));
            match size {
                Some(size) if size < snapshot_size => {
                    return Err(api(
                        "InvalidParameterValue",
                        format!(
                            "Volume of size {size}GiB is smaller than snapshot '{snapshot_id}', expect size >= {snapshot_size}GiB"
                        ),
                    ));
                }
                Some(size) => size,
                None => {
                    internal.insert(RESTORED_SIZE.to_string(), json!(snapshot_size));
                    snapshot_size
                }
            }
        }
        None => size.ok_or_else(|| attributes::missing("size_gb"))?,
    };
    check_size(size)?;
    internal.insert(
        ENCRYPTED.to_string(),
        json!(encrypted || snapshot_encrypted),
    );
    let mut volume = cloud.new_resource(Kind::Volume, attributes, tags);
    volume.internal = internal;
    Ok(cloud.add(context.region, volume))
}

pub fn update_volume(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
    after: &Attributes,
) -> Result<(), ProviderError> {
    check_volume_type(after)?;
    let mut volume = cloud.target_mut(context.region, Kind::Volume, id)?;
    let current = volume_size(&volume);
    if let Some(size) = attributes::optional_integer(after, "size_gb")? {
        check_size(size)?;
        if size < current {
            return Err(api(
                "InvalidParameterValue",
                format!("New size {size} cannot be smaller than existing size {current}"),
            ));
        }
        volume.internal.remove(RESTORED_SIZE);
    }
    replace_attributes(&mut volume, after);
    Ok(())
}

pub fn delete_volume(cloud: &mut Cloud, context: &Context, id: &str) -> Result<(), ProviderError> {
    cloud.remove_target(context.region, Kind::Volume, id)
}

pub fn create_snapshot(
    cloud: &mut Cloud,
    context: &Context,
    attributes: &Attributes,
    tags: &Tags,
) -> Result<String, ProviderError> {
    attributes::optional_string(attributes, "description")?;
    let copying = attributes.contains_key("source_snapshot_id");
    let (size, encrypted) = match attributes::optional_string(attributes, "source_snapshot_id")? {
        Some(source_id) => {
            let source_region = attributes::string(attributes, "source_region")?;
            if !regions::is_region(source_region) {
                return Err(api(
                    "InvalidParameterValue",
                    format!("Value ({source_region}) for parameter sourceRegion is invalid."),
                ));
            }
            if context.outages.contains(source_region) {
                return Err(ProviderError::RegionUnavailable {
                    region: source_region.to_string(),
                    message: format!("cannot copy {source_id}: the source region is unavailable"),
                });
            }
            let source = cloud.referenced(source_region, Kind::Snapshot, source_id)?;
            check_completed(source, context)?;
            (
                snapshot_size(source),
                source.internal.get(ENCRYPTED) == Some(&json!(true)),
            )
        }
        None => {
            let volume_id = attributes::string(attributes, "volume_id")?;
            let volume = cloud.referenced(context.region, Kind::Volume, volume_id)?;
            (
                volume_size(volume),
                volume.internal.get(ENCRYPTED) == Some(&json!(true)),
            )
        }
    };
    let mut snapshot = cloud.new_resource(Kind::Snapshot, attributes, tags);
    let takes = if copying {
        context.timings.copy(size)
    } else {
        context.timings.snapshot(size)
    };
    match chrono::Duration::from_std(takes)
        .ok()
        .filter(|takes| !takes.is_zero())
        .and_then(|takes| context.now.checked_add_signed(takes))
    {
        Some(completes_at) => {
            set_progress(&mut snapshot, PENDING, "0%");
            snapshot
                .internal
                .insert(COMPLETES_AT.to_string(), json!(rfc3339(&completes_at)));
        }
        None => set_progress(&mut snapshot, COMPLETED, "100%"),
    }
    snapshot
        .attributes
        .insert("size_gb".to_string(), json!(size));
    snapshot
        .attributes
        .insert("started_at".to_string(), json!(rfc3339(&context.now)));
    snapshot
        .internal
        .insert(ENCRYPTED.to_string(), json!(encrypted));
    Ok(cloud.add(context.region, snapshot))
}

pub fn delete_snapshot(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
) -> Result<(), ProviderError> {
    cloud.remove_target(context.region, Kind::Snapshot, id)
}

/// Lets the snapshots and copies of the call's region progress to the cloud's clock: those
/// whose time has come are `completed`, the others report how far they are.
pub fn progress(cloud: &mut Cloud, context: &Context) {
    let Some(state) = cloud.regions.get_mut(context.region) else {
        return;
    };
    // Only the pending snapshots are looked at (the region keeps them apart), and only they are
    // copied out of the maps a draft shares with the cloud it was made from.
    for id in state.pending(Kind::Snapshot) {
        let Some(mut snapshot) = state.get_mut(&id) else {
            continue;
        };
        let time = |value: Option<&Value>| {
            value
                .and_then(Value::as_str)
                .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
                .map(|time| time.with_timezone(&Utc))
        };
        let started = time(snapshot.attributes.get("started_at"));
        let completes = time(snapshot.internal.get(COMPLETES_AT));
        let (Some(started), Some(completes)) = (started, completes) else {
            // Nothing says when it completes: it is not left pending forever.
            set_progress(&mut snapshot, COMPLETED, "100%");
            continue;
        };
        if context.now >= completes {
            set_progress(&mut snapshot, COMPLETED, "100%");
            snapshot.internal.remove(COMPLETES_AT);
        } else {
            let done = (context.now - started).num_seconds().max(0);
            let total = (completes - started).num_seconds().max(1);
            // AWS reports whole percents and never 100% before completion.
            let percent = (done * 100 / total).min(99);
            set_progress(&mut snapshot, PENDING, &format!("{percent}%"));
        }
    }
}

/// Sets a snapshot's `state` and `progress`, as DescribeSnapshots reports them.
fn set_progress(snapshot: &mut Resource, state: &str, progress: &str) {
    snapshot
        .attributes
        .insert("state".to_string(), json!(state));
    snapshot
        .attributes
        .insert("progress".to_string(), json!(progress));
}

/// AWS refuses to copy or restore a snapshot that is not completed yet. The source of a copy
/// lives in another region, whose progress this call did not advance: its completion time
/// decides, not its stored state.
fn check_completed(snapshot: &Resource, context: &Context) -> Result<(), ProviderError> {
    let completes = snapshot
        .internal
        .get(COMPLETES_AT)
        .and_then(Value::as_str)
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok());
    let pending = snapshot.text("state") == Some(PENDING)
        && completes.is_none_or(|completes| context.now < completes);
    if !pending {
        return Ok(());
    }
    Err(api(
        "IncorrectState",
        format!(
            "Snapshot '{}' is in invalid state - {PENDING} ({})",
            snapshot.id,
            snapshot.text("progress").unwrap_or("0%")
        ),
    ))
}

fn rfc3339(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A volume's size: asked, or taken from the snapshot it was restored from.
fn volume_size(volume: &Resource) -> i64 {
    volume
        .attributes
        .get("size_gb")
        .or_else(|| volume.internal.get(RESTORED_SIZE))
        .and_then(attributes::as_integer)
        .unwrap_or_default()
}

fn snapshot_size(snapshot: &Resource) -> i64 {
    snapshot
        .attributes
        .get("size_gb")
        .and_then(attributes::as_integer)
        .unwrap_or_default()
}

fn check_size(size: i64) -> Result<(), ProviderError> {
    if limits::VOLUME_SIZE_GB.contains(&u64::try_from(size).unwrap_or(0)) {
        Ok(())
    } else {
        Err(api(
            "InvalidParameterValue",
            format!("Volume of {size}GiB is out of the range 1-16384"),
        ))
    }
}

fn check_volume_type(attributes: &Attributes) -> Result<(), ProviderError> {
    match attributes::optional_string(attributes, "volume_type")? {
        Some(kind) if limits::check_volume_type(kind).is_err() => Err(attributes::invalid(
            "volume_type",
            &Value::String(kind.to_string()),
            "expected one of gp2, gp3, io1, io2, st1, sc1, standard",
        )),
        _ => Ok(()),
    }
}

//! The backup catalog: snapshots a backup policy made, recognised by their tags, read per
//! region in one batched call, and the newest copy of each volume.
//!
//! Snapshots carry the environment's ownership tags `cairn:stack` and `cairn:env` (so a batched
//! read finds them) but no `cairn:address`: they are not resources of the configuration, and a
//! plan's refresh must never adopt or delete them.

use super::DrError;
use crate::model::{Address, Kind, Owner, Tags};
use crate::provider::{LiveResource, Provider};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Tag: the backup policy that made the snapshot.
pub const TAG_POLICY: &str = "cairn:backup-policy";
/// Tag: the address of the volume the snapshot is of.
pub const TAG_SOURCE_ADDRESS: &str = "cairn:source-address";
/// Tag: when the backup run took the snapshot (RFC 3339); a copy keeps its source's time.
pub const TAG_TAKEN_AT: &str = "cairn:taken-at";
/// Tag on a cross-region copy: the id of the snapshot it copies.
pub const TAG_COPY_OF: &str = "cairn:copy-of";

/// One snapshot made by a backup policy, in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupCopy {
    pub id: String,
    pub region: String,
    pub policy: String,
    pub source_address: Address,
    pub taken_at: DateTime<Utc>,
    /// For a cross-region copy, the snapshot it was copied from.
    pub copy_of: Option<String>,
    pub size_gb: Option<i64>,
}

impl BackupCopy {
    /// The backup a snapshot's tags describe; `None` for snapshots no policy made.
    pub fn from_live(live: &LiveResource) -> Option<BackupCopy> {
        let policy = live.tags.get(TAG_POLICY)?;
        let source_address = live.tags.get(TAG_SOURCE_ADDRESS)?;
        let taken_at = DateTime::parse_from_rfc3339(live.tags.get(TAG_TAKEN_AT)?).ok()?;
        Some(BackupCopy {
            id: live.id.clone(),
            region: live.region.clone(),
            policy: policy.clone(),
            source_address: Address::new(source_address.as_str()),
            taken_at: taken_at.with_timezone(&Utc),
            copy_of: live.tags.get(TAG_COPY_OF).cloned(),
            size_gb: live
                .attributes
                .get("size_gb")
                .and_then(|size| size.as_i64()),
        })
    }

    /// Whether this snapshot is a copy made in another region than its volume's.
    pub fn is_copy(&self) -> bool {
        self.copy_of.is_some()
    }

    /// The tags a backup snapshot carries.
    pub fn tags(owner: &Owner, policy: &str, source: &Address, taken_at: &DateTime<Utc>) -> Tags {
        Tags::from([
            (crate::model::TAG_STACK.to_string(), owner.stack.clone()),
            (crate::model::TAG_ENV.to_string(), owner.env.clone()),
            (TAG_POLICY.to_string(), policy.to_string()),
            (TAG_SOURCE_ADDRESS.to_string(), source.to_string()),
            (TAG_TAKEN_AT.to_string(), rfc3339(taken_at)),
        ])
    }
}

/// A time as the tags and reports write it: RFC 3339, seconds, `Z`.
pub fn rfc3339(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The backups of one region, newest first, or why the region could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct RegionListing {
    pub region: String,
    pub copies: Vec<BackupCopy>,
    /// Set when the region could not be read (an outage).
    pub error: Option<String>,
}

/// Every backup snapshot `owner` has in `region`, newest first (ties by id).
///
/// # Errors
/// [`DrError::Provider`] when the region cannot be read.
pub async fn read_region(
    provider: &dyn Provider,
    owner: &Owner,
    region: &str,
) -> Result<Vec<BackupCopy>, DrError> {
    let live = provider
        .read(region, Kind::Snapshot, owner)
        .await
        .map_err(|source| DrError::provider("list snapshots", region, source))?;
    let mut copies: Vec<BackupCopy> = live.iter().filter_map(BackupCopy::from_live).collect();
    sort_newest_first(&mut copies);
    Ok(copies)
}

/// Newest first; equal times by id, so the order is deterministic.
pub fn sort_newest_first(copies: &mut [BackupCopy]) {
    copies.sort_by(|left, right| {
        right
            .taken_at
            .cmp(&left.taken_at)
            .then_with(|| left.id.cmp(&right.id))
    });
}

/// The newest backup of each volume among `copies`, keyed by the volume's block path
/// (`volume.data`), which stays the same when the environment is redeployed in another
/// region.
pub fn newest_by_block(copies: &[BackupCopy]) -> BTreeMap<String, BackupCopy> {
    let mut newest: BTreeMap<String, BackupCopy> = BTreeMap::new();
    for copy in copies {
        let key = copy.source_address.block_path().to_string();
        match newest.get(&key) {
            Some(found) if (found.taken_at, &found.id) >= (copy.taken_at, &copy.id) => {}
            _ => {
                newest.insert(key, copy.clone());
            }
        }
    }
    newest
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn copy(id: &str, address: &str, hour: u32) -> BackupCopy {
        BackupCopy {
            id: id.to_string(),
            region: "us-west-2".to_string(),
            policy: "daily".to_string(),
            source_address: Address::new(address),
            taken_at: Utc.with_ymd_and_hms(2025, 1, 1, hour, 0, 0).unwrap(),
            copy_of: Some("snap-source".to_string()),
            size_gb: Some(10),
        }
    }

    #[test]
    fn newest_copy_per_volume_block() {
        let copies = vec![
            copy("snap-a", "volume.data[us-east-1]", 1),
            copy("snap-b", "volume.data[us-east-1]", 3),
            copy("snap-c", "volume.logs[us-east-1]", 2),
        ];
        let newest = newest_by_block(&copies);
        assert_eq!(newest.len(), 2);
        assert_eq!(newest["volume.data"].id, "snap-b");
        assert_eq!(newest["volume.logs"].id, "snap-c");
    }

    #[test]
    fn tags_round_trip_through_a_live_snapshot() {
        let owner = Owner {
            stack: "webapp".to_string(),
            env: "production".to_string(),
        };
        let taken_at = Utc.with_ymd_and_hms(2025, 1, 1, 5, 0, 0).unwrap();
        let address = Address::new("volume.data[us-east-1]");
        let live = LiveResource {
            kind: Kind::Snapshot,
            region: "us-east-1".to_string(),
            id: "snap-1".to_string(),
            attributes: [("size_gb".to_string(), serde_json::json!(100))].into(),
            tags: BackupCopy::tags(&owner, "daily", &address, &taken_at),
        };
        let parsed = BackupCopy::from_live(&live);
        assert_eq!(
            parsed.map(|copy| (
                copy.policy,
                copy.source_address,
                copy.taken_at,
                copy.size_gb
            )),
            Some(("daily".to_string(), address, taken_at, Some(100)))
        );
        assert!(owner.owns(&live.tags));
        assert!(!live.tags.contains_key(crate::model::TAG_ADDRESS));
    }
}

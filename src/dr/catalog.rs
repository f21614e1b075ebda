//! The backup catalog: snapshots a backup policy made, recognised by their tags, read per
//! region in one batched call, and the newest copy of each volume.
//!
//! Snapshots carry the environment's ownership tags `cairn:stack` and `cairn:env` (so a batched
//! read finds them) but no `cairn:address`: they are not resources of the configuration, and a
//! plan's refresh must never adopt or delete them.
//!
//! A backup's time is the cloud's own: a snapshot's start time as the cloud reports it (the
//! moment its data was frozen), never Cairn's clock. A cross-region copy has a start time of
//! its own (when the copy began, later than its data), so it carries its source's start time
//! in a tag, written from what the cloud reported for the source: a drill reads only the DR
//! region, where the source is not, and must still know how old the data is.

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
/// Tag on a cross-region copy: the id of the snapshot it copies.
pub const TAG_COPY_OF: &str = "cairn:copy-of";
/// Tag on a cross-region copy: the start time the cloud reported for the snapshot it copies
/// (RFC 3339), which is how old the copy's data is.
pub const TAG_SOURCE_STARTED_AT: &str = "cairn:source-started-at";

/// One snapshot made by a backup policy, in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupCopy {
    pub id: String,
    pub region: String,
    pub policy: String,
    pub source_address: Address,
    /// When the data was frozen, by the cloud's clock: the snapshot's start time, or for a
    /// copy its source's.
    pub taken_at: DateTime<Utc>,
    /// For a cross-region copy, the snapshot it was copied from.
    pub copy_of: Option<String>,
    pub size_gb: Option<i64>,
    /// While the snapshot is not completed yet, how far it is (`35%`); `None` once it is
    /// (or when the cloud does not say: moto completes snapshots at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
}

/// A backup copy a restore passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedCopy {
    pub id: String,
    pub source_address: Address,
    pub taken_at: DateTime<Utc>,
    pub reason: String,
}

/// What a redeploy in one region can restore from: the newest completed copy of each data
/// volume's block, and the newer copies it passed over.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Restorable {
    /// By block path (`volume.data`).
    pub newest: BTreeMap<String, BackupCopy>,
    /// Copies newer than the one chosen for their block (or of a block with none to choose)
    /// that cannot be restored yet.
    pub skipped: Vec<SkippedCopy>,
}

/// The copies among `copies` a restore may use (AWS refuses to restore a pending snapshot):
/// the newest completed one of each block, and every newer one skipped with its reason.
pub fn restorable(copies: &[BackupCopy]) -> Restorable {
    let completed: Vec<BackupCopy> = copies
        .iter()
        .filter(|copy| copy.pending.is_none())
        .cloned()
        .collect();
    let newest = newest_by_block(&completed);
    let mut skipped: Vec<SkippedCopy> = copies
        .iter()
        .filter_map(|copy| {
            let progress = copy.pending.as_ref()?;
            let chosen = newest.get(copy.source_address.block_path());
            if chosen
                .is_some_and(|chosen| (chosen.taken_at, &chosen.id) > (copy.taken_at, &copy.id))
            {
                return None;
            }
            Some(SkippedCopy {
                id: copy.id.clone(),
                source_address: copy.source_address.clone(),
                taken_at: copy.taken_at,
                reason: format!(
                    "pending ({progress}): a snapshot cannot be restored before it completes"
                ),
            })
        })
        .collect();
    skipped.sort_by(|left, right| left.id.cmp(&right.id));
    Restorable { newest, skipped }
}

impl BackupCopy {
    /// The backup a snapshot's tags describe; `None` for snapshots no policy made, or whose
    /// start time the cloud does not report.
    pub fn from_live(live: &LiveResource) -> Option<BackupCopy> {
        let policy = live.tags.get(TAG_POLICY)?;
        let source_address = live.tags.get(TAG_SOURCE_ADDRESS)?;
        let own_start = live
            .attributes
            .get("started_at")
            .and_then(|time| time.as_str());
        // A copy made before its source's time was recorded counts from its own start, which
        // is later: its data is then reported younger than it is, never older.
        let started_at = live
            .tags
            .get(TAG_SOURCE_STARTED_AT)
            .map(String::as_str)
            .filter(|_| live.tags.contains_key(TAG_COPY_OF))
            .or(own_start)?;
        let taken_at = DateTime::parse_from_rfc3339(started_at).ok()?;
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
            pending: pending(live),
        })
    }

    /// Whether the snapshot can be copied or restored.
    pub fn is_completed(&self) -> bool {
        self.pending.is_none()
    }

    /// Whether this snapshot is a copy made in another region than its volume's.
    pub fn is_copy(&self) -> bool {
        self.copy_of.is_some()
    }

    /// The tags a backup snapshot of the volume at `source` carries.
    pub fn tags(owner: &Owner, policy: &str, source: &Address) -> Tags {
        Tags::from([
            (crate::model::TAG_STACK.to_string(), owner.stack.clone()),
            (crate::model::TAG_ENV.to_string(), owner.env.clone()),
            (TAG_POLICY.to_string(), policy.to_string()),
            (TAG_SOURCE_ADDRESS.to_string(), source.to_string()),
        ])
    }

    /// The tags a cross-region copy of this snapshot carries: the snapshot's own, what it
    /// copies, and when that was taken.
    pub fn copy_tags(&self, owner: &Owner) -> Tags {
        let mut tags = BackupCopy::tags(owner, &self.policy, &self.source_address);
        tags.insert(TAG_COPY_OF.to_string(), self.id.clone());
        tags.insert(TAG_SOURCE_STARTED_AT.to_string(), rfc3339(&self.taken_at));
        tags
    }
}

/// How far a snapshot the cloud reports `pending` is; `None` for any other state.
pub fn pending(live: &LiveResource) -> Option<String> {
    let state = live
        .attributes
        .get("state")
        .and_then(|state| state.as_str());
    (state == Some("pending")).then(|| {
        live.attributes
            .get("progress")
            .and_then(|progress| progress.as_str())
            .unwrap_or("0%")
            .to_string()
    })
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
            pending: None,
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
    fn a_restore_takes_the_newest_completed_copy_and_says_which_newer_ones_it_skipped() {
        let mut pending = copy("snap-new", "volume.data[us-east-1]", 5);
        pending.pending = Some("40%".to_string());
        let mut only_pending = copy("snap-logs", "volume.logs[us-east-1]", 5);
        only_pending.pending = Some("10%".to_string());
        let copies = vec![
            pending,
            copy("snap-old", "volume.data[us-east-1]", 1),
            only_pending,
        ];
        let restorable = restorable(&copies);
        assert_eq!(restorable.newest.len(), 1);
        assert_eq!(restorable.newest["volume.data"].id, "snap-old");
        let skipped: Vec<(&str, &str)> = restorable
            .skipped
            .iter()
            .map(|skipped| (skipped.id.as_str(), skipped.reason.as_str()))
            .collect();
        assert_eq!(
            skipped,
            vec![
                (
                    "snap-logs",
                    "pending (10%): a snapshot cannot be restored before it completes"
                ),
                (
                    "snap-new",
                    "pending (40%): a snapshot cannot be restored before it completes"
                ),
            ]
        );
    }

    fn snapshot(id: &str, started_at: &str, tags: Tags) -> LiveResource {
        LiveResource {
            kind: Kind::Snapshot,
            region: "us-east-1".to_string(),
            id: id.to_string(),
            attributes: [
                ("size_gb".to_string(), serde_json::json!(100)),
                ("started_at".to_string(), serde_json::json!(started_at)),
            ]
            .into(),
            tags,
        }
    }

    /// Issue 16: backup times came from Cairn's own `cairn:taken-at` tag.
    #[test]
    fn a_backup_is_as_old_as_the_clouds_start_time_and_a_copy_as_its_source() {
        let owner = Owner {
            stack: "webapp".to_string(),
            env: "production".to_string(),
        };
        let address = Address::new("volume.data[us-east-1]");
        let live = snapshot(
            "snap-1",
            "2025-01-01T05:00:00Z",
            BackupCopy::tags(&owner, "daily", &address),
        );
        let source = BackupCopy::from_live(&live);
        let taken_at = Utc.with_ymd_and_hms(2025, 1, 1, 5, 0, 0).unwrap();
        assert_eq!(
            source.clone().map(|copy| (
                copy.policy,
                copy.source_address,
                copy.taken_at,
                copy.size_gb
            )),
            Some(("daily".to_string(), address, taken_at, Some(100)))
        );
        assert!(owner.owns(&live.tags));
        assert!(!live.tags.contains_key(crate::model::TAG_ADDRESS));

        // The copy started an hour later; its data is the source's.
        let source = source.unwrap();
        let copy = snapshot("snap-2", "2025-01-01T06:00:00Z", source.copy_tags(&owner));
        let copy = BackupCopy::from_live(&copy).unwrap();
        assert_eq!(copy.taken_at, taken_at);
        assert_eq!(copy.copy_of.as_deref(), Some("snap-1"));
        assert!(copy.is_copy());

        // Without its source's time, a copy counts from its own start.
        let mut tags = source.copy_tags(&owner);
        tags.remove(TAG_SOURCE_STARTED_AT);
        let copy = BackupCopy::from_live(&snapshot("snap-3", "2025-01-01T06:00:00Z", tags));
        assert_eq!(
            copy.map(|copy| copy.taken_at),
            Some(Utc.with_ymd_and_hms(2025, 1, 1, 6, 0, 0).unwrap())
        );
        // No start time reported: not a backup the catalog can date.
        let mut undated = live.clone();
        undated.attributes.remove("started_at");
        assert_eq!(BackupCopy::from_live(&undated), None);
    }
}

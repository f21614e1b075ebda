//! Backup policies: run them (snapshot, cross-region copy, retention), list the copies per
//! region, and verify them (restore the newest DR copy into a scratch volume).
//!
//! `ops` loads the stack, reads the state and places the environment (while failed over,
//! `copy_to` points back to the primary); the functions here take that placed expansion and
//! the cloud, and never read or write state.
//!
//! Promises: a run is idempotent within one `every` window (a volume whose newest snapshot,
//! by the cloud's start time and the cloud's clock, is younger than `every` gets no new one,
//! and a snapshot already copied is not copied again);
//! retention keeps the `retain` newest snapshots of each volume in each region and never
//! deletes the newest; creates carry deterministic idempotency tokens so a retried call makes
//! no duplicate; every run is audited, failed ones too.

use super::DrError;
use super::audit::{AuditRecord, AuditSink};
use super::catalog::{self, BackupCopy, RegionListing};
use super::target;
use crate::graph::{BackupPolicySpec, Expansion};
use crate::model::{Address, Attributes, DesiredResource, Kind, Owner};
use crate::provider::{CreateRequest, Provider, ProviderError, TAG_CREATE_TOKEN};
use crate::state::StateDocument;
use crate::util::backoff::Backoff;
use crate::util::errors::error_chain;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// What happened to the snapshot of one volume in its own region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "snapshot_id")]
pub enum SnapshotAction {
    /// A new snapshot was taken.
    Created(String),
    /// The newest snapshot is younger than `every`; nothing was taken.
    Recent(String),
}

/// What happened to the cross-region copy of a volume's newest snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "snapshot_id")]
pub enum CopyAction {
    Created(String),
    /// The newest snapshot had already been copied.
    Existing(String),
}

/// One volume's backup in one run.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeBackup {
    pub policy: String,
    pub address: Address,
    pub region: String,
    /// `None` when the volume was skipped (see `skipped`).
    pub snapshot: Option<SnapshotAction>,
    pub copy_region: Option<String>,
    pub copy: Option<CopyAction>,
    /// Snapshots deleted by retention, as `(region, id)`.
    pub pruned: Vec<(String, String)>,
    /// Why the volume was not backed up (not applied yet).
    pub skipped: Option<String>,
    /// What of this backup is not complete yet (a pending snapshot that could not be copied
    /// yet, a pending copy), for the next run or a `--wait` to finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
}

/// What `cairn backup run` did.
#[derive(Debug, Clone, Serialize)]
pub struct BackupRunReport {
    pub environment: String,
    pub now: DateTime<Utc>,
    pub volumes: Vec<VolumeBackup>,
}

impl BackupRunReport {
    /// Snapshots this run took.
    pub fn taken(&self) -> usize {
        self.volumes
            .iter()
            .filter(|volume| matches!(volume.snapshot, Some(SnapshotAction::Created(_))))
            .count()
    }

    /// Cross-region copies this run made.
    pub fn copied(&self) -> usize {
        self.volumes
            .iter()
            .filter(|volume| matches!(volume.copy, Some(CopyAction::Created(_))))
            .count()
    }

    /// Volumes whose snapshot or copy is not complete yet.
    pub fn pending(&self) -> usize {
        self.volumes
            .iter()
            .filter(|volume| volume.pending.is_some())
            .count()
    }

    /// Snapshots retention deleted, in every region.
    pub fn pruned(&self) -> usize {
        self.volumes.iter().map(|volume| volume.pruned.len()).sum()
    }
}

/// What `cairn backup list` found, per region.
#[derive(Debug, Clone, Serialize)]
pub struct BackupListing {
    pub environment: String,
    pub now: DateTime<Utc>,
    pub regions: Vec<RegionListing>,
}

/// One restore test of `cairn backup verify`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedCopy {
    pub policy: String,
    pub source_address: Address,
    pub region: String,
    pub snapshot_id: String,
    pub taken_at: DateTime<Utc>,
    pub zone: String,
    /// The scratch volume, deleted again.
    pub volume_id: Option<String>,
    pub size_gb: Option<i64>,
    /// `None` when the restore, the check and the clean-up all succeeded.
    pub problem: Option<String>,
}

/// What `cairn backup verify` did.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub environment: String,
    pub now: DateTime<Utc>,
    pub copies: Vec<VerifiedCopy>,
}

impl VerifyReport {
    /// Whether at least one copy was restored and every restore succeeded.
    pub fn succeeded(&self) -> bool {
        !self.copies.is_empty() && self.copies.iter().all(|copy| copy.problem.is_none())
    }
}

/// The ownership of the environment's backups: its own, never a drill's.
fn owner_of(expansion: &Expansion) -> Owner {
    Owner {
        stack: expansion.stack.clone(),
        env: expansion.environment.name.clone(),
    }
}

/// The volumes `policy` selects: named in `volumes`, or carrying every `select` tag.
fn selected_volumes<'a>(
    policy: &BackupPolicySpec,
    expansion: &'a Expansion,
) -> Vec<&'a DesiredResource> {
    expansion
        .resources
        .values()
        .filter(|resource| policy.selects(resource))
        .collect()
}

/// [`DrError::NoPolicies`] when the environment defines no backup policy.
fn with_policies(expansion: &Expansion) -> Result<(), DrError> {
    if expansion.backup_policies.is_empty() {
        return Err(DrError::NoPolicies {
            environment: expansion.environment.name.clone(),
        });
    }
    Ok(())
}

/// Snapshots of one region, read once per operation.
struct RegionCache<'a> {
    provider: &'a dyn Provider,
    owner: &'a Owner,
    regions: BTreeMap<String, Vec<BackupCopy>>,
}

impl RegionCache<'_> {
    async fn copies(&mut self, region: &str) -> Result<&mut Vec<BackupCopy>, DrError> {
        if !self.regions.contains_key(region) {
            let copies = catalog::read_region(self.provider, self.owner, region).await?;
            self.regions.insert(region.to_string(), copies);
        }
        Ok(self.regions.entry(region.to_string()).or_default())
    }
}

/// What a backup run is asked to do, besides what the expansion says.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// "Now" by the cloud's clock ([`Provider::now`]): windows are measured from the cloud's
    /// snapshot start times, so they must be measured to the cloud's time too.
    pub now: DateTime<Utc>,
    /// Take a new snapshot even inside the `every` window (failback wants the newest data).
    pub fresh: bool,
    /// Wait up to this long (on the cloud's clock) for each snapshot to complete before it is
    /// copied and for each copy to complete; `None` records what is pending and leaves it to
    /// the next run (a pending snapshot cannot be copied).
    pub wait: Option<Duration>,
}

/// Runs every backup policy of `expansion` (the environment as placed) once: snapshot, copy,
/// prune. The volumes are those `state` records; the run is appended to the audit log of the
/// stack kept by `audit_log` (the state backend).
///
/// # Errors
/// The environment has no backup policy, or a cloud call fails (what was done before the
/// failure stays done; the next run carries on).
pub async fn run(
    expansion: &Expansion,
    state: &StateDocument,
    provider: &dyn Provider,
    options: RunOptions,
    audit_log: &dyn AuditSink,
) -> Result<BackupRunReport, DrError> {
    with_policies(expansion)?;
    let result = back_up_all(expansion, state, provider, options).await;
    // Every run is audited, failed ones too: the log shows when data was last protected.
    let (outcome, regions) = match &result {
        Ok(report) => {
            let regions: BTreeSet<String> = report
                .volumes
                .iter()
                .flat_map(|volume| std::iter::once(&volume.region).chain(&volume.copy_region))
                .cloned()
                .collect();
            (
                format!(
                    "succeeded: {} snapshots taken, {} copied, {} pending",
                    report.taken(),
                    report.copied(),
                    report.pending()
                ),
                regions,
            )
        }
        Err(error) => (
            format!("failed: {}", error_chain(error)),
            backup_regions(expansion),
        ),
    };
    let record = AuditRecord {
        outcome,
        ..AuditRecord::new(
            options.now,
            "backup run",
            (&expansion.stack, &expansion.environment.name),
            regions.into_iter().collect::<Vec<_>>().join(", "),
            None,
        )
    };
    audit_log.add(record)?;
    result
}

async fn back_up_all(
    expansion: &Expansion,
    state: &StateDocument,
    provider: &dyn Provider,
    options: RunOptions,
) -> Result<BackupRunReport, DrError> {
    let owner = owner_of(expansion);
    let mut cache = RegionCache {
        provider,
        owner: &owner,
        regions: BTreeMap::new(),
    };
    let mut volumes = Vec::new();
    for policy in &expansion.backup_policies {
        for volume in selected_volumes(policy, expansion) {
            let mut backup = VolumeBackup {
                policy: policy.name.clone(),
                address: volume.address.clone(),
                region: volume.region.clone(),
                snapshot: None,
                copy_region: None,
                copy: None,
                pruned: Vec::new(),
                skipped: None,
                pending: None,
            };
            match state.resources.get(&volume.address) {
                Some(recorded) => {
                    back_up_volume(
                        provider,
                        &mut cache,
                        &owner,
                        policy,
                        &recorded.id,
                        options,
                        &mut backup,
                    )
                    .await?;
                }
                None => backup.skipped = Some("not applied yet".to_string()),
            }
            volumes.push(backup);
        }
    }
    Ok(BackupRunReport {
        environment: expansion.environment.name.clone(),
        now: options.now,
        volumes,
    })
}

async fn back_up_volume(
    provider: &dyn Provider,
    cache: &mut RegionCache<'_>,
    owner: &Owner,
    policy: &BackupPolicySpec,
    volume_id: &str,
    options: RunOptions,
    backup: &mut VolumeBackup,
) -> Result<(), DrError> {
    let now = options.now;
    let region = backup.region.clone();
    let address = backup.address.clone();
    let every = chrono::Duration::seconds(i64::try_from(policy.every_seconds).unwrap_or(i64::MAX));
    let of_volume =
        |copy: &BackupCopy| copy.policy == policy.name && copy.source_address == address;

    let recent = cache
        .copies(&region)
        .await?
        .iter()
        .find(|copy| of_volume(copy) && !copy.is_copy())
        .filter(|newest| !options.fresh && newest.taken_at > now - every)
        .cloned();
    let source = match recent {
        Some(newest) => {
            backup.snapshot = Some(SnapshotAction::Recent(newest.id.clone()));
            newest
        }
        None => {
            let tags = BackupCopy::tags(owner, &policy.name, &address);
            let attributes = Attributes::from([
                ("volume_id".to_string(), json!(volume_id)),
                (
                    "description".to_string(),
                    json!(format!("cairn backup `{}` of {address}", policy.name)),
                ),
            ]);
            let created = create(provider, &region, attributes, tags, now, "snapshot").await?;
            backup.snapshot = Some(SnapshotAction::Created(created.id.clone()));
            let copies = cache.copies(&region).await?;
            copies.push(created.clone());
            catalog::sort_newest_first(copies);
            created
        }
    };

    let source = match (source.pending.clone(), options.wait) {
        (None, _) => source,
        (Some(_), Some(timeout)) => {
            let completed = wait_completed(provider, &source, timeout).await?;
            mark_completed(cache.copies(&region).await?, &completed.id);
            completed
        }
        (Some(progress), None) => {
            backup.pending = Some(format!(
                "snapshot `{}` is pending ({progress}); a later run copies it once it completes",
                source.id
            ));
            source
        }
    };

    if let Some(destination) = policy
        .copy_to
        .as_ref()
        .filter(|to| **to != region && source.is_completed())
    {
        backup.copy_region = Some(destination.clone());
        let existing = cache
            .copies(destination)
            .await?
            .iter()
            .find(|copy| of_volume(copy) && copy.copy_of.as_deref() == Some(source.id.as_str()))
            .cloned();
        let copy = match existing {
            Some(copy) => {
                backup.copy = Some(CopyAction::Existing(copy.id.clone()));
                copy
            }
            None => {
                let tags = source.copy_tags(owner);
                let attributes = Attributes::from([
                    ("source_region".to_string(), json!(region)),
                    ("source_snapshot_id".to_string(), json!(source.id)),
                    (
                        "description".to_string(),
                        json!(format!("cairn backup `{}` of {address}", policy.name)),
                    ),
                ]);
                let created = create(provider, destination, attributes, tags, now, "copy").await?;
                backup.copy = Some(CopyAction::Created(created.id.clone()));
                let copies = cache.copies(destination).await?;
                copies.push(created.clone());
                catalog::sort_newest_first(copies);
                created
            }
        };
        match (copy.pending.clone(), options.wait) {
            (None, _) => {}
            (Some(_), Some(timeout)) => {
                let completed = wait_completed(provider, &copy, timeout).await?;
                mark_completed(cache.copies(destination).await?, &completed.id);
            }
            (Some(progress), None) => {
                backup.pending = Some(format!(
                    "copy `{}` in `{destination}` is pending ({progress}); drills and failovers restore from the previous completed copy until it completes",
                    copy.id
                ));
            }
        }
    }

    let keep = usize::try_from(policy.retain.max(1)).unwrap_or(usize::MAX);
    let regions: Vec<String> = std::iter::once(region.clone())
        .chain(backup.copy_region.clone())
        .collect();
    for place in regions {
        let copies = cache.copies(&place).await?;
        let doomed: Vec<String> = copies
            .iter()
            .filter(|copy| of_volume(copy))
            .skip(keep)
            .map(|copy| copy.id.clone())
            .collect();
        for id in doomed {
            match provider.delete(&place, Kind::Snapshot, &id).await {
                Ok(()) | Err(ProviderError::NotFound { .. }) => {}
                Err(source) => {
                    return Err(DrError::provider(
                        format!("delete snapshot `{id}`"),
                        &place,
                        source,
                    ));
                }
            }
            copies.retain(|copy| copy.id != id);
            backup.pruned.push((place.clone(), id));
        }
    }
    Ok(())
}

/// How soon a pending snapshot is looked at again: AWS's own snapshot waiter polls every 15 s.
const COMPLETION_POLL: Duration = Duration::from_secs(1);
const COMPLETION_POLL_CAP: Duration = Duration::from_secs(15);

/// Waits (through [`Provider::wait`], timed on [`Provider::now`], so the simulated cloud's set
/// clock moves instead of the test sleeping) until `snapshot` is completed; returns it so.
///
/// # Errors
/// [`DrError::StillPending`] after `timeout`; [`DrError::Provider`] when it cannot be read.
async fn wait_completed(
    provider: &dyn Provider,
    snapshot: &BackupCopy,
    timeout: Duration,
) -> Result<BackupCopy, DrError> {
    let region = snapshot.region.as_str();
    let failure = |source| {
        DrError::provider(
            format!("wait for snapshot `{}`", snapshot.id),
            region,
            source,
        )
    };
    let started = provider.now().await.map_err(failure)?;
    let polls = Backoff::new(COMPLETION_POLL, COMPLETION_POLL_CAP, None);
    let mut attempt = 0;
    loop {
        let live = provider
            .import(region, Kind::Snapshot, &snapshot.id)
            .await
            .map_err(failure)?;
        let Some(progress) = catalog::pending(&live) else {
            return Ok(BackupCopy {
                pending: None,
                ..snapshot.clone()
            });
        };
        let waited = (provider.now().await.map_err(failure)? - started)
            .to_std()
            .unwrap_or_default();
        if waited >= timeout {
            return Err(DrError::StillPending {
                id: snapshot.id.clone(),
                region: region.to_string(),
                progress,
                waited_seconds: waited.as_secs(),
            });
        }
        attempt += 1;
        provider
            .wait(polls.ceiling(attempt))
            .await
            .map_err(failure)?;
    }
}

/// Notes in a region's cached catalog that snapshot `id` completed.
fn mark_completed(copies: &mut [BackupCopy], id: &str) {
    for copy in copies.iter_mut().filter(|copy| copy.id == id) {
        copy.pending = None;
    }
}

/// Creates a snapshot (or copy) and returns it as a catalog entry. The token is derived from
/// the tags and the run's time, so the same backup asked twice in one run is one snapshot,
/// and the next window's run makes a new one; the snapshot carries it as a tag too.
async fn create(
    provider: &dyn Provider,
    region: &str,
    attributes: Attributes,
    tags: crate::model::Tags,
    now: DateTime<Utc>,
    what: &str,
) -> Result<BackupCopy, DrError> {
    let token_source = format!("{region}|{tags:?}|{}", catalog::rfc3339(&now));
    let token = format!(
        "cairn-backup-{:016x}",
        crate::util::hash::stable_hash(token_source.as_bytes())
    );
    // Every window's snapshot of a volume carries the same tags but this one: it is what a
    // create whose answer was lost is looked for by before it is sent again (AWS's
    // CreateSnapshot takes no token of its own).
    let mut tags = tags;
    tags.insert(TAG_CREATE_TOKEN.to_string(), token.clone());
    let request = CreateRequest {
        kind: Kind::Snapshot,
        region: region.to_string(),
        attributes,
        tags,
        token,
    };
    let live = provider
        .create(&request)
        .await
        .map_err(|source| DrError::provider(format!("create a backup {what}"), region, source))?;
    let mut live = live;
    // The create answer carries the tags we sent; the catalog reads them back the same way.
    live.tags.extend(request.tags);
    BackupCopy::from_live(&live).ok_or_else(|| {
        DrError::provider(
            format!("create a backup {what}"),
            region,
            ProviderError::Api {
                code: "InternalError".to_string(),
                message: "the created snapshot lost its backup tags".to_string(),
            },
        )
    })
}

/// The regions a policy's snapshots live in: its volumes' regions and `copy_to`.
fn backup_regions(expansion: &Expansion) -> BTreeSet<String> {
    expansion
        .backup_policies
        .iter()
        .flat_map(|policy| {
            selected_volumes(policy, expansion)
                .into_iter()
                .map(|volume| volume.region.clone())
                .chain(policy.copy_to.clone())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Lists the backup snapshots of `expansion`'s environment in every region its policies use;
/// a region that cannot be read is listed with its error rather than failing the listing.
///
/// # Errors
/// The environment has no backup policy.
pub async fn list(
    expansion: &Expansion,
    provider: &dyn Provider,
    now: DateTime<Utc>,
) -> Result<BackupListing, DrError> {
    with_policies(expansion)?;
    let owner = owner_of(expansion);
    let mut regions = Vec::new();
    for region in backup_regions(expansion) {
        let listing = match catalog::read_region(provider, &owner, &region).await {
            Ok(copies) => RegionListing {
                region,
                copies,
                error: None,
            },
            Err(error) => RegionListing {
                region,
                copies: Vec::new(),
                error: Some(error_chain(&error)),
            },
        };
        regions.push(listing);
    }
    Ok(BackupListing {
        environment: expansion.environment.name.clone(),
        now,
        regions,
    })
}

/// Restores the newest copy of every backed-up volume in its policy's `copy_to` region (or
/// the DR region) into a scratch volume in the zone that stands for the volume's own, checks
/// it, and deletes it again.
///
/// # Errors
/// The environment has no backup policy, or a region's copies or zones cannot be listed. A
/// failed restore is reported in the returned report instead.
pub async fn verify(
    expansion: &Expansion,
    provider: &dyn Provider,
    now: DateTime<Utc>,
) -> Result<VerifyReport, DrError> {
    with_policies(expansion)?;
    let owner = owner_of(expansion);
    let scratch_owner = Owner {
        stack: owner.stack.clone(),
        env: format!("{}-verify", owner.env),
    };
    let environment = &expansion.environment;
    let mut copies = Vec::new();
    for policy in &expansion.backup_policies {
        let Some(region) = policy
            .copy_to
            .clone()
            .or_else(|| environment.dr.as_ref().map(|dr| dr.region.clone()))
        else {
            continue;
        };
        let found = catalog::read_region(provider, &owner, &region).await?;
        let of_policy: Vec<BackupCopy> = found
            .into_iter()
            .filter(|copy| copy.policy == policy.name)
            .collect();
        let newest = catalog::restorable(&of_policy).newest;
        if newest.is_empty() {
            continue;
        }
        let target = target::zones_of(environment, &region, provider).await?;
        for newest in newest.into_values() {
            let zone_in_primary = expansion
                .resources
                .get(&newest.source_address)
                .and_then(|volume| volume.attributes.get("zone"))
                .and_then(|zone| zone.as_str());
            let zone = target
                .zone_for(environment, zone_in_primary)
                .map_or_else(|| format!("{region}a"), str::to_string);
            copies.push(restore_and_check(provider, &scratch_owner, &newest, &region, zone).await);
        }
    }
    Ok(VerifyReport {
        environment: environment.name.clone(),
        now,
        copies,
    })
}

async fn restore_and_check(
    provider: &dyn Provider,
    owner: &Owner,
    copy: &BackupCopy,
    region: &str,
    zone: String,
) -> VerifiedCopy {
    let mut verified = VerifiedCopy {
        policy: copy.policy.clone(),
        source_address: copy.source_address.clone(),
        region: region.to_string(),
        snapshot_id: copy.id.clone(),
        taken_at: copy.taken_at,
        zone: zone.clone(),
        volume_id: None,
        size_gb: None,
        problem: None,
    };
    let mut attributes = Attributes::from([
        ("zone".to_string(), json!(zone)),
        ("snapshot_id".to_string(), json!(copy.id)),
    ]);
    if let Some(size) = copy.size_gb {
        attributes.insert("size_gb".to_string(), json!(size));
    }
    let scratch = Address::new(format!(
        "backup-verify.{}",
        copy.source_address.block_path()
    ));
    let request = CreateRequest {
        kind: Kind::Volume,
        region: region.to_string(),
        attributes,
        tags: owner.tags_for(&scratch),
        token: String::new(),
    };
    let volume = match provider.create(&request).await {
        Ok(volume) => volume,
        Err(error) => {
            verified.problem = Some(format!("restore failed: {}", error_chain(&error)));
            return verified;
        }
    };
    verified.volume_id = Some(volume.id.clone());
    // Read it back as a separate call: the check is what the cloud reports, not what we sent.
    match provider.import(region, Kind::Volume, &volume.id).await {
        Ok(found) => {
            verified.size_gb = found
                .attributes
                .get("size_gb")
                .and_then(|size| size.as_i64());
            let restored_from = found
                .attributes
                .get("snapshot_id")
                .and_then(|id| id.as_str());
            if restored_from != Some(copy.id.as_str()) {
                verified.problem = Some(format!(
                    "the scratch volume reports snapshot {restored_from:?}, not `{}`",
                    copy.id
                ));
            } else if verified
                .size_gb
                .is_some_and(|size| copy.size_gb.is_some_and(|want| size < want))
            {
                verified.problem =
                    Some("the scratch volume is smaller than the snapshot".to_string());
            }
        }
        Err(error) => verified.problem = Some(format!("check failed: {}", error_chain(&error))),
    }
    if let Err(error) = provider.delete(region, Kind::Volume, &volume.id).await {
        let cleanup = format!(
            "the scratch volume `{}` could not be deleted: {}",
            volume.id,
            error_chain(&error)
        );
        verified.problem = Some(match verified.problem.take() {
            Some(problem) => format!("{problem}; {cleanup}"),
            None => cleanup,
        });
    }
    verified
}

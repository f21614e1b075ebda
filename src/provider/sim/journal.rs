//! The cloud file's journal: what each batch of calls changed, appended as one JSON line to
//! `<cloud file>.journal` instead of rewriting the whole cloud, so a call costs what it
//! changed, not the size of the cloud (issue 14).
//!
//! Promises:
//! - A line holds the cloud's small fields whole (sequence, id counter, faults, clock, …) and,
//!   of its large maps (each region's resources, the idempotency tokens), only the entries
//!   that changed, each with its new value or as removed. Replaying the lines in order over the
//!   cloud file gives the cloud as the last batch left it.
//! - A line belongs to one version of the cloud file: the file carries an `epoch`, drawn anew
//!   each time the whole cloud is written, and a line names the epoch it applies to. Lines of
//!   another epoch are skipped, so a crash between writing a new cloud file and removing the
//!   old journal replays nothing twice.
//! - A last line cut short (the machine stopped mid-write) is ignored as never written; any
//!   other line that does not parse is corruption, reported, never skipped.

use super::cloud::{Cloud, Resource, TokenRecord};
use super::error::SimError;
use super::region::Text;
use imbl::OrdMap;
use imbl::ordmap::DiffItem;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The journal of the cloud file at `cloud_file`.
pub fn journal_path(cloud_file: &Path) -> PathBuf {
    let mut name = cloud_file
        .file_name()
        .map(|name| name.to_os_string())
        .unwrap_or_default();
    name.push(".journal");
    cloud_file.with_file_name(name)
}

/// What one batch changed.
#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    /// The epoch of the cloud file this line applies to.
    epoch: u64,
    /// The cloud after the batch, without its regions' resources and its tokens.
    head: Cloud,
    /// Region → resource id → the resource now, or `None` when it was removed.
    resources: BTreeMap<String, BTreeMap<Text, Option<Arc<Resource>>>>,
    create_tokens: BTreeMap<String, Option<TokenRecord>>,
    update_tokens: BTreeMap<String, Option<TokenRecord>>,
}

impl Entry {
    /// What turns `before` into `after`. The diffs skip what the two still share, so this
    /// costs about what changed.
    pub fn between(before: &Cloud, after: &Cloud) -> Entry {
        let empty = OrdMap::new();
        let mut resources = BTreeMap::new();
        for (region, state) in &after.regions {
            let old = before
                .regions
                .get(region)
                .map_or(&empty, |state| state.resources());
            let changes = changes(old, state.resources());
            if !changes.is_empty() {
                resources.insert(region.clone(), changes);
            }
        }
        for (region, state) in &before.regions {
            if !after.regions.contains_key(region) {
                let removed = state
                    .resources()
                    .keys()
                    .map(|id| (id.clone(), None))
                    .collect();
                resources.insert(region.clone(), removed);
            }
        }
        Entry {
            epoch: before.epoch,
            head: head(after),
            resources,
            create_tokens: changes(&before.create_tokens, &after.create_tokens),
            update_tokens: changes(&before.update_tokens, &after.update_tokens),
        }
    }

    /// Applies this line to `cloud` if it belongs to its epoch; says whether it did.
    pub fn apply(self, cloud: &mut Cloud) -> bool {
        if self.epoch != cloud.epoch {
            return false;
        }
        let regions = std::mem::take(&mut cloud.regions);
        let create_tokens = std::mem::take(&mut cloud.create_tokens);
        let update_tokens = std::mem::take(&mut cloud.update_tokens);
        *cloud = self.head;
        cloud.epoch = self.epoch;
        cloud.regions = regions;
        cloud.create_tokens = replay(create_tokens, self.create_tokens);
        cloud.update_tokens = replay(update_tokens, self.update_tokens);
        for (region, changes) in self.resources {
            let state = cloud.region_mut(&region);
            for (id, resource) in changes {
                match resource {
                    Some(resource) => state.insert(resource),
                    None => {
                        state.remove(&id);
                    }
                }
            }
        }
        true
    }
}

/// The cloud without its large maps: what a line holds whole.
fn head(cloud: &Cloud) -> Cloud {
    let mut head = cloud.clone();
    head.regions = BTreeMap::new();
    head.create_tokens = OrdMap::new();
    head.update_tokens = OrdMap::new();
    head
}

fn changes<K: Ord + Clone, V: Clone + PartialEq>(
    before: &OrdMap<K, V>,
    after: &OrdMap<K, V>,
) -> BTreeMap<K, Option<V>> {
    before
        .diff(after)
        .map(|item| match item {
            DiffItem::Add(key, value)
            | DiffItem::Update {
                new: (key, value), ..
            } => (key.clone(), Some(value.clone())),
            DiffItem::Remove(key, _) => (key.clone(), None),
        })
        .collect()
}

fn replay<V: Clone>(
    mut map: OrdMap<String, V>,
    changes: BTreeMap<String, Option<V>>,
) -> OrdMap<String, V> {
    for (key, value) in changes {
        match value {
            Some(value) => {
                map.insert(key, value);
            }
            None => {
                map.remove(&key);
            }
        }
    }
    map
}

/// Replays the journal `text` (read from `path`) over `cloud`.
///
/// # Errors
/// [`SimError::CorruptJournal`] for a line that does not parse and is not the last.
pub fn replay_text(cloud: &mut Cloud, text: &[u8], path: &Path) -> Result<(), SimError> {
    let lines: Vec<&[u8]> = text
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
        .collect();
    let complete = text.ends_with(b"\n");
    for (index, line) in lines.iter().enumerate() {
        match serde_json::from_slice::<Entry>(line) {
            Ok(entry) => {
                entry.apply(cloud);
            }
            // Cut short by a stop mid-write: never completed, so never acknowledged.
            Err(_) if index + 1 == lines.len() && !complete => break,
            Err(source) => {
                return Err(SimError::CorruptJournal {
                    path: path.to_path_buf(),
                    line: index + 1,
                    source,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attributes, Kind, Tags};

    fn volume(cloud: &mut Cloud, size: u64) -> String {
        let mut attributes = Attributes::new();
        attributes.insert("size_gb".to_string(), size.into());
        let resource = cloud.new_resource(Kind::Volume, &attributes, &Tags::new());
        cloud.add("us-east-1", resource)
    }

    #[test]
    fn replaying_the_changes_of_a_batch_gives_the_cloud_after_it()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut before = Cloud::default();
        let kept = volume(&mut before, 1);
        let removed = volume(&mut before, 2);
        let changed = volume(&mut before, 3);
        let mut after = before.clone();
        after.sequence = 9;
        after.remove("us-east-1", &removed);
        if let Some(mut resource) = after.find_mut("us-east-1", Kind::Volume, &changed) {
            resource.attributes.insert("size_gb".to_string(), 30.into());
        }
        volume(&mut after, 4);
        after.region_mut("eu-west-1");
        after.create_tokens.insert(
            "token".to_string(),
            TokenRecord {
                region: "us-east-1".to_string(),
                kind: Kind::Volume,
                id: kept.clone(),
            },
        );

        let entry = Entry::between(&before, &after);
        assert_eq!(entry.resources["us-east-1"].len(), 3, "{entry:?}");
        let line = serde_json::to_vec(&entry)?;
        let mut replayed = before.clone();
        assert!(serde_json::from_slice::<Entry>(&line)?.apply(&mut replayed));
        // An empty region is as good as none: nothing in the cloud tells them apart.
        replayed.region_mut("eu-west-1");
        assert_eq!(replayed, after);
        Ok(())
    }

    #[test]
    fn a_line_of_another_epoch_is_skipped() -> Result<(), Box<dyn std::error::Error>> {
        let before = Cloud::default();
        let mut after = before.clone();
        volume(&mut after, 1);
        let line = serde_json::to_vec(&Entry::between(&before, &after))?;
        let mut rewritten = before.clone();
        rewritten.epoch = before.epoch.wrapping_add(1);
        let unchanged = rewritten.clone();
        assert!(!serde_json::from_slice::<Entry>(&line)?.apply(&mut rewritten));
        assert_eq!(rewritten, unchanged);
        Ok(())
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_a_torn_middle_line_is_corruption()
    -> Result<(), Box<dyn std::error::Error>> {
        let before = Cloud::default();
        let mut after = before.clone();
        volume(&mut after, 1);
        let mut text = serde_json::to_vec(&Entry::between(&before, &after))?;
        text.push(b'\n');
        let mut torn = text.clone();
        torn.extend_from_slice(b"{\"epoch\":");
        let mut replayed = before.clone();
        replay_text(&mut replayed, &torn, Path::new("cloud.json.journal"))?;
        assert_eq!(replayed, after);

        let mut corrupt = b"{\"epoch\":\n".to_vec();
        corrupt.extend_from_slice(&text);
        let mut replayed = before.clone();
        let result = replay_text(&mut replayed, &corrupt, Path::new("cloud.json.journal"));
        assert!(
            matches!(result, Err(SimError::CorruptJournal { line: 1, .. })),
            "{result:?}"
        );
        Ok(())
    }
}

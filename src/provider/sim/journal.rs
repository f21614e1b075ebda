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

use super::cloud::{Cloud, Resource, TokenRecord, TokenUse};
use super::error::SimError;
use super::region::Text;
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
    /// What `cloud` changed since it was last saved or read (see [`Cloud::saved`]): the
    /// resources and tokens it noted as changed, each as it is now, so this costs what
    /// changed, not the size of the cloud.
    pub fn unsaved(cloud: &Cloud) -> Entry {
        let mut resources = BTreeMap::new();
        for (region, state) in &cloud.regions {
            let changes: BTreeMap<Text, Option<Arc<Resource>>> = state
                .unsaved()
                .map(|(id, resource)| (id.clone(), resource.cloned()))
                .collect();
            if !changes.is_empty() {
                resources.insert(region.clone(), changes);
            }
        }
        let mut create_tokens = BTreeMap::new();
        let mut update_tokens = BTreeMap::new();
        for (token_use, token, record) in cloud.unsaved_tokens() {
            let tokens = match token_use {
                TokenUse::Create => &mut create_tokens,
                TokenUse::Update => &mut update_tokens,
            };
            tokens.insert(token.clone(), record.cloned());
        }
        Entry {
            epoch: cloud.epoch,
            head: cloud.head(),
            resources,
            create_tokens,
            update_tokens,
        }
    }

    /// Applies this line to `cloud` if it belongs to its epoch; says whether it did.
    pub fn apply(self, cloud: &mut Cloud) -> bool {
        if self.epoch != cloud.epoch {
            return false;
        }
        cloud.set_head(self.head);
        for (token, record) in self.create_tokens {
            cloud.replay_token(TokenUse::Create, token, record);
        }
        for (token, record) in self.update_tokens {
            cloud.replay_token(TokenUse::Update, token, record);
        }
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
    // The cloud is now as its files hold it.
    cloud.saved();
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
        // As loaded: what changes from here is what the line holds.
        before.saved();
        let mut after = before.clone();
        after.sequence = 9;
        after.remove("us-east-1", &removed);
        if let Some(mut resource) = after.find_mut("us-east-1", Kind::Volume, &changed) {
            resource.attributes.insert("size_gb".to_string(), 30.into());
        }
        volume(&mut after, 4);
        after.region_mut("eu-west-1");
        after.record_token(
            TokenUse::Create,
            "token",
            TokenRecord {
                region: "us-east-1".to_string(),
                kind: Kind::Volume,
                id: kept.clone(),
            },
        );

        let entry = Entry::unsaved(&after);
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
        let line = serde_json::to_vec(&Entry::unsaved(&after))?;
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
        let mut text = serde_json::to_vec(&Entry::unsaved(&after))?;
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

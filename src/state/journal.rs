//! The state journal: during an apply, each save appends what the batch of completed steps
//! changed (the entries at their addresses, and the deposed objects) as one fsynced line to
//! `<env>.json.journal`, instead of rewriting the whole state, so an apply costs what it
//! changes, not resources × batches (issue 14). The whole document is written again, and the
//! journal removed, at the end of the run and by the first save of the next run after a
//! crash; a load in between replays the journal.
//!
//! Promises:
//! - A line that was appended is on disk (fsync) before the save returns: every completed
//!   change survives a crash, as with a whole write.
//! - A line applies to the state of its lineage whose serial is below its own: lines older
//!   than the state file (a stop between writing the state whole and removing the journal)
//!   are skipped, so nothing is replayed twice.
//! - A last line cut short (the machine stopped mid-write) is ignored as never saved; any
//!   other line that does not parse is corruption, reported, never skipped.

use super::{StateDocument, StateError, StateResource};
use crate::model::Address;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The journal beside the state file at `state_path`.
pub fn journal_path(state_path: &Path) -> PathBuf {
    let mut name = state_path
        .file_name()
        .map(|name| name.to_os_string())
        .unwrap_or_default();
    name.push(".journal");
    state_path.with_file_name(name)
}

/// What one save changed.
#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    lineage: String,
    serial: u64,
    /// Address → the entry now, or `None` when it was removed.
    resources: BTreeMap<Address, Option<StateResource>>,
    /// The deposed objects, whole (few, and changed by any replacement).
    deposed: Vec<StateResource>,
}

impl Entry {
    /// The line for `document`, of which only the entries at `changed` and the deposed
    /// objects differ from the version saved before.
    pub fn of(document: &StateDocument, changed: &BTreeSet<Address>) -> Entry {
        Entry {
            lineage: document.lineage.clone(),
            serial: document.serial,
            resources: changed
                .iter()
                .map(|address| (address.clone(), document.resources.get(address).cloned()))
                .collect(),
            deposed: document.deposed.clone(),
        }
    }

    /// Applies this line to `document` when it follows it; says whether it did.
    fn apply(self, document: &mut StateDocument) -> bool {
        if self.lineage != document.lineage || self.serial <= document.serial {
            return false;
        }
        document.serial = self.serial;
        for (address, entry) in self.resources {
            match entry {
                Some(entry) => {
                    document.resources.insert(address, entry);
                }
                None => {
                    document.resources.remove(&address);
                }
            }
        }
        document.deposed = self.deposed;
        true
    }
}

/// Replays the journal `text`, read from `path`, over `document`; says whether any line
/// applied (the journal then holds changes the state file lacks).
///
/// # Errors
/// [`StateError::CorruptJournal`] for a line that does not parse and is not the last.
pub fn replay(document: &mut StateDocument, text: &[u8], path: &Path) -> Result<bool, StateError> {
    let lines: Vec<&[u8]> = text
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
        .collect();
    let complete = text.ends_with(b"\n");
    let mut applied = false;
    for (index, line) in lines.iter().enumerate() {
        match serde_json::from_slice::<Entry>(line) {
            Ok(entry) => applied |= entry.apply(document),
            // Cut short by a stop mid-write: the save never returned, so nothing relied on it.
            Err(_) if index + 1 == lines.len() && !complete => break,
            Err(source) => {
                return Err(StateError::CorruptJournal {
                    path: path.to_path_buf(),
                    line: index + 1,
                    source,
                });
            }
        }
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn entry(address: &str, id: &str) -> StateResource {
        StateResource {
            address: Address::new(address),
            kind: Kind::Volume,
            region: "us-east-1".to_string(),
            id: id.to_string(),
            attributes: Default::default(),
            tags: Default::default(),
            dependencies: Default::default(),
            lifecycle: Default::default(),
            sensitive: Default::default(),
        }
    }

    fn line(document: &StateDocument, changed: &[&str]) -> Result<Vec<u8>, serde_json::Error> {
        let changed = changed
            .iter()
            .map(|address| Address::new(*address))
            .collect();
        let mut line = serde_json::to_vec(&Entry::of(document, &changed))?;
        line.push(b'\n');
        Ok(line)
    }

    #[test]
    fn replaying_the_lines_gives_the_last_saved_document() -> Result<(), Box<dyn std::error::Error>>
    {
        let mut saved = StateDocument::new("shop", "dev");
        saved.serial = 3;
        saved
            .resources
            .insert(Address::new("volume.a"), entry("volume.a", "vol-1"));
        let mut document = saved.clone();

        let mut text = Vec::new();
        document.serial = 4;
        document
            .resources
            .insert(Address::new("volume.b"), entry("volume.b", "vol-2"));
        text.extend(line(&document, &["volume.b"])?);
        document.serial = 5;
        document.resources.remove(&Address::new("volume.a"));
        document.deposed.push(entry("volume.b", "vol-0"));
        text.extend(line(&document, &["volume.a"])?);

        let mut replayed = saved.clone();
        assert!(replay(&mut replayed, &text, Path::new("dev.json.journal"))?);
        assert_eq!(replayed, document);
        Ok(())
    }

    #[test]
    fn lines_the_state_file_already_holds_or_of_another_lineage_are_skipped()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut document = StateDocument::new("shop", "dev");
        document.serial = 4;
        document
            .resources
            .insert(Address::new("volume.a"), entry("volume.a", "vol-1"));
        let old = line(&document, &["volume.a"])?;
        let foreign = line(&StateDocument::new("shop", "dev"), &["volume.a"])?;

        let mut written_whole = StateDocument {
            serial: 4,
            ..document.clone()
        };
        written_whole.resources.clear();
        let before = written_whole.clone();
        let text = [old, foreign].concat();
        assert!(!replay(
            &mut written_whole,
            &text,
            Path::new("dev.json.journal")
        )?);
        assert_eq!(written_whole, before);
        Ok(())
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_a_torn_middle_line_is_corruption()
    -> Result<(), Box<dyn std::error::Error>> {
        let saved = StateDocument::new("shop", "dev");
        let mut document = saved.clone();
        document.serial = 1;
        document
            .resources
            .insert(Address::new("volume.a"), entry("volume.a", "vol-1"));
        let complete = line(&document, &["volume.a"])?;

        let torn = [complete.clone(), b"{\"lineage\":".to_vec()].concat();
        let mut replayed = saved.clone();
        replay(&mut replayed, &torn, Path::new("dev.json.journal"))?;
        assert_eq!(replayed, document);

        let corrupt = [b"{\"lineage\":\n".to_vec(), complete].concat();
        let mut replayed = saved.clone();
        let result = replay(&mut replayed, &corrupt, Path::new("dev.json.journal"));
        assert!(
            matches!(result, Err(StateError::CorruptJournal { line: 1, .. })),
            "{result:?}"
        );
        Ok(())
    }
}

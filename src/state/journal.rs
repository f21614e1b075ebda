//! The state journal: during an apply, each save appends what the batch of completed steps
//! changed (the entries at their addresses, and every other field of the document that differs
//! from the last save: intents, deposed objects, rollouts, …) as one fsynced line to
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

use super::document::TemplateVersions;
use super::{StateDocument, StateError, StateResource};
use crate::model::Address;
use imbl::ordmap::DiffItem;
use serde::{Deserialize, Serialize};
use serde_json::Value;
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

/// Every field of a state document but its resources (journaled by address), lineage and
/// serial (in every line), by name, as JSON, and its template versions (journaled by
/// template): what a save compares with the last one to journal what changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rest {
    fields: BTreeMap<&'static str, Value>,
    /// A copy of the template versions, which shares the map's nodes with the document's.
    template_versions: TemplateVersions,
}

/// Writes [`Rest::of`] and [`put`] for the listed fields. `Rest::of` names every field of
/// [`StateDocument`], so one added to the document and missing here does not compile: no
/// part of the state can be left out of the journal.
macro_rules! rest_fields {
    ($($field:ident),* $(,)?) => {
        impl Rest {
            /// The fields of `document` other than its resources, lineage and serial.
            ///
            /// # Errors
            /// A field that does not serialize.
            pub fn of(document: &StateDocument) -> Result<Rest, serde_json::Error> {
                let StateDocument {
                    lineage: _,
                    serial: _,
                    resources: _,
                    template_versions,
                    $($field),*
                } = document;
                let mut fields = BTreeMap::new();
                $(fields.insert(stringify!($field), serde_json::to_value($field)?);)*
                Ok(Rest {
                    fields,
                    template_versions: template_versions.clone(),
                })
            }
        }

        /// Sets the field `name` of `document` to `value`.
        fn put(document: &mut StateDocument, name: &str, value: Value) -> Result<(), serde_json::Error> {
            match name {
                $(stringify!($field) => document.$field = serde_json::from_value(value)?,)*
                // Whole, as lines written before they were journaled by template hold them.
                "template_versions" => document.template_versions = serde_json::from_value(value)?,
                _ => {
                    return Err(<serde_json::Error as serde::de::Error>::custom(format!(
                        "unknown state field `{name}`"
                    )));
                }
            }
            Ok(())
        }
    };
}

rest_fields!(
    format_version,
    stack,
    environment,
    deposed,
    outputs,
    failover,
    restores,
    history,
    intents,
    changed_at,
    rollouts,
    rolled_back,
    migrated,
    keep_until,
);

/// What one save changed.
#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    lineage: String,
    serial: u64,
    /// Address → the entry now, or `None` when it was removed.
    resources: BTreeMap<Address, Option<StateResource>>,
    /// The other fields that differ from the save before, whole.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    rest: BTreeMap<String, Value>,
    /// Template id → its versions now, or `None` when they were forgotten: the templates whose
    /// versions differ from the save before.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    template_versions: BTreeMap<String, Option<BTreeMap<String, Vec<String>>>>,
}

impl Entry {
    /// The line for `document`, of which only the entries at `changed` and the fields other
    /// than resources that differ from `saved` (the [`Rest`] of the version saved before)
    /// differ from the version saved before; with the [`Rest`] of `document`, to compare the
    /// next save with once this one is written.
    ///
    /// # Errors
    /// A field that does not serialize.
    pub fn of(
        document: &StateDocument,
        changed: &BTreeSet<Address>,
        saved: &Rest,
    ) -> Result<(Entry, Rest), serde_json::Error> {
        let now = Rest::of(document)?;
        let rest = now
            .fields
            .iter()
            .filter(|(name, value)| saved.fields.get(*name) != Some(*value))
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect();
        // The diff skips the nodes the two copies still share.
        let template_versions = saved
            .template_versions
            .diff(&document.template_versions)
            .map(|item| match item {
                DiffItem::Add(template, versions)
                | DiffItem::Update {
                    new: (template, versions),
                    ..
                } => (template.clone(), Some(versions.clone())),
                DiffItem::Remove(template, _) => (template.clone(), None),
            })
            .collect();
        let entry = Entry {
            lineage: document.lineage.clone(),
            serial: document.serial,
            resources: changed
                .iter()
                .map(|address| (address.clone(), document.resources.get(address).cloned()))
                .collect(),
            rest,
            template_versions,
        };
        Ok((entry, now))
    }

    /// Applies this line to `document` when it follows it; says whether it did.
    fn apply(self, document: &mut StateDocument) -> Result<bool, serde_json::Error> {
        if self.lineage != document.lineage || self.serial <= document.serial {
            return Ok(false);
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
        for (name, value) in self.rest {
            put(document, &name, value)?;
        }
        for (template, versions) in self.template_versions {
            match versions {
                Some(versions) => {
                    document.template_versions.insert(template, versions);
                }
                None => {
                    document.template_versions.remove(&template);
                }
            }
        }
        Ok(true)
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
        let corrupt = |source| StateError::CorruptJournal {
            path: path.to_path_buf(),
            line: index + 1,
            source,
        };
        match serde_json::from_slice::<Entry>(line) {
            Ok(entry) => applied |= entry.apply(document).map_err(corrupt)?,
            // Cut short by a stop mid-write: the save never returned, so nothing relied on it.
            Err(_) if index + 1 == lines.len() && !complete => break,
            Err(source) => return Err(corrupt(source)),
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

    /// The line saving `document` after the version whose fields were `saved`, which becomes
    /// the version saved.
    fn line(
        document: &StateDocument,
        changed: &[&str],
        saved: &mut Rest,
    ) -> Result<Vec<u8>, serde_json::Error> {
        let changed = changed
            .iter()
            .map(|address| Address::new(*address))
            .collect();
        let (entry, now) = Entry::of(document, &changed, saved)?;
        *saved = now;
        let mut line = serde_json::to_vec(&entry)?;
        line.push(b'\n');
        Ok(line)
    }

    fn intent(address: &str, token: &str) -> crate::state::Intent {
        crate::state::Intent {
            operation: crate::plan::Operation::Create,
            address: Address::new(address),
            kind: Kind::Volume,
            region: "us-east-1".to_string(),
            id: None,
            token: token.to_string(),
            since: chrono::Utc::now(),
        }
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
        let mut fields = Rest::of(&saved)?;

        let mut text = Vec::new();
        // A round that sends two calls: their intents, and nothing else, change.
        document.serial = 4;
        document.intents.push(intent("volume.b", "t-b"));
        document.intents.push(intent("volume.c", "t-c"));
        let sent = line(&document, &[], &mut fields)?;
        let written: Entry = serde_json::from_slice(&sent)?;
        assert_eq!(
            written.rest.keys().collect::<Vec<_>>(),
            ["intents"],
            "only the fields that changed are journaled"
        );
        text.extend(sent);
        // The first returns: its entry is recorded and its intent cleared.
        document.serial = 5;
        document
            .resources
            .insert(Address::new("volume.b"), entry("volume.b", "vol-2"));
        document.intents.retain(|intent| intent.token != "t-b");
        document.changed_at = Some(chrono::Utc::now());
        text.extend(line(&document, &["volume.b"], &mut fields)?);
        document.serial = 6;
        document.resources.remove(&Address::new("volume.a"));
        document.deposed.push(entry("volume.b", "vol-0"));
        text.extend(line(&document, &["volume.a"], &mut fields)?);

        let mut replayed = saved.clone();
        assert!(replay(&mut replayed, &text, Path::new("dev.json.journal"))?);
        assert_eq!(replayed, document);
        Ok(())
    }

    #[test]
    fn a_line_holds_the_versions_of_the_templates_that_changed_only()
    -> Result<(), Box<dyn std::error::Error>> {
        let record = |document: &mut StateDocument, template: &str, version: u64| {
            let attributes = crate::model::Attributes::from([
                ("latest_version".to_string(), serde_json::json!(version)),
                (
                    "security_group_ids".to_string(),
                    serde_json::json!([format!("sg-{template}-{version}")]),
                ),
            ]);
            document.record_template_version(template, &attributes);
        };
        let mut saved = StateDocument::new("shop", "dev");
        for template in 0..100 {
            record(&mut saved, &format!("lt-{template}"), 1);
        }
        let mut document = saved.clone();
        let mut fields = Rest::of(&saved)?;

        let mut text = Vec::new();
        document.serial = 1;
        record(&mut document, "lt-7", 2);
        record(&mut document, "lt-new", 1);
        let sent = line(&document, &[], &mut fields)?;
        let written: Entry = serde_json::from_slice(&sent)?;
        assert_eq!(
            written.template_versions.keys().collect::<Vec<_>>(),
            ["lt-7", "lt-new"]
        );
        assert!(written.rest.is_empty(), "{:?}", written.rest);
        text.extend(sent);
        document.serial = 2;
        document.template_versions.remove("lt-3");
        text.extend(line(&document, &[], &mut fields)?);

        let mut replayed = saved.clone();
        assert!(replay(&mut replayed, &text, Path::new("dev.json.journal"))?);
        assert_eq!(replayed, document);
        Ok(())
    }

    #[test]
    fn a_line_written_before_versions_were_journaled_by_template_still_replays()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut document = StateDocument::new("shop", "dev");
        let line = serde_json::json!({
            "lineage": document.lineage,
            "serial": 1,
            "resources": {},
            "rest": { "template_versions": { "lt-1": { "1": ["sg-1"] } } },
        });
        let mut text = serde_json::to_vec(&line)?;
        text.push(b'\n');
        assert!(replay(&mut document, &text, Path::new("dev.json.journal"))?);
        assert_eq!(
            document.template_version_groups("lt-1", &serde_json::json!(1)),
            Some(&["sg-1".to_string()][..])
        );
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
        let old = line(&document, &["volume.a"], &mut Rest::default())?;
        let foreign = line(
            &StateDocument::new("shop", "dev"),
            &["volume.a"],
            &mut Rest::default(),
        )?;

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
        let complete = line(&document, &["volume.a"], &mut Rest::of(&saved)?)?;

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

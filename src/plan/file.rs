//! Saved plan files: `cairn plan -out FILE` writes one, `cairn apply FILE` executes it, and a
//! plan is refused when the state it was made against has changed since.
//!
//! The file's contract is typed: besides the plan it names the cloud to apply it to (one of
//! the clouds this build knows, with the settings that reach it) and the state backend it was
//! made against, each its own field, so applying it needs no configuration. Plans are
//! short-lived: a file of another format version is refused with the advice to plan again.

use super::{PLAN_FORMAT_VERSION, Plan, PlanError};
use crate::config::Backend;
use crate::provider::CloudSettings;
use crate::state::{Encryption, EncryptionSettings, StateDocument, write_atomically};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A saved plan: what to change, on which cloud, against which state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanFile {
    /// The plan itself; its fields (`format_version` first) sit at the top level of the file
    /// beside the two below.
    #[serde(flatten)]
    pub plan: Plan,
    /// The cloud the plan's steps run against, and how to reach it.
    pub cloud: CloudSettings,
    /// Where the state the plan was made against lives.
    pub state_backend: Backend,
    /// Which environment variables hold the state's passphrases, when encryption is on; the
    /// plan file itself is then sealed with the same key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_encryption: Option<EncryptionSettings>,
    /// A digest of the state the plan was made against ([`state_digest`]), as a saved file
    /// holds it: a state replaced with the same serial but other content is caught too.
    /// Written by [`save`], which is given it (only a saved plan is checked against its
    /// state), so this field is never serialized itself.
    #[serde(default, skip_serializing)]
    pub state_digest: Option<String>,
}

/// A plan file as [`save`] writes it: the file, then the digest of its state. Borrowed, so
/// that saving a plan with its digest copies neither.
#[derive(Serialize)]
struct Written<'a> {
    #[serde(flatten)]
    file: &'a PlanFile,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_digest: Option<&'a str>,
}

/// A SHA-256 digest of `state`'s content, as hex.
pub fn state_digest(state: &StateDocument) -> String {
    use sha2::Digest;
    // Serializing a document is deterministic (ordered maps, fixed field order). Streamed
    // into the hash: a 10,000-resource state is 9 MB of JSON that need not be held at once
    // (issue 14). A document that cannot be serialized digests as nothing.
    let mut hasher = std::io::BufWriter::with_capacity(1 << 16, sha2::Sha256::new());
    let digest = match serde_json::to_writer(&mut hasher, state)
        .map_err(std::io::Error::from)
        .and_then(|()| hasher.into_inner().map_err(|error| error.into_error()))
    {
        Ok(hasher) => hasher.finalize(),
        Err(_) => sha2::Sha256::digest([]),
    };
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Writes `file` to `path` as JSON, atomically, with the digest of the state it was made
/// against (see [`PlanFile::state_digest`]); sealed with the state's key when the state is
/// encrypted (a plan holds attribute values, sensitive ones included).
///
/// # Errors
/// [`PlanError::PlanFileWrite`] naming the file; [`PlanError::PlanFileSealed`] when the key
/// is no longer set.
pub fn save(file: &PlanFile, state_digest: Option<&str>, path: &Path) -> Result<(), PlanError> {
    let sealed = |source| PlanError::PlanFileSealed {
        path: path.to_path_buf(),
        source,
    };
    let encryption = match &file.state_encryption {
        Some(settings) => Encryption::from_environment(&EncryptionSettings {
            required: true,
            ..settings.clone()
        })
        .map_err(sealed)?,
        None => Encryption::off(),
    };
    let written = Written { file, state_digest };
    let mut bytes =
        serde_json::to_vec_pretty(&written).map_err(|source| PlanError::Serialize { source })?;
    bytes.push(b'\n');
    let bytes = encryption.seal(bytes).map_err(sealed)?;
    write_atomically(path, &bytes).map_err(|source| PlanError::PlanFileWrite {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a plan saved by [`save`].
///
/// # Errors
/// [`PlanError::PlanFileIo`] when it cannot be read, [`PlanError::PlanFileNewer`] or
/// [`PlanError::PlanFileOlder`] when another Cairn version wrote it,
/// [`PlanError::PlanFileInvalid`] when it is not a plan (an unknown cloud included).
pub fn load(path: &Path) -> Result<PlanFile, PlanError> {
    let bytes = std::fs::read(path).map_err(|source| PlanError::PlanFileIo {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    let sealed = |source| PlanError::PlanFileSealed {
        path: path.to_path_buf(),
        source,
    };
    // A sealed file names the variables holding its key.
    let bytes = match crate::state::encryption::sealed_with(&bytes).map_err(sealed)? {
        Some(settings) => Encryption::from_environment(&EncryptionSettings {
            required: false,
            ..settings
        })
        .and_then(|encryption| encryption.open(bytes))
        .map_err(sealed)?,
        None => bytes,
    };
    let invalid = |source| PlanError::PlanFileInvalid {
        path: path.to_path_buf(),
        source,
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(invalid)?;
    // The version decides how the rest is read, so it is checked before anything else.
    if let Some(found) = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
    {
        let supported = PLAN_FORMAT_VERSION;
        if found > u64::from(supported) {
            return Err(PlanError::PlanFileNewer {
                path: path.to_path_buf(),
                found,
                supported,
            });
        }
        if found < u64::from(supported) {
            return Err(PlanError::PlanFileOlder {
                path: path.to_path_buf(),
                found,
                supported,
            });
        }
    }
    // Parsed from the bytes again (not from `value`) so an error names its line and column.
    serde_json::from_slice(&bytes).map_err(invalid)
}

/// Checks that a saved plan still applies to `state`: same stack and environment, same
/// lineage, same serial. A plan made before any state existed (serial 0) applies to a state
/// that still has none written, whatever lineage the empty state was given.
///
/// # Errors
/// [`PlanError::WrongEnvironment`], [`PlanError::StateLineageChanged`] or
/// [`PlanError::StateSerialChanged`], each saying to plan again.
pub fn ensure_applicable(plan: &Plan, state: &StateDocument) -> Result<(), PlanError> {
    if plan.stack != state.stack || plan.environment != state.environment {
        return Err(PlanError::WrongEnvironment {
            plan_stack: plan.stack.clone(),
            plan_environment: plan.environment.clone(),
            stack: state.stack.clone(),
            environment: state.environment.clone(),
        });
    }
    if plan.state_serial == 0 && state.serial == 0 {
        return Ok(());
    }
    if plan.state_lineage != state.lineage {
        return Err(PlanError::StateLineageChanged {
            plan_lineage: plan.state_lineage.clone(),
            state_lineage: state.lineage.clone(),
        });
    }
    if plan.state_serial != state.serial {
        return Err(PlanError::StateSerialChanged {
            plan_serial: plan.state_serial,
            state_serial: state.serial,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Observed, PlanOptions, plan};
    use std::collections::BTreeMap;

    fn empty_plan(state: &StateDocument) -> Plan {
        plan(
            &BTreeMap::new(),
            &BTreeMap::new(),
            state,
            Observed::not_refreshed(),
            &PlanOptions::default(),
        )
        .unwrap()
    }

    fn saved(plan: Plan) -> PlanFile {
        PlanFile {
            cloud: CloudSettings::Aws {
                profile: Some("ops".to_string()),
                endpoint: Some("http://127.0.0.1:5000".to_string()),
            },
            state_backend: Backend::Local {
                path: "/stacks/shop/.cairn".into(),
            },
            state_encryption: None,
            state_digest: None,
            plan,
        }
    }

    /// An empty plan saved in a fresh directory (kept alive by the returned guard).
    fn saved_to_disk() -> (tempfile::TempDir, std::path::PathBuf) {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("plan.json");
        let file = saved(empty_plan(&StateDocument::new("shop", "staging")));
        save(&file, None, &path).unwrap();
        (directory, path)
    }

    #[test]
    fn saved_plan_loads_back_identical() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("plan.json");
        let mut state = StateDocument::new("shop", "staging");
        state.serial = 3;
        let file = saved(empty_plan(&state));
        save(&file, None, &path).unwrap();
        assert_eq!(load(&path).unwrap(), file);
    }

    #[test]
    fn the_state_digest_given_to_save_is_written_last_and_loads_back() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("plan.json");
        let state = StateDocument::new("shop", "staging");
        let file = saved(empty_plan(&state));
        let digest = state_digest(&state);
        save(&file, Some(&digest), &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.trim_end()
                .ends_with(&format!("\"state_digest\": \"{digest}\"\n}}")),
            "{text}"
        );
        assert_eq!(load(&path).unwrap().state_digest, Some(digest));
    }

    #[test]
    fn the_cloud_and_the_state_backend_are_fields_of_their_own() {
        let (_directory, path) = saved_to_disk();
        let text: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            text["cloud"],
            serde_json::json!({"name": "aws", "profile": "ops", "endpoint": "http://127.0.0.1:5000"})
        );
        assert_eq!(
            text["state_backend"],
            serde_json::json!({"type": "local", "path": "/stacks/shop/.cairn"})
        );
        assert_eq!(text["format_version"], PLAN_FORMAT_VERSION);
    }

    #[test]
    fn a_plan_file_naming_an_unknown_cloud_is_refused_not_taken_for_sim() {
        let (_directory, path) = saved_to_disk();
        let text = std::fs::read_to_string(&path).unwrap();
        let edited = text.replace("\"name\": \"aws\"", "\"name\": \"azure\"");
        assert_ne!(text, edited);
        std::fs::write(&path, edited).unwrap();
        let error = load(&path).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, PlanError::PlanFileInvalid { .. }),
            "{message}"
        );
        assert!(message.contains("unknown variant `azure`"), "{message}");
    }

    #[test]
    fn a_plan_file_of_the_previous_format_is_refused_with_advice_to_plan_again() {
        // Format 1 kept the cloud as a free string and the state directory in
        // `provider_settings`.
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("plan.json");
        std::fs::write(
            &path,
            br#"{"format_version": 1, "stack": "shop", "environment": "staging", "cloud": "sim",
                "provider_settings": {"state_root": "/stacks/shop/.cairn"}}"#,
        )
        .unwrap();
        let error = load(&path).unwrap_err();
        assert!(
            matches!(error, PlanError::PlanFileOlder { found: 1, .. }),
            "{error}"
        );
        let help = miette::Diagnostic::help(&error).map(|help| help.to_string());
        assert_eq!(
            help.as_deref(),
            Some("run `cairn plan -o FILE` again with this Cairn and apply the new file")
        );
    }

    // Issue 9: a planned rollout embeds the course it shares with state's rollout record;
    // a plan file the last release wrote (the course's fields at the top of each rollout)
    // still loads, and is saved again unchanged.
    #[test]
    fn a_rollout_in_a_plan_file_of_the_last_release_loads_and_saves_unchanged() {
        let (directory, path) = saved_to_disk();
        let mut text: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let rollout = serde_json::json!({
            "address": "autoscaling_group.web",
            "region": "eu-west-1",
            "spec": {
                "strategy": "rolling",
                "checkpoints": [],
                "min_healthy": 50,
                "max_surge": 1,
                "warmup_seconds": 5,
                "bake_seconds": 0,
                "keep_old_seconds": 0,
                "abort_on": [],
                "timeout_seconds": 600,
                "source": {"file": "main.hcl", "line": 7, "column": 5}
            },
            "capacity": 4,
            "min": 2,
            "max": 4,
            "from_version": 1,
            "to_version": "${launch_template.web.latest_version}",
            "targets": [3, 4],
            "resume": ["forward", 1],
            "first": true
        });
        text["rollouts"] = serde_json::json!([rollout]);
        std::fs::write(&path, serde_json::to_vec(&text).unwrap()).unwrap();
        let file = load(&path).unwrap();
        let [planned] = &file.plan.rollouts[..] else {
            panic!("one rollout expected: {:?}", file.plan.rollouts);
        };
        assert_eq!(planned.address.to_string(), "autoscaling_group.web");
        assert_eq!(planned.course.region, "eu-west-1");
        assert_eq!((planned.course.min, planned.course.max), (2, 4));
        assert_eq!(planned.course.targets, vec![3, 4]);
        assert!(planned.course.weights.is_empty());
        assert_eq!(
            planned.resume,
            Some((crate::state::RolloutPhase::Forward, 1))
        );
        let again = directory.path().join("again.json");
        save(&file, None, &again).unwrap();
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&again).unwrap()).unwrap();
        assert_eq!(written, text);
    }

    #[test]
    fn invalid_and_newer_plan_files_are_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("plan.json");
        std::fs::write(&path, b"{\"format_version\": 2").unwrap();
        assert!(matches!(
            load(&path),
            Err(PlanError::PlanFileInvalid { .. })
        ));
        std::fs::write(&path, b"{\"stack\": \"shop\"}").unwrap();
        assert!(matches!(
            load(&path),
            Err(PlanError::PlanFileInvalid { .. })
        ));
        std::fs::write(&path, b"{\"format_version\": 99}").unwrap();
        let error = load(&path).unwrap_err();
        assert!(
            matches!(error, PlanError::PlanFileNewer { found: 99, .. }),
            "{error}"
        );
        assert!(matches!(
            load(&directory.path().join("missing.json")),
            Err(PlanError::PlanFileIo { .. })
        ));
    }

    #[test]
    fn plan_for_a_changed_state_is_refused() {
        let mut state = StateDocument::new("shop", "staging");
        state.serial = 3;
        let plan = empty_plan(&state);
        ensure_applicable(&plan, &state).unwrap();

        let mut newer = state.clone();
        newer.serial = 4;
        let message = ensure_applicable(&plan, &newer).unwrap_err().to_string();
        assert!(
            message.contains("made against state serial 3, but the state is now at serial 4"),
            "{message}"
        );

        let mut other = StateDocument::new("shop", "staging");
        other.serial = 3;
        assert!(matches!(
            ensure_applicable(&plan, &other),
            Err(PlanError::StateLineageChanged { .. })
        ));

        let production = StateDocument::new("shop", "production");
        assert!(matches!(
            ensure_applicable(&plan, &production),
            Err(PlanError::WrongEnvironment { .. })
        ));
    }

    #[test]
    fn plan_made_before_any_state_applies_to_a_still_empty_state() {
        let plan = empty_plan(&StateDocument::new("shop", "staging"));
        ensure_applicable(&plan, &StateDocument::new("shop", "staging")).unwrap();
        let mut written = StateDocument::new("shop", "staging");
        written.serial = 1;
        assert!(ensure_applicable(&plan, &written).is_err());
    }
}

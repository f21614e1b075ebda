//! Saved plan files: `cairn plan -out FILE` writes one, `cairn apply FILE` executes it, and a
//! plan is refused when the state it was made against has changed since.

use super::{PLAN_FORMAT_VERSION, Plan, PlanError};
use crate::state::{StateDocument, write_atomically};
use std::path::Path;

/// Writes `plan` to `path` as JSON, atomically.
///
/// # Errors
/// [`PlanError::PlanFileWrite`] naming the file.
pub fn save(plan: &Plan, path: &Path) -> Result<(), PlanError> {
    let mut bytes =
        serde_json::to_vec_pretty(plan).map_err(|source| PlanError::Serialize { source })?;
    bytes.push(b'\n');
    write_atomically(path, &bytes).map_err(|source| PlanError::PlanFileWrite {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a plan saved by [`save`].
///
/// # Errors
/// [`PlanError::PlanFileIo`] when it cannot be read, [`PlanError::PlanFileNewer`] when a newer
/// Cairn wrote it, [`PlanError::PlanFileInvalid`] when it is not a plan.
pub fn load(path: &Path) -> Result<Plan, PlanError> {
    let bytes = std::fs::read(path).map_err(|source| PlanError::PlanFileIo {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |source| PlanError::PlanFileInvalid {
        path: path.to_path_buf(),
        source,
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(invalid)?;
    if let Some(found) = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
        && found > u64::from(PLAN_FORMAT_VERSION)
    {
        return Err(PlanError::PlanFileNewer {
            path: path.to_path_buf(),
            found,
            supported: PLAN_FORMAT_VERSION,
        });
    }
    serde_json::from_value(value).map_err(invalid)
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
            &Observed::not_refreshed(),
            &PlanOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn saved_plan_loads_back_identical() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("plan.json");
        let mut state = StateDocument::new("shop", "staging");
        state.serial = 3;
        let plan = empty_plan(&state);
        save(&plan, &path).unwrap();
        assert_eq!(load(&path).unwrap(), plan);
    }

    #[test]
    fn invalid_and_newer_plan_files_are_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("plan.json");
        std::fs::write(&path, b"{\"format_version\": 1").unwrap();
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

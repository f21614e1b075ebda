//! `cairn state migrate`: moves an environment's state to another backend (local ↔ S3).
//!
//! Promises: both locations are locked for the whole move; the state and its backup are
//! copied as they are (lineage and serial kept), the stack's audit records the destination
//! lacks are appended to its log, the environment's history (its versions and the files they
//! recorded) is copied and the migration recorded in it as a version, and the copy is read
//! back and compared before the source is
//! touched; the source is then marked as migrated (a write that records where the state went),
//! so any later use of it is refused with that location instead of diverging silently. A
//! destination that already holds a live state is refused; one holding a copy marked as
//! migrated away (the previous leg of a round trip) is replaced.

use super::OpsError;
use super::backend::{StateStore, encryption_settings};
use super::history::{Ending, Recorder, primary_region};
use super::run::{PlanRequest, Stack};
use crate::config::Backend;
use crate::state::{History, Migrated, StateError};

/// `cairn state migrate -e ENV --to …`.
#[derive(Debug, Clone)]
pub struct MigrateRequest {
    pub stack: PlanRequest,
    /// The backend to move the state to (a relative local path is taken from the stack
    /// directory).
    pub to: Backend,
}

/// What a migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    pub environment: String,
    pub from: String,
    pub to: String,
    pub lineage: String,
    pub serial: u64,
    pub backup_copied: bool,
    pub audit_records_copied: usize,
    /// Versions of the environment's history copied.
    pub versions_copied: usize,
}

/// Moves the state of the requested environment from the configured backend to `to`.
///
/// # Errors
/// No state to move, the same backend on both sides, a destination that holds a live state,
/// a lock held on either side, a copy that does not read back equal, or storage errors.
pub fn migrate(request: &MigrateRequest) -> Result<MigrateReport, OpsError> {
    let stack = Stack::open(&request.stack)?;
    let to = match &request.to {
        Backend::Local { path } if path.is_relative() => Backend::Local {
            path: stack.dir.join(path),
        },
        other => other.clone(),
    };
    let destination =
        StateStore::open(&to, &encryption_settings(stack.config.encryption.as_ref()))?;
    if destination.settings() == stack.store().settings() {
        return Err(OpsError::SameBackend {
            location: stack.backend(&request.stack.deployment)?.location(),
        });
    }
    let name = request.stack.state_environment();
    let source = stack.backend(&request.stack.deployment)?;
    let target = destination.backend(&name)?;
    let _source_lock = source.lock("state migrate")?;
    let _target_lock = target.lock("state migrate")?;

    // A foreign document (another stack's or environment's) is not carried anywhere.
    let state = source
        .load_for(&stack.config.stack, &name)?
        .ok_or_else(|| OpsError::NoState {
            environment: name.clone(),
        })?;
    let backup = source.load_backup()?;
    target.receive(&state, backup.as_ref())?;
    // Read back through a backend that knows nothing of the write.
    let copied = destination.backend(&name)?.load()?;
    if copied.as_ref() != Some(&state) {
        return Err(StateError::CopyMismatch {
            path: target.location().into(),
            detail: "the state read back differs from the state copied".to_string(),
        }
        .into());
    }
    let present = target.read_audit()?;
    let mut audit_records_copied = 0;
    for line in source.read_audit()? {
        if !present.contains(&line) {
            target.append_audit(&line)?;
            audit_records_copied += 1;
        }
    }

    let recorder = Recorder::start_edit("state migrate", state.serial);
    let versions_copied = History::new(source.as_ref(), &name).copy_to(target.as_ref())?;
    let summary = format!(
        "migrated from {} to {}",
        source.location(),
        target.location()
    );
    recorder.finish(
        target.as_ref(),
        &stack.config.stack,
        &name,
        Ending::succeeded(summary, Some(state.serial), primary_region(&stack)),
    )?;

    let mut marked = state.clone();
    marked.migrated = Some(Migrated {
        to: target.location(),
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    source.write(
        &mut marked,
        "state migrate",
        &format!("migrated to {}", target.location()),
    )?;
    Ok(MigrateReport {
        environment: name,
        from: source.location(),
        to: target.location(),
        lineage: state.lineage,
        serial: state.serial,
        backup_copied: backup.is_some(),
        audit_records_copied,
        versions_copied,
    })
}

//! Interrupted calls: the intents an earlier run left in state (it was killed, or gave up on
//! an answer that never came), matched with what this plan does about each.
//!
//! Nothing here calls the cloud: the refresh has already looked. A create whose object it
//! found is adopted; one it did not see is looked for again by apply before being created
//! again (the create step carries the intent); an update was read again, so the plan is made
//! from what the cloud holds; a delete whose object is still there is sent again (the delete
//! step carries the intent), one whose object is gone is done.

use super::refresh::Observed;
use super::scope::Scope;
use super::{Interrupted, Operation, Resolution, Step};
use crate::state::{StateDocument, StateResource};

/// What this plan does about each interrupted call in scope; marks the steps that carry one
/// on. A call in a region and kind the refresh did not read, that no step carries on, is left
/// for a plan that reads it. A refresh-only plan sends nothing, so it only resolves what
/// needs no call.
pub(super) fn resolve(
    state: &StateDocument,
    scope: &Scope,
    observed: &Observed,
    adopted: &[StateResource],
    steps: &mut [Step],
    refresh_only: bool,
) -> Vec<Interrupted> {
    let mut interrupted = Vec::new();
    for intent in &state.intents {
        if !scope.contains(&intent.address) {
            continue;
        }
        let read = observed.was_read(&intent.region, intent.kind);
        let carried_by = steps.iter_mut().find(|step| {
            step.operation == intent.operation
                && step.address == intent.address
                && step.resumes.is_none()
                && (intent.operation == Operation::Create || step.id == intent.id)
        });
        let resolution = match intent.operation {
            Operation::Create if adopted.iter().any(|found| found.address == intent.address) => {
                Resolution::Found
            }
            Operation::Update if read => Resolution::Reread,
            Operation::Create | Operation::Delete if !refresh_only && carried_by.is_some() => {
                if let Some(step) = carried_by {
                    step.resumes = Some(intent.clone());
                }
                match intent.operation {
                    Operation::Create => Resolution::LookFirst,
                    _ => Resolution::FinishDelete,
                }
            }
            Operation::Create if read && !refresh_only => Resolution::NotWanted,
            Operation::Delete if read => Resolution::Gone,
            _ => continue,
        };
        interrupted.push(Interrupted {
            intent: intent.clone(),
            resolution,
        });
    }
    interrupted
}

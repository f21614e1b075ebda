//! Turning a plan step into the provider call it makes: references resolved from the state
//! as it is when the step starts, and an idempotency token that is the same on every retry.

use super::error::StepError;
use crate::model::{Attributes, Kind, Reference, Tags, Value, references_in, resolve};
use crate::plan::{Operation, Step};
use crate::provider::{CreateRequest, UpdateRequest};
use crate::state::StateDocument;
use crate::util::hash::stable_hash_128;

/// One provider call, built once per step and reused unchanged by every retry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ProviderCall {
    Create(CreateRequest),
    Update(UpdateRequest),
    Delete {
        region: String,
        kind: Kind,
        id: String,
    },
}

impl ProviderCall {
    /// The id of the object an update or delete acts on.
    pub(crate) fn target(&self) -> Option<&str> {
        match self {
            ProviderCall::Create(_) => None,
            ProviderCall::Update(request) => Some(&request.id),
            ProviderCall::Delete { id, .. } => Some(id),
        }
    }
}

/// What a step needs once it is ready to run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Prepared {
    Call(ProviderCall),
    /// An update whose resolved attributes and tags already match: nothing to call.
    NoChange,
}

/// Builds the call for `step` against `state`.
///
/// # Errors
///
/// [`StepError::UnresolvedReference`] when an attribute still refers to a value state does not
/// hold, [`StepError::Incomplete`] when the step lacks what its operation needs.
pub(crate) fn prepare(
    step: &Step,
    state: &StateDocument,
    token: String,
) -> Result<Prepared, StepError> {
    match step.operation {
        Operation::Create => {
            let after = step.after.as_ref().ok_or(StepError::Incomplete {
                operation: "create",
                field: "attributes",
            })?;
            Ok(Prepared::Call(ProviderCall::Create(CreateRequest {
                kind: step.kind,
                region: step.region.clone(),
                attributes: resolve_attributes(after, state)?,
                tags: resolve_tags(&step.tags, state)?,
                token,
            })))
        }
        Operation::Update => {
            let after = step.after.as_ref().ok_or(StepError::Incomplete {
                operation: "update",
                field: "attributes",
            })?;
            let recorded = state.resources.get(&step.address);
            let id = step
                .id
                .clone()
                .or_else(|| recorded.map(|resource| resource.id.clone()))
                .ok_or(StepError::Incomplete {
                    operation: "update",
                    field: "id",
                })?;
            let before = step
                .before
                .clone()
                .or_else(|| recorded.map(|resource| resource.attributes.clone()))
                .unwrap_or_default();
            let after = resolve_attributes(after, state)?;
            let tags = resolve_tags(&step.tags, state)?;
            let tags_unchanged = recorded.is_some_and(|resource| resource.tags == tags);
            if tags_unchanged && same_configured(step.kind, &before, &after) {
                return Ok(Prepared::NoChange);
            }
            Ok(Prepared::Call(ProviderCall::Update(UpdateRequest {
                kind: step.kind,
                region: step.region.clone(),
                id,
                before,
                after,
                tags,
                token,
            })))
        }
        Operation::Delete => {
            let id = step.id.clone().or_else(|| {
                // Only a live entry can stand in for a missing id; a deposed object is known
                // by its id alone.
                (!step.deposed)
                    .then(|| state.resources.get(&step.address))
                    .flatten()
                    .map(|resource| resource.id.clone())
            });
            let id = id.ok_or(StepError::Incomplete {
                operation: "delete",
                field: "id",
            })?;
            Ok(Prepared::Call(ProviderCall::Delete {
                region: step.region.clone(),
                kind: step.kind,
                id,
            }))
        }
    }
}

/// Whether two attribute sets agree on everything the configuration sets. Computed
/// attributes (ids, instance lists, versions) are the cloud's business and appear only in
/// `before`, so they are left out of the comparison.
pub(crate) fn same_configured(kind: Kind, before: &Attributes, after: &Attributes) -> bool {
    kind.same_attributes(before, after, &|name| {
        kind.computed_attributes().contains(&name)
    })
}

fn resolve_attributes(
    attributes: &Attributes,
    state: &StateDocument,
) -> Result<Attributes, StepError> {
    let lookup = |reference: &Reference| state.lookup(reference);
    attributes
        .iter()
        .map(|(name, value)| {
            let resolved = resolve(value, &lookup);
            match references_in(&resolved).first() {
                Some(missing) => Err(StepError::UnresolvedReference {
                    attribute: name.clone(),
                    reference: format!("{}.{}", missing.address, missing.attribute),
                }),
                None => Ok((name.clone(), resolved)),
            }
        })
        .collect()
}

/// Tags are plain strings but may embed references (`Name = format("%s-web", network.main.id)`).
fn resolve_tags(tags: &Tags, state: &StateDocument) -> Result<Tags, StepError> {
    let as_values: Attributes = tags
        .iter()
        .map(|(key, value)| (key.clone(), Value::String(value.clone())))
        .collect();
    let resolved = resolve_attributes(&as_values, state)?;
    Ok(resolved
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            (key, text)
        })
        .collect())
}

/// The idempotency token of one step: derived from the environment's state lineage, the
/// state version the plan was made from, and what the step intends (operation, address and,
/// for an update or delete, the object's id), so it is the same on every retry, in this
/// process or another one applying the same plan, and on no other step or plan. 38 ASCII
/// characters, within EC2's 64-character `ClientToken` limit.
pub(crate) fn idempotency_token(lineage: &str, serial: u64, step: &Step) -> String {
    let material = format!(
        "{lineage}\n{serial}\n{}\n{}\n{}",
        step.operation,
        step.address,
        step.id.as_deref().unwrap_or_default()
    );
    // 128 bits of a stable hash: ample for tokens that only need to differ.
    format!("cairn-{:032x}", stable_hash_128(material.as_bytes()))
}

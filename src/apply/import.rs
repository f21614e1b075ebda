//! Importing, which an apply does after the moves and forgets: each object an `import` block
//! imports gets this environment's ownership tags for its address and is recorded in state;
//! the plan's steps then update it where it differs from its block.
//!
//! Promise: the tags are set before the state entry is written, so a run that dies in
//! between leaves an object the next refresh adopts at its address, never one imported twice.

use crate::model::{Address, Owner};
use crate::provider::{Provider, ProviderError};
use crate::state::{StateDocument, StateResource};

/// An import whose tagging failed: the imports before it are recorded, it and the rest not.
#[derive(Debug, thiserror::Error)]
#[error("could not import `{id}` as `{address}`: setting its ownership tags failed: {source}")]
pub struct ImportError {
    pub address: Address,
    pub id: String,
    #[source]
    pub source: ProviderError,
}

/// Runs `imports` against `state`. Returns whether state changed, and the first failure
/// (nothing after it is tried).
pub(crate) async fn run_imports(
    provider: &dyn Provider,
    owner: &Owner,
    state: &mut StateDocument,
    imports: &[StateResource],
) -> (bool, Option<ImportError>) {
    let mut changed = false;
    for object in imports {
        if state.resources.contains_key(&object.address) {
            continue;
        }
        let (region, kind, id) = (&object.region, object.kind, object.id.as_str());
        let live = match kind.takes_tags() {
            true => provider
                .set_ownership(region, kind, id, &owner.tags_for(&object.address))
                .await
                .map(|live| (live.attributes, live.tags)),
            // Its group carries the ownership of a kind without tags of its own.
            false => Ok((object.attributes.clone(), object.tags.clone())),
        };
        match live {
            Ok((attributes, tags)) => {
                let recorded = StateResource {
                    attributes,
                    tags,
                    ..object.clone()
                };
                state.resources.insert(object.address.clone(), recorded);
                changed = true;
            }
            Err(source) => {
                return (
                    changed,
                    Some(ImportError {
                        address: object.address.clone(),
                        id: object.id.clone(),
                        source,
                    }),
                );
            }
        }
    }
    (changed, None)
}

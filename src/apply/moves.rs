//! Moves, the first thing an apply does: each object a `moved` block moves gets its
//! `cairn:address` tag rewritten in place and its state entry renamed. Nothing is created,
//! replaced or deleted, and ids stay.
//!
//! Promise: a tag is rewritten before the state entry is renamed, so a run that dies in
//! between leaves an object whose tag names the new address; the next plan finds it there
//! (see [`crate::plan`]'s step 0), never at an address it would delete.

use crate::model::{Address, Owner};
use crate::plan::Move;
use crate::provider::{Provider, ProviderError};
use crate::state::{StateDocument, StateResource};

/// What a move did to an object's ownership tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveTag {
    /// Rewritten to the new address, in place.
    Rewritten,
    /// The kind takes no tags (found through its parent), so there was nothing to rewrite.
    Untagged,
    /// The object is gone from the cloud; the next plan reports it deleted.
    Gone,
    /// Another owner's tags (or none) are on it; they are left as they are.
    NotOwned,
}

/// A move whose tag rewrite failed: the moves before it are in state, it and the rest not.
#[derive(Debug, thiserror::Error)]
#[error("could not move `{from}` to `{to}`: rewriting the address tag of `{id}` failed: {source}")]
pub struct MoveError {
    pub from: Address,
    pub to: Address,
    pub id: String,
    #[source]
    pub source: ProviderError,
}

/// Runs `moves` against `state`: tags first, then the state entries of every move whose tag
/// is done. Returns whether state changed, and the first failure.
pub(crate) async fn run_moves(
    provider: &dyn Provider,
    owner: &Owner,
    state: &mut StateDocument,
    moves: &[Move],
) -> (bool, Option<MoveError>) {
    let mut done = Vec::new();
    let mut failure = None;
    for planned in moves {
        let Some(resource) = state.resources.get(&planned.from) else {
            continue;
        };
        match retag(provider, owner, resource, &planned.to).await {
            Ok(_) => done.push((planned.from.clone(), planned.to.clone())),
            Err(source) => {
                failure = Some(MoveError {
                    from: planned.from.clone(),
                    to: planned.to.clone(),
                    id: planned.id.clone(),
                    source,
                });
                break;
            }
        }
    }
    state.rename_all(&done);
    (!done.is_empty(), failure)
}

/// Rewrites the `cairn:address` tag of the object `resource` records to `to`, when the object
/// carries `owner`'s tags (through [`Provider::set_ownership`], the one operation that touches
/// ownership tags).
///
/// # Errors
/// The cloud's, when the object cannot be read or tagged.
pub async fn retag(
    provider: &dyn Provider,
    owner: &Owner,
    resource: &StateResource,
    to: &Address,
) -> Result<MoveTag, ProviderError> {
    if !resource.kind.takes_tags() {
        return Ok(MoveTag::Untagged);
    }
    let (region, kind, id) = (&resource.region, resource.kind, resource.id.as_str());
    let live = match provider.import(region, kind, id).await {
        Ok(live) => live,
        Err(ProviderError::NotFound { .. }) => return Ok(MoveTag::Gone),
        Err(error) => return Err(error),
    };
    if Owner::of(&live.tags).as_ref() != Some(owner) {
        return Ok(MoveTag::NotOwned);
    }
    match provider
        .set_ownership(region, kind, id, &owner.tags_for(to))
        .await
    {
        Ok(_) => Ok(MoveTag::Rewritten),
        Err(ProviderError::NotFound { .. }) => Ok(MoveTag::Gone),
        Err(error) => Err(error),
    }
}

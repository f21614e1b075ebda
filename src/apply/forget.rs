//! Forgetting, which an apply does right after the moves: each object a `removed` block
//! (`destroy = false`) lets go of loses this environment's ownership tags and leaves state;
//! it stays in the cloud as it is, as one Cairn never made. `cairn state rm` releases objects
//! the same way ([`release`]).
//!
//! Promise: an object's tags are removed before its state entry, so a run that dies in
//! between leaves an object no refresh adopts and a state entry the next plan forgets again;
//! never an object that is still tagged but no longer recorded.

use crate::model::{Address, Owner, Tags};
use crate::plan::Forget;
use crate::provider::{Provider, ProviderError};
use crate::state::StateDocument;

/// What releasing one object found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Release {
    /// The ownership tags were removed.
    Done,
    /// The object is gone from the cloud.
    Gone,
    /// The object carries another owner's tags (named) or none; they are left as they are.
    NotOwned(Option<Owner>),
}

/// A forget whose release failed: the forgets before it are done, it and the rest not.
#[derive(Debug, thiserror::Error)]
#[error("could not forget `{address}`: removing the ownership tags of `{id}` failed: {source}")]
pub struct ForgetError {
    pub address: Address,
    pub id: String,
    #[source]
    pub source: ProviderError,
}

/// Removes `owner`'s ownership tags from the object `id` of `kind` in `region`, unless they
/// are not there: an object another environment took over keeps that environment's tags.
///
/// # Errors
/// The cloud's, when the object cannot be read or its tags changed.
pub async fn release(
    provider: &dyn Provider,
    owner: &Owner,
    region: &str,
    kind: crate::model::Kind,
    id: &str,
) -> Result<Release, ProviderError> {
    let live = match provider.import(region, kind, id).await {
        Ok(live) => live,
        Err(ProviderError::NotFound { .. }) => return Ok(Release::Gone),
        Err(error) => return Err(error),
    };
    let found = Owner::of(&live.tags);
    if found.as_ref() != Some(owner) {
        return Ok(Release::NotOwned(found));
    }
    match provider.set_ownership(region, kind, id, &Tags::new()).await {
        Ok(_) => Ok(Release::Done),
        Err(ProviderError::NotFound { .. }) => Ok(Release::Gone),
        Err(error) => Err(error),
    }
}

/// Runs `forgets` against `state`: each object released, then its state entry removed.
/// Returns whether state changed, and the first failure (nothing after it is tried).
pub(crate) async fn run_forgets(
    provider: &dyn Provider,
    owner: &Owner,
    state: &mut StateDocument,
    forgets: &[Forget],
) -> (bool, Option<ForgetError>) {
    let mut changed = false;
    for forget in forgets {
        if let Err(source) = release(provider, owner, &forget.region, forget.kind, &forget.id).await
        {
            return (
                changed,
                Some(ForgetError {
                    address: forget.address.clone(),
                    id: forget.id.clone(),
                    source,
                }),
            );
        }
        // Only the entry of this very object: a forget of an untracked object found by its
        // tags leaves whatever state records at the address alone.
        if state
            .resources
            .get(&forget.address)
            .is_some_and(|recorded| recorded.id == forget.id)
        {
            state.remove(&forget.address);
            changed = true;
        }
    }
    (changed, None)
}

//! Operations on the state itself: read it, import a resource into it, remove entries from
//! it, and break a lock left behind.

use super::OpsError;
use super::run::{PlanRequest, Stack};
use crate::state::{StateDocument, StateResource};

/// The environment's recorded state (`None` before the first apply).
///
/// # Errors
/// Configuration errors, or a state file that cannot be read.
pub fn read_state(request: &PlanRequest) -> Result<Option<StateDocument>, OpsError> {
    let stack = Stack::open(request)?;
    Ok(stack.backend(&request.deployment)?.load()?)
}

/// `cairn import ADDRESS ID`.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub stack: PlanRequest,
    pub address: String,
    pub id: String,
}

/// Reads the resource `id` from the cloud and records it in state at `address`, which must be
/// an address the configuration defines. Returns the recorded resource.
///
/// # Errors
/// Unknown address, an address already in state, the resource missing in the cloud, or a
/// state that cannot be written.
pub async fn import(request: &ImportRequest) -> Result<StateResource, OpsError> {
    let stack = Stack::open(&request.stack)?;
    let deployment = &request.stack.deployment;
    let mut held = stack.hold(deployment, "import")?;
    // Where the environment runs decides which addresses it has (failed over, they are in
    // the failover region).
    let placement = stack.place(deployment, &held.state)?;
    let desired = placement
        .expansion
        .resources
        .values()
        .find(|resource| resource.address.as_str() == request.address)
        .ok_or_else(|| OpsError::UnknownAddress {
            address: request.address.clone(),
            place: "the configuration".to_string(),
        })?;
    if held.state.resources.contains_key(&desired.address) {
        return Err(OpsError::AlreadyManaged {
            address: request.address.clone(),
        });
    }
    let provider = stack.provider().await?;
    let live = provider
        .import(&desired.region, desired.kind, &request.id)
        .await
        .map_err(OpsError::Provider)?;
    let resource = StateResource {
        address: desired.address.clone(),
        kind: live.kind,
        region: live.region,
        id: live.id,
        attributes: live.attributes,
        tags: live.tags,
        dependencies: desired.depends_on.clone(),
        lifecycle: desired.lifecycle.clone(),
        sensitive: desired.sensitive.clone(),
    };
    held.state
        .resources
        .insert(resource.address.clone(), resource.clone());
    let summary = format!("imported {} as {}", request.id, request.address);
    held.write("import", &summary)?;
    Ok(resource)
}

/// Forgets the resources matching `addresses` (exact addresses or block paths) without
/// touching the cloud. Returns the removed addresses.
///
/// # Errors
/// An address that matches nothing, or a state that cannot be written.
pub fn state_remove(request: &PlanRequest, addresses: &[String]) -> Result<Vec<String>, OpsError> {
    let stack = Stack::open(request)?;
    let mut held = stack.hold(&request.deployment, "state rm")?;
    let state = &mut held.state;
    let mut removed = Vec::new();
    for wanted in addresses {
        let matching: Vec<_> = state
            .resources
            .keys()
            .filter(|address| address.matches_target(wanted))
            .cloned()
            .collect();
        if matching.is_empty() {
            return Err(OpsError::UnknownAddress {
                address: wanted.clone(),
                place: "the state".to_string(),
            });
        }
        for address in matching {
            state.resources.remove(&address);
            removed.push(address.to_string());
        }
    }
    let summary = format!("removed {}", removed.join(", "));
    held.write("state rm", &summary)?;
    Ok(removed)
}

/// Removes the environment's lock if its id is `lock_id`.
///
/// # Errors
/// No lock, or a lock with another id.
pub fn force_unlock(request: &PlanRequest, lock_id: &str) -> Result<(), OpsError> {
    let stack = Stack::open(request)?;
    Ok(stack.backend(&request.deployment)?.force_unlock(lock_id)?)
}

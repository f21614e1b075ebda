//! Operations on the state itself: read it, import a resource into it, move or remove entries
//! in it, and break a lock left behind.
//!
//! Promise: what state records and what the cloud's ownership tags say agree after every
//! one of them: an imported object carries this environment's tags, a removed one none.
//! Neither touches an address an interrupted run left a call unresolved for (apply first). An
//! import, move or removal is recorded in the environment's history and the audit log, failed
//! ones too.

use super::OpsError;
use super::history::{Recorder, record_edit};
use super::run::{Held, PlanRequest, Stack};
use crate::apply::{MoveTag, Release, release, retag};
use crate::graph::ImportSpec;
use crate::model::{Address, DesiredResource, Kind, Owner, TAG_ADDRESS};
use crate::provider::{LiveResource, Provider, ProviderError, Retrying};
use crate::state::{StateDocument, StateResource};
use crate::util::errors::error_chain;
use std::collections::BTreeMap;

/// The environment's recorded state (`None` before the first apply).
///
/// # Errors
/// Configuration errors, or a state file that cannot be read.
pub fn read_state(request: &PlanRequest) -> Result<Option<StateDocument>, OpsError> {
    let stack = Stack::open(request)?;
    let environment = request.state_environment();
    Ok(stack
        .backend(&request.deployment)?
        .load_for(&stack.config.stack, &environment)?)
}

/// `cairn import ADDRESS ID`.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub stack: PlanRequest,
    pub address: String,
    pub id: String,
    /// Import an object another stack or environment owns, taking it over (`--take-over`).
    pub take_over: bool,
}

/// What `cairn import` recorded.
#[derive(Debug, Clone)]
pub struct Imported {
    pub resource: StateResource,
    /// The stack and environment the object was taken over from, with `--take-over`.
    pub taken_from: Option<Owner>,
}

/// Reads the resource `id` from the cloud, gives it this environment's ownership tags for
/// `address` (so every later refresh finds it) and records it in state at `address`, which
/// must be an address the configuration defines.
///
/// An object that carries another stack's or environment's ownership tags is refused naming
/// that owner unless `take_over` is set: two states managing one object would each undo the
/// other's changes. The tags are rewritten before the state is written, so a run killed in
/// between leaves an object the next refresh adopts at `address`, never an untracked one.
///
/// # Errors
/// Unknown address, an address or an object already in state, an object that does not exist,
/// an object another owner manages, or a state that cannot be written.
pub async fn import(request: &ImportRequest) -> Result<Imported, OpsError> {
    let stack = Stack::open(&request.stack)?;
    let mut held = stack.hold(&request.stack.deployment, "import")?;
    let recorder = Recorder::start_edit("import", held.state.serial);
    let result = import_held(&stack, &mut held, request).await;
    record_edit(&stack, &held, recorder, &result)?;
    result
}

/// The import of `request` into the held state.
async fn import_held(
    stack: &Stack,
    held: &mut Held,
    request: &ImportRequest,
) -> Result<Imported, OpsError> {
    let deployment = &request.stack.deployment;
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
    refuse_pending(&held.state, "import", desired.address.as_str())?;
    if held.state.resources.contains_key(&desired.address) {
        return Err(OpsError::AlreadyManaged {
            address: request.address.clone(),
        });
    }
    if let Some(recorded) = held.state.resources.values().find(|recorded| {
        recorded.kind == desired.kind
            && recorded.region == desired.region
            && recorded.id == request.id
    }) {
        return Err(OpsError::ImportedElsewhere {
            id: request.id.clone(),
            address: recorded.address.to_string(),
        });
    }
    let provider = Retrying::wrap(stack.provider().await?);
    let (region, kind, id) = (&desired.region, desired.kind, request.id.as_str());
    let live = read_object(provider.as_ref(), region, kind, id).await?;
    let owner = stack.owner(deployment);
    let previous = check_importable(&live, &owner, &desired.address, request.take_over, false)?;
    let live = provider
        .set_ownership(region, kind, id, &owner.tags_for(&desired.address))
        .await
        .map_err(|source| OpsError::Cloud {
            action: format!("tag {kind} `{id}` in {region} as this environment's"),
            source,
        })?;
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
    let summary = match &previous {
        Some(previous) => format!(
            "imported {} as {}, taken over from {previous}",
            request.id, request.address
        ),
        None => format!("imported {} as {}", request.id, request.address),
    };
    held.write("import", &summary)?;
    Ok(Imported {
        resource,
        taken_from: previous,
    })
}

/// Refuses `command` on `target` (an address or a block path) while an interrupted run's call
/// on an address it names is unresolved: an interrupted create may have made an object only
/// the next apply adopts, an interrupted delete or update may have half happened. Releasing
/// or importing around it would leave an object two records (or none) account for.
fn refuse_pending(state: &StateDocument, command: &str, target: &str) -> Result<(), OpsError> {
    match state
        .intents
        .iter()
        .find(|intent| intent.address.matches_target(target))
    {
        Some(intent) => Err(OpsError::PendingIntent {
            intent: intent.describe(),
            since: intent.since.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            command: command.to_string(),
            address: intent.address.to_string(),
        }),
        None => Ok(()),
    }
}

/// The object `id` of `kind` in `region`, owned or not, to import.
///
/// # Errors
/// [`OpsError::ImportNotFound`] when the cloud does not have it; the cloud's errors.
async fn read_object(
    provider: &dyn Provider,
    region: &str,
    kind: Kind,
    id: &str,
) -> Result<LiveResource, OpsError> {
    provider
        .import(region, kind, id)
        .await
        .map_err(|source| match source {
            ProviderError::NotFound { kind, region, id } => {
                OpsError::ImportNotFound { kind, region, id }
            }
            source => OpsError::Cloud {
                action: format!("read {kind} `{id}` in {region}"),
                source,
            },
        })
}

/// Whether `live` may be imported at `address` for `owner`: the other owner it is taken over
/// from (`take_over`), or none.
///
/// # Errors
/// A kind without tags of its own whose parent this environment does not own (unless
/// `brought`: its parent is imported with it), or an object another stack or environment
/// owns (without `take_over`).
fn check_importable(
    live: &LiveResource,
    owner: &Owner,
    address: &Address,
    take_over: bool,
    brought: bool,
) -> Result<Option<Owner>, OpsError> {
    let (kind, id) = (live.kind, &live.id);
    let previous = Owner::of(&live.tags).filter(|previous| previous != owner);
    if !kind.takes_tags() && !brought && Owner::of(&live.tags).as_ref() != Some(owner) {
        return Err(OpsError::ImportUntaggable {
            kind,
            id: id.clone(),
            parent: parent(live).map_or(Kind::AutoscalingGroup, |(parent, _)| parent),
        });
    }
    if let Some(previous) = &previous
        && !take_over
    {
        return Err(OpsError::OwnedElsewhere {
            kind,
            id: id.clone(),
            owner: previous.clone(),
            owner_address: live.tags.get(TAG_ADDRESS).cloned(),
            address: address.to_string(),
        });
    }
    Ok(previous)
}

/// Reads the objects `imports` (the `import` blocks of the expansion) name, for each address
/// `state` does not record yet (a block left after its import ran does nothing), checked as
/// `cairn import` checks: no interrupted call of the address is unresolved, the object
/// exists, no other stack or environment owns it, and neither state nor its tags put it at
/// another address of this environment.
///
/// # Errors
/// [`OpsError::ImportBlock`] naming the block, around the reason.
pub(super) async fn read_imports(
    provider: &dyn Provider,
    owner: &Owner,
    state: &StateDocument,
    desired: &BTreeMap<Address, DesiredResource>,
    imports: &[ImportSpec],
) -> Result<BTreeMap<Address, LiveResource>, OpsError> {
    let mut found: BTreeMap<Address, LiveResource> = BTreeMap::new();
    for spec in imports {
        let Some(resource) = desired.get(&spec.address) else {
            continue;
        };
        if state.resources.contains_key(&spec.address) {
            continue;
        }
        let in_block = |source: OpsError| OpsError::ImportBlock {
            location: spec.source.clone(),
            source: Box::new(source),
        };
        // As `cairn import` refuses: the interrupted call may have made an object of this
        // address that only the next apply adopts.
        refuse_pending(state, "import", spec.address.as_str()).map_err(in_block)?;
        let (region, kind, id) = (&resource.region, resource.kind, spec.id.as_str());
        let elsewhere = state
            .resources
            .values()
            .map(|recorded| (&recorded.address, recorded.kind, recorded.id.as_str()))
            .chain(
                found
                    .iter()
                    .map(|(address, live)| (address, live.kind, live.id.as_str())),
            )
            .find(|(_, recorded_kind, recorded_id)| *recorded_kind == kind && *recorded_id == id);
        if let Some((address, _, _)) = elsewhere {
            return Err(in_block(OpsError::ImportedElsewhere {
                id: id.to_string(),
                address: address.to_string(),
            }));
        }
        let live = read_object(provider, region, kind, id)
            .await
            .map_err(in_block)?;
        // A kind without tags of its own comes with its parent: a record whose zone (a
        // policy whose group) an `import` block of this plan imports too is owned once that
        // import ran.
        let brought = parent(&live).is_some_and(|(parent_kind, parent_id)| {
            imports.iter().any(|other| {
                other.id == parent_id
                    && desired
                        .get(&other.address)
                        .is_some_and(|parent| parent.kind == parent_kind)
            })
        });
        check_importable(&live, owner, &spec.address, false, brought).map_err(in_block)?;
        if let Some(tagged) = live.tags.get(TAG_ADDRESS)
            && owner.owns(&live.tags)
            && tagged != spec.address.as_str()
        {
            return Err(in_block(OpsError::ImportedElsewhere {
                id: id.to_string(),
                address: tagged.clone(),
            }));
        }
        found.insert(spec.address.clone(), live);
    }
    Ok(found)
}

/// What `cairn state rm` did, resource by resource.
#[derive(Debug, Clone, Default)]
pub struct Removal {
    /// Forgotten and released: left in the cloud without ownership tags.
    pub released: Vec<StateResource>,
    /// Forgotten; the object was already gone from the cloud.
    pub gone: Vec<StateResource>,
    /// Forgotten; the object carries no ownership tags of this environment (another took it
    /// over, named here, or nobody owns it), so its tags are left as they are.
    pub not_owned: Vec<(StateResource, Option<Owner>)>,
    /// Still in state: releasing it failed (the reason), or an earlier one did.
    pub kept: Vec<(StateResource, String)>,
}

/// Forgets the resources matching `addresses` (exact addresses or block paths) and releases
/// them: their ownership tags are removed in the cloud, so no refresh adopts them again and
/// they are left alive, unmanaged, as one Cairn never made (what Terraform's `state rm`
/// means). Removing the tags, rather than remembering in state that an object was released,
/// keeps the cloud's tags the one record of who owns what: a state lost or restored from a
/// backup cannot bring a released object back, and another stack can import it without
/// taking it over.
///
/// The tags are removed before the state is written, and the first failure stops there: what
/// was released is out of state, the rest stays managed (run again once the cloud answers).
///
/// # Errors
/// An address that matches nothing, the cloud cannot be opened, or a state that cannot be
/// written; a failed release is in the returned [`Removal`] instead.
pub async fn state_remove(
    request: &PlanRequest,
    addresses: &[String],
) -> Result<Removal, OpsError> {
    let stack = Stack::open(request)?;
    let mut held = stack.hold(&request.deployment, "state rm")?;
    let recorder = Recorder::start_edit("state rm", held.state.serial);
    let result = remove_held(&stack, &mut held, request, addresses).await;
    record_edit(&stack, &held, recorder, &result)?;
    result
}

/// The removal of `addresses` from the held state.
async fn remove_held(
    stack: &Stack,
    held: &mut Held,
    request: &PlanRequest,
    addresses: &[String],
) -> Result<Removal, OpsError> {
    for wanted in addresses {
        refuse_pending(&held.state, "state rm", wanted)?;
    }
    let mut matching: Vec<StateResource> = Vec::new();
    for wanted in addresses {
        let found: Vec<&StateResource> = held
            .state
            .resources
            .values()
            .filter(|resource| resource.address.matches_target(wanted))
            .collect();
        if found.is_empty() {
            return Err(OpsError::UnknownAddress {
                address: wanted.clone(),
                place: "the state".to_string(),
            });
        }
        for resource in found {
            if !matching
                .iter()
                .any(|known| known.address == resource.address)
            {
                matching.push(resource.clone());
            }
        }
    }
    let provider = Retrying::wrap(stack.provider().await?);
    let owner = stack.owner(&request.deployment);
    let mut removal = Removal::default();
    let mut failed = None::<String>;
    for resource in matching {
        if let Some(address) = &failed {
            let reason = format!("not tried after `{address}` failed");
            removal.kept.push((resource, reason));
            continue;
        }
        let (region, kind, id) = (&resource.region, resource.kind, resource.id.as_str());
        match release(provider.as_ref(), &owner, region, kind, id).await {
            Ok(Release::Done) => removal.released.push(resource),
            Ok(Release::Gone) => removal.gone.push(resource),
            Ok(Release::NotOwned(owner)) => removal.not_owned.push((resource, owner)),
            Err(error) => {
                failed = Some(resource.address.to_string());
                removal.kept.push((resource, error_chain(&error)));
            }
        }
    }
    let forgotten: Vec<&StateResource> = removal
        .released
        .iter()
        .chain(&removal.gone)
        .chain(removal.not_owned.iter().map(|(resource, _)| resource))
        .collect();
    if !forgotten.is_empty() {
        let addresses: Vec<String> = forgotten
            .iter()
            .map(|resource| resource.address.to_string())
            .collect();
        for resource in forgotten {
            held.state.remove(&resource.address);
        }
        held.write("state rm", &format!("removed {}", addresses.join(", ")))?;
    }
    Ok(removal)
}

/// One resource `cairn state mv` moved.
#[derive(Debug, Clone)]
pub struct Move {
    pub from: Address,
    pub to: Address,
    pub id: String,
    /// What became of the object's `cairn:address` tag.
    pub tag: MoveTag,
}

/// Moves the resources matching `from` (an exact address or a block path, as `--target`) to
/// the same addresses under `to`, rewriting each object's `cairn:address` tag in place first:
/// no object is replaced, and its id stays. The tags are rewritten before the state is
/// written, so a run killed in between leaves objects the next refresh adopts at their new
/// address, never ones it would delete.
///
/// # Errors
/// `from` matches nothing in state, an interrupted run's call on it is unresolved, a new
/// address is already recorded, a tag rewrite fails (the state is then left as it was), or
/// the state cannot be written.
pub async fn state_move(
    request: &PlanRequest,
    from: &str,
    to: &str,
) -> Result<Vec<Move>, OpsError> {
    let stack = Stack::open(request)?;
    let mut held = stack.hold(&request.deployment, "state mv")?;
    let recorder = Recorder::start_edit("state mv", held.state.serial);
    let result = move_held(&stack, &mut held, request, (from, to)).await;
    record_edit(&stack, &held, recorder, &result)?;
    result
}

/// The move of what `from` matches to `to` in the held state.
async fn move_held(
    stack: &Stack,
    held: &mut Held,
    request: &PlanRequest,
    (from, to): (&str, &str),
) -> Result<Vec<Move>, OpsError> {
    refuse_pending(&held.state, "state mv", from)?;
    let renames: Vec<(Address, Address)> = held
        .state
        .resources
        .keys()
        .filter_map(|address| Some((address.clone(), address.moved(from, to)?)))
        .collect();
    if renames.is_empty() {
        return Err(OpsError::UnknownAddress {
            address: from.to_string(),
            place: "the state".to_string(),
        });
    }
    for (old, new) in &renames {
        if held.state.resources.contains_key(new)
            && !renames.iter().any(|(moving, _)| moving == new)
        {
            return Err(OpsError::MoveTargetExists {
                from: old.to_string(),
                to: new.to_string(),
            });
        }
    }
    let provider = Retrying::wrap(stack.provider().await?);
    let owner = stack.owner(&request.deployment);
    let mut moves = Vec::new();
    let mut failure = None;
    for (old, new) in &renames {
        let Some(resource) = held.state.resources.get(old) else {
            continue;
        };
        match retag(provider.as_ref(), &owner, resource, new).await {
            Ok(tag) => moves.push(Move {
                from: old.clone(),
                to: new.clone(),
                id: resource.id.clone(),
                tag,
            }),
            Err(source) => {
                failure = Some(OpsError::Cloud {
                    action: format!(
                        "rewrite the address tag of {} `{}` in {}",
                        resource.kind, resource.id, resource.region
                    ),
                    source,
                });
                break;
            }
        }
    }
    // What was retagged is recorded at its new address even when a later rewrite failed:
    // state then agrees with the tags, and running the move again finishes the rest.
    let done: Vec<(Address, Address)> = moves
        .iter()
        .map(|moved| (moved.from.clone(), moved.to.clone()))
        .collect();
    held.state.rename_all(&done);
    if !done.is_empty() {
        held.write("state mv", &format!("moved {from} to {to}"))?;
    }
    match failure {
        Some(error) => Err(error),
        None => Ok(moves),
    }
}

/// Removes the environment's lock if its id is `lock_id`.
///
/// # Errors
/// No lock, or a lock with another id.
pub fn force_unlock(request: &PlanRequest, lock_id: &str) -> Result<(), OpsError> {
    let stack = Stack::open(request)?;
    Ok(stack.backend(&request.deployment)?.force_unlock(lock_id)?)
}

/// The object a kind without tags of its own takes its ownership from: a record's zone, a
/// scaling policy's group.
fn parent(live: &LiveResource) -> Option<(Kind, &str)> {
    let text = |name: &str| live.attributes.get(name).and_then(|value| value.as_str());
    match live.kind {
        Kind::DnsRecord => Some((Kind::DnsZone, text("zone_id")?)),
        Kind::ScalingPolicy => Some((Kind::AutoscalingGroup, text("group_name")?)),
        _ => None,
    }
}

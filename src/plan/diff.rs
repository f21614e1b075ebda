//! Diff: the pure function from desired resources, state and what the refresh observed to a
//! [`Plan`].
//!
//! [`plan`] is a list of steps, each in a file of its own: the scope a plan may touch
//! ([`super::scope`]), state reconciled with the refresh ([`super::reconcile`]), a decision per
//! desired address ([`super::decide`]) with the releases it holds back ([`super::held`]), the
//! deletes the cloud would refuse while something
//! still uses the object ([`super::in_use`]), the changes and primitive steps built here, and
//! their order ([`super::order`]).

use super::decide::{Decisions, decide};
use super::held::{held_back, refuse_retry_where_nothing_rolls_out};
use super::in_use::InUseCheck;
use super::interrupted;
use super::order::{Dependencies, Replacement, Role, StepSpec, order_steps};
use super::reconcile::{Reconciled, adopt, reconcile};
use super::refresh::Observed;
use super::same_name::refuse_same_name;
use super::scope::Scope;
use super::{
    Change, ChangeAction, Forget, HeldRollout, Move, Operation, PLAN_FORMAT_VERSION, Plan,
    PlanError, ProtectedResource, Step,
};
use crate::model::{
    Address, Attributes, DesiredResource, Kind, Moved, Owner, Removed, TAG_ADDRESS, Tags, Value,
    resolve_moves,
};
use crate::provider::LiveResource;
use crate::state::{StateDocument, StateOutput, StateResource};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// How to plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanOptions {
    /// `--target`: plan only these addresses (see [`Address::matches_target`]) and what they
    /// depend on; with `destroy`, these and what depends on them.
    pub target: Vec<String>,
    /// `--exclude`: leave these addresses out of the plan, with what depends on them (with
    /// `destroy`, what they depend on).
    pub exclude: Vec<String>,
    /// `--refresh-only`: report drift and adoptions, plan no cloud change.
    pub refresh_only: bool,
    /// `destroy`: delete everything the state (and the refresh) knows.
    pub destroy: bool,
    /// Regions left out entirely (a failed-over environment's primary): what state records
    /// there is neither read, changed nor deleted, and stays in state as it is.
    pub parked_regions: BTreeSet<String>,
    /// The configuration's `moved` blocks, in source order.
    pub moves: Vec<Moved>,
    /// The configuration's `removed` blocks.
    pub removed: Vec<Removed>,
    /// `--retry-rollout`: the groups (addresses or block paths) whose rolled-back release is
    /// rolled out again; every other rolled-back release is held back (see
    /// [`crate::state::RolledBack`]).
    pub retry_rollouts: Vec<String>,
    /// The environment's name when it has `protect = true` and the plan may not replace or
    /// destroy any of its resources (no `--force`, not a destroy, which `--force` guards
    /// itself).
    pub protected_environment: Option<String>,
}

/// Plans the changes that make the cloud match `desired`.
///
/// `desired` holds every resource instance of the environment, keyed by address; `outputs`
/// are the configuration's outputs (copied into the plan); `observed` is what
/// [`super::refresh`] saw (or [`Observed::not_refreshed`]), taken over by the plan: the live
/// objects' attributes become the current objects' without being copied (issue 14).
///
/// # Errors
/// [`PlanError::PreventDestroy`] when the plan would replace or destroy a resource with
/// `prevent_destroy`, [`PlanError::ProtectedEnvironment`] when it would replace or destroy
/// any resource of an environment protected with `protect = true`,
/// [`PlanError::DependencyCycle`] / [`PlanError::StepCycle`] when nothing can be ordered, and
/// [`PlanError::TargetMatchesNothing`] for a `--target` or `--exclude` that names nothing,
/// and the refusals of a `--retry-rollout` that would do nothing ([`super::held`]).
pub fn plan(
    desired: &BTreeMap<Address, DesiredResource>,
    outputs: &BTreeMap<String, StateOutput>,
    state: &StateDocument,
    observed: Observed,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    refuse_retry_where_nothing_rolls_out(
        &options.retry_rollouts,
        options.refresh_only,
        options.destroy,
    )?;

    // Step 0: moves. What `moved` blocks move is recorded, and found by its tags, at its new
    // address before anything else looks at an address, so the rest of the plan compares the
    // object with its new block and never sees a destroy and a create.
    let (mut moved_state, mut observed, moves) = apply_moves(state, observed, &options.moves)?;
    refuse_moves_from_declared(desired, &options.moves)?;
    // Then what `removed` blocks forget leaves state and the refresh's view, so nothing
    // after this plans to delete or adopt it; their addresses are the moved ones.
    let forgets = forget_removed(desired, &mut moved_state, &mut observed, &options.removed)?;
    // Then what `import` blocks import is recorded at its address, as the apply will
    // record it, so the rest of the plan compares it with its block: differences are
    // updates, and nothing is created for it.
    let imports = import_objects(desired, &mut moved_state, &mut observed);
    let state = &*moved_state;

    // Step 1: the scope. `--target` and parked regions decide which addresses may be read as
    // gone, changed or deleted, so they come before anything is compared.
    let scope = Scope::new(desired, state, &observed, options)?;

    // Step 2: state reconciled with what the refresh saw. Drift and adoptions are part of
    // every plan, a refresh-only one included, so they are found before deciding anything.
    let mut reconciled = reconcile(desired, state, &mut observed, &scope);
    // A destroy deletes what is kept until a deadline too (a blue-green rollout's old group).
    if options.destroy {
        for kept in reconciled.kept.iter_mut().filter(|kept| !kept.expired) {
            kept.expired = true;
            if let Some(object) = state.deposed.iter().find(|object| object.id == kept.id) {
                reconciled
                    .garbage
                    .push((object.clone(), super::order::Role::DeleteDeposed));
            }
        }
    }
    let mut plan = Plan {
        format_version: PLAN_FORMAT_VERSION,
        stack: state.stack.clone(),
        environment: state.environment.clone(),
        state_lineage: state.lineage.clone(),
        state_serial: state.serial,
        changes: Vec::new(),
        steps: Vec::new(),
        drift: reconciled.drift.clone(),
        adopted: reconciled.adopted.clone(),
        moves,
        forgets,
        imports,
        outputs: outputs.clone(),
        refresh_calls: observed.calls.clone(),
        refresh_only: options.refresh_only,
        interrupted: Vec::new(),
        policy: Vec::new(),
        rollouts: Vec::new(),
        held: Vec::new(),
        in_use: Vec::new(),
        kept: reconciled.kept.clone(),
    };
    if options.refresh_only {
        plan.interrupted =
            interrupted::resolve(state, &scope, &observed, &reconciled.adopted, &mut [], true);
        return Ok(plan);
    }

    // Step 3: a decision per desired address in scope, against what exists now (a destroy
    // wants nothing, so everything in scope is deleted); a group a rollback took back stays on
    // its version unless `--retry-rollout` names it, and what instances still use is not
    // deleted yet.
    let in_scope: BTreeMap<&Address, &DesiredResource> = if options.destroy {
        BTreeMap::new()
    } else {
        desired
            .iter()
            .filter(|(address, _)| scope.contains(address))
            .collect()
    };
    let owner = Owner {
        stack: state.stack.clone(),
        env: state.environment.clone(),
    };
    let held = held_back(state, &scope, &options.retry_rollouts)?;
    let decisions = decide(&in_scope, &reconciled.current, &owner, &held)?;
    plan.held = decisions
        .held
        .iter()
        .filter_map(|address| {
            let rolled_back = state.rolled_back.get(address)?;
            Some(HeldRollout {
                address: address.clone(),
                rolled_back: rolled_back.clone(),
            })
        })
        .collect();
    let deletes: Vec<&StateResource> = reconciled
        .current
        .values()
        .filter(|object| scope.contains(&object.address) && !in_scope.contains_key(&object.address))
        .collect();
    // What instances still use stays until they let go: the cloud would refuse its delete,
    // whether it is no longer configured, replaced, or deposed by an earlier replacement.
    let check = InUseCheck::new(
        &deletes,
        &reconciled.garbage,
        &reconciled.current,
        &decisions,
        state,
    );
    let (deletes, mut in_use) = check.split(deletes);
    let replacements = check.replacements(&decisions, &reconciled.current, desired);
    in_use.extend(check.keep_deposed(&mut reconciled.garbage));

    // Step 4: refuse the plan if it replaces or destroys a protected resource, before
    // building anything that would suggest otherwise; then if it replaces, destroy first,
    // what instances still use (protection is the error worth reading first: no flag of
    // this plan gets past it); then if it creates first a security group the cloud would
    // refuse for its name.
    refuse_protected(desired, &in_scope, &decisions, &deletes, options)?;
    let (kept_replaced, replaced_in_use) = replacements?;
    refuse_same_name(&decisions, &reconciled.current, desired)?;
    in_use.extend(replaced_in_use);
    plan.in_use = in_use;

    // Step 5: the changes users read and the steps apply runs, address by address.
    let (changes, specs) =
        changes_and_steps(&in_scope, &decisions, &reconciled, &deletes, &kept_replaced);

    // Step 6: the steps ordered by the dependencies of the new configuration (creates and
    // updates) and of what was recorded (deletes). A plan with nothing to do has nothing to
    // order, and skips copying both graphs (issue 14).
    plan.changes = changes;
    if !specs.is_empty() {
        let new_dependencies: BTreeMap<Address, BTreeSet<Address>> = in_scope
            .iter()
            .map(|(address, resource)| ((*address).clone(), resource.depends_on.clone()))
            .collect();
        let mut old_dependencies: BTreeMap<Address, BTreeSet<Address>> = BTreeMap::new();
        for object in reconciled
            .current
            .values()
            .chain(reconciled.garbage.iter().map(|(object, _)| object))
        {
            old_dependencies
                .entry(object.address.clone())
                .or_default()
                .extend(object.dependencies.iter().cloned());
        }
        // A security group deleted with a group whose instances run with it goes after the
        // group, even when state no longer records the group's template using it (the
        // instances run an older version).
        let deleted: Vec<&StateResource> = specs
            .iter()
            .filter(|spec| spec.step.operation == Operation::Delete)
            .filter_map(|spec| deleted_object(spec, &reconciled))
            .collect();
        for (group, security_group) in check.deleted_uses(&deleted) {
            old_dependencies
                .entry(group)
                .or_default()
                .insert(security_group);
        }
        plan.steps = order_steps(
            specs,
            &Dependencies {
                new: &new_dependencies,
                old: &old_dependencies,
            },
        )?;
    }

    // Step 7: what the plan does about the calls an interrupted run left unresolved, once the
    // steps exist that carry some of them on.
    plan.interrupted = interrupted::resolve(
        state,
        &scope,
        &observed,
        &reconciled.adopted,
        &mut plan.steps,
        false,
    );
    Ok(plan)
}

/// State once moves ran (borrowed when nothing moved), the refresh's view, and the moves.
type AfterMoves<'a> = (Cow<'a, StateDocument>, Observed, Vec<Move>);

/// `state` and `observed` as they are once `moves` ran, and the moves planned, one per object.
///
/// # Errors
/// [`PlanError::MoveTargetExists`] for a move onto an address state records for another object.
fn apply_moves<'a>(
    state: &'a StateDocument,
    mut observed: Observed,
    moves: &[Moved],
) -> Result<AfterMoves<'a>, PlanError> {
    let renames = resolve_moves(moves, state.resources.keys()).map_err(|collision| {
        PlanError::MoveTargetExists {
            from: collision.from,
            to: collision.to,
            location: collision.source,
        }
    })?;
    let planned: Vec<Move> = renames
        .iter()
        .filter_map(|(from, to)| {
            let recorded = state.resources.get(from)?;
            Some(Move {
                from: from.clone(),
                to: to.clone(),
                kind: recorded.kind,
                region: recorded.region.clone(),
                id: recorded.id.clone(),
            })
        })
        .collect();
    let pairs: Vec<(Address, Address)> = renames.into_iter().collect();
    // State is copied only when something changes in it: a plan without moves (the common
    // case) reads it as it is (issue 14).
    let mut state = Cow::Borrowed(state);
    if !pairs.is_empty() {
        state.to_mut().rename_all(&pairs);
    }
    // The refresh found the objects by their old address tags (the new ones, after a run that
    // died between rewriting the tags and saving state): either way they are the moved ones.
    for (from, to) in &pairs {
        if let Some(objects) = observed.resources.remove(from) {
            // Their address tags as the apply leaves them, so the rewrite is not drift.
            let objects = objects.into_iter().map(|mut object| {
                if let Some(tag) = object.tags.get_mut(TAG_ADDRESS) {
                    *tag = to.to_string();
                }
                object
            });
            observed
                .resources
                .entry(to.clone())
                .or_default()
                .extend(objects);
        }
    }
    // An object is its id: one found under another address tag than the one state records it
    // at is that record (a cloud that reports a rewritten tag late, as moto's launch templates
    // do, or a tag changed by hand), never an orphan to adopt and delete.
    // Ids are unique per region and kind only: a group's id is its name, which a DR copy in
    // another region shares.
    let recorded_at: BTreeMap<(&str, Kind, &str), &Address> = state
        .resources
        .values()
        .map(|resource| {
            let key = (
                resource.region.as_str(),
                resource.kind,
                resource.id.as_str(),
            );
            (key, &resource.address)
        })
        .collect();
    let is_misplaced = |address: &Address, object: &LiveResource| {
        let key = (object.region.as_str(), object.kind, object.id.as_str());
        recorded_at
            .get(&key)
            .is_some_and(|recorded| *recorded != address)
    };
    let any_misplaced = observed
        .resources
        .iter()
        .any(|(address, objects)| objects.iter().any(|object| is_misplaced(address, object)));
    if !any_misplaced {
        return Ok((state, observed, planned));
    }
    let mut misplaced = Vec::new();
    for (address, objects) in &mut observed.resources {
        objects.retain(|object| {
            let key = (object.region.as_str(), object.kind, object.id.as_str());
            match recorded_at.get(&key) {
                Some(recorded) if *recorded != address => {
                    misplaced.push(((*recorded).clone(), object.clone()));
                    false
                }
                _ => true,
            }
        });
    }
    observed.resources.retain(|_, objects| !objects.is_empty());
    for (address, mut object) in misplaced {
        if let Some(tag) = object.tags.get_mut(TAG_ADDRESS) {
            *tag = address.to_string();
        }
        observed.resources.entry(address).or_default().push(object);
    }
    Ok((state, observed, planned))
}

/// The desired address that `pattern` (a `moved` or `removed` block's `from`, matched as a
/// `--target` is) names, if the configuration still declares one: the shortest, which names
/// the block itself rather than a nested one.
fn declared<'a>(
    desired: &'a BTreeMap<Address, DesiredResource>,
    pattern: &str,
) -> Option<&'a Address> {
    desired
        .keys()
        .filter(|address| address.matches_target(pattern))
        .min_by_key(|address| address.as_str().len())
}

/// Refuses a `moved` block whose `from` the configuration still declares: the object cannot
/// be at its new address while its old block still asks for it (Terraform's "moved object
/// still exists"). Without this check the move ran and the plan destroyed what moved and
/// created the old block afresh.
///
/// # Errors
/// [`PlanError::MovedStillDeclared`] naming the block and the declared address.
fn refuse_moves_from_declared(
    desired: &BTreeMap<Address, DesiredResource>,
    moves: &[Moved],
) -> Result<(), PlanError> {
    for moved in moves {
        if let Some(address) = declared(desired, &moved.from) {
            return Err(PlanError::MovedStillDeclared {
                from: moved.from.clone(),
                to: moved.to.clone(),
                address: address.clone(),
                location: moved.source.clone(),
            });
        }
    }
    Ok(())
}

/// Takes what `removed` blocks with `destroy = false` cover out of `state` and `observed`, and
/// returns it as the objects to forget. A `removed` block with `destroy = true` needs nothing
/// here: its addresses are no longer desired, so the plan deletes them as it would anyway.
///
/// # Errors
/// [`PlanError::RemovedStillDeclared`] for a `removed` block whose address is still desired:
/// the configuration cannot both manage and let go of one object.
fn forget_removed(
    desired: &BTreeMap<Address, DesiredResource>,
    state: &mut Cow<'_, StateDocument>,
    observed: &mut Observed,
    removed: &[Removed],
) -> Result<Vec<Forget>, PlanError> {
    for block in removed {
        if let Some(address) = declared(desired, &block.from) {
            return Err(PlanError::RemovedStillDeclared {
                from: block.from.clone(),
                address: address.clone(),
                location: block.source.clone(),
            });
        }
    }
    // Objects found by their tags at a removed address that state does not record (the
    // trace of an interrupted run) are let go as well, or every later plan would adopt them.
    let forgotten: BTreeSet<Address> = state
        .resources
        .keys()
        .chain(observed.resources.keys())
        .filter(|address| {
            removed
                .iter()
                .any(|block| !block.destroy && block.covers(address))
        })
        .cloned()
        .collect();
    let mut forgets = Vec::new();
    if forgotten.is_empty() {
        return Ok(forgets);
    }
    let state = state.to_mut();
    for address in forgotten {
        let recorded = state.remove(&address);
        let live = observed.resources.remove(&address).unwrap_or_default();
        if let Some(object) = &recorded {
            forgets.push(Forget {
                address: address.clone(),
                kind: object.kind,
                region: object.region.clone(),
                id: object.id.clone(),
            });
        }
        for object in live {
            if recorded
                .as_ref()
                .is_none_or(|recorded| recorded.id != object.id)
            {
                forgets.push(Forget {
                    address: address.clone(),
                    kind: object.kind,
                    region: object.region,
                    id: object.id,
                });
            }
        }
    }
    Ok(forgets)
}

/// Records in `state`, and in what `observed` found at their addresses, the objects the
/// refresh read for `import` blocks whose addresses state does not record yet (a block left
/// after its import ran does nothing), with the ownership tags the apply gives them; returns
/// them as recorded.
fn import_objects(
    desired: &BTreeMap<Address, DesiredResource>,
    state: &mut Cow<'_, StateDocument>,
    observed: &mut Observed,
) -> Vec<StateResource> {
    if observed.imports.is_empty() {
        return Vec::new();
    }
    let state = state.to_mut();
    let owner = Owner {
        stack: state.stack.clone(),
        env: state.environment.clone(),
    };
    let mut imports = Vec::new();
    for (address, mut live) in std::mem::take(&mut observed.imports) {
        if state.resources.contains_key(&address) {
            continue;
        }
        live.tags.extend(owner.tags_for(&address));
        let object = adopt(&address, &live, desired.get(&address));
        state.resources.insert(address.clone(), object.clone());
        observed.resources.insert(address, vec![live]);
        imports.push(object);
    }
    imports
}

/// Refuses replacements and deletes of resources with `prevent_destroy`, and of any resource
/// of an environment with `protect = true`; each is named with why it would go (the
/// attributes forcing the replacement, or a block no longer configured).
fn refuse_protected(
    desired: &BTreeMap<Address, DesiredResource>,
    in_scope: &BTreeMap<&Address, &DesiredResource>,
    decisions: &Decisions,
    deletes: &[&StateResource],
    options: &PlanOptions,
) -> Result<(), PlanError> {
    // Every resource the plan would replace or destroy, with whether its block forbids it.
    let mut endangered: Vec<(ProtectedResource, bool)> = Vec::new();
    for (address, decision) in &decisions.by_address {
        if decision.action == Some(ChangeAction::Replace) {
            let resource = in_scope[address];
            let protected = ProtectedResource {
                address: address.clone(),
                source: resource.source.clone(),
                replace_because: decision.replace_because.clone(),
            };
            endangered.push((protected, resource.lifecycle.prevent_destroy));
        }
    }
    for object in deletes {
        let protected = ProtectedResource {
            address: object.address.clone(),
            source: desired
                .get(&object.address)
                .and_then(|resource| resource.source.clone()),
            replace_because: Vec::new(),
        };
        endangered.push((protected, object.lifecycle.prevent_destroy));
    }
    endangered.sort_by(|left, right| left.0.address.cmp(&right.0.address));
    // `prevent_destroy` first: no flag overrides it, so it is the error worth reading.
    let prevented: Vec<ProtectedResource> = endangered
        .iter()
        .filter(|(_, prevent_destroy)| *prevent_destroy)
        .map(|(protected, _)| protected.clone())
        .collect();
    if !prevented.is_empty() {
        return Err(PlanError::PreventDestroy {
            resources: prevented,
        });
    }
    match &options.protected_environment {
        Some(environment) if !endangered.is_empty() => Err(PlanError::ProtectedEnvironment {
            environment: environment.clone(),
            resources: endangered
                .into_iter()
                .map(|(protected, _)| protected)
                .collect(),
        }),
        _ => Ok(()),
    }
}

/// The changes and the unordered steps of the plan, by address: the decided create, update or
/// replacement, the delete of what is no longer wanted, and the deletes of duplicates and
/// deposed objects.
fn changes_and_steps(
    in_scope: &BTreeMap<&Address, &DesiredResource>,
    decisions: &Decisions,
    reconciled: &Reconciled,
    deletes: &[&StateResource],
    kept_replaced: &BTreeSet<Address>,
) -> (Vec<Change>, Vec<StepSpec>) {
    let mut changes = Vec::new();
    let mut specs = Vec::new();
    let deleted: BTreeSet<&Address> = deletes.iter().map(|object| &object.address).collect();
    let mut addresses: BTreeSet<&Address> = decisions.by_address.keys().collect();
    addresses.extend(deleted.iter().copied());
    addresses.extend(reconciled.garbage.iter().map(|(object, _)| &object.address));
    for address in addresses {
        if let Some(decision) = decisions.by_address.get(address)
            && let Some(action) = decision.action
        {
            let resource = in_scope[address];
            let current = reconciled.current.get(address);
            let cbd = decisions.create_before_destroy.contains(address);
            changes.push(Change {
                address: address.clone(),
                kind: resource.kind,
                region: resource.region.clone(),
                action,
                before: current.map(attributes_with_id),
                after: Some(decision.resolved.clone()),
                before_tags: current
                    .map(|object| object.tags.clone())
                    .unwrap_or_default(),
                after_tags: decision.tags.clone(),
                replace_because: decision.replace_because.clone(),
                create_before_destroy: action == ChangeAction::Replace && cbd,
                keeps_old: action == ChangeAction::Replace && kept_replaced.contains(address),
                sensitive: decision.sensitive.clone(),
            });
            let write = |operation, role, after: &Attributes| StepSpec {
                step: Step {
                    index: 0,
                    address: address.clone(),
                    kind: resource.kind,
                    region: resource.region.clone(),
                    operation,
                    id: match operation {
                        Operation::Update => current.map(|object| object.id.clone()),
                        _ => None,
                    },
                    before: match operation {
                        Operation::Update => current.map(|object| object.attributes.clone()),
                        _ => None,
                    },
                    after: Some(after.clone()),
                    tags: decision.tags.clone(),
                    deposed: false,
                    after_steps: Vec::new(),
                    dependencies: resource.depends_on.clone(),
                    lifecycle: resource.lifecycle.clone(),
                    sensitive: decision.sensitive.clone(),
                    resumes: None,
                },
                role,
            };
            match (action, current) {
                (ChangeAction::Update, _) => {
                    specs.push(write(Operation::Update, Role::Update, &decision.step_after));
                }
                (ChangeAction::Replace, Some(current)) => {
                    let replacement = if cbd {
                        Replacement::CreateFirst
                    } else {
                        Replacement::DestroyFirst
                    };
                    specs.push(write(Operation::Create, Role::Create, &decision.resolved));
                    // An old object instances still use stays deposed until they let go.
                    if !kept_replaced.contains(address) {
                        specs.push(delete_spec(
                            current,
                            Role::DeleteCurrent {
                                replacement: Some(replacement),
                            },
                            cbd,
                        ));
                    }
                }
                _ => specs.push(write(Operation::Create, Role::Create, &decision.resolved)),
            }
        }
        if let Some(current) = reconciled.current.get(address)
            && deleted.contains(address)
        {
            changes.push(delete_change(current));
            specs.push(delete_spec(
                current,
                Role::DeleteCurrent { replacement: None },
                false,
            ));
        }
        for (object, role) in reconciled
            .garbage
            .iter()
            .filter(|(object, _)| &object.address == address)
        {
            changes.push(delete_change(object));
            // An interrupted delete may be of the address's recorded object, which its
            // completion removes from state like any delete of the current object.
            specs.push(delete_spec(object, *role, *role != Role::FinishDelete));
        }
    }
    (changes, specs)
}

/// The object the delete step of `spec` deletes: the current object at its address, or a
/// deposed, duplicate or half-deleted one.
fn deleted_object<'r>(spec: &StepSpec, reconciled: &'r Reconciled) -> Option<&'r StateResource> {
    let id = spec.step.id.as_deref()?;
    reconciled
        .current
        .get(&spec.step.address)
        .filter(|object| object.id == id)
        .or_else(|| {
            reconciled
                .garbage
                .iter()
                .map(|(object, _)| object)
                .find(|object| object.address == spec.step.address && object.id == id)
        })
}

/// The recorded attributes plus the cloud id, as a change's `before`.
fn attributes_with_id(object: &StateResource) -> Attributes {
    let mut attributes = object.attributes.clone();
    attributes
        .entry("id".to_string())
        .or_insert_with(|| Value::String(object.id.clone()));
    attributes
}

fn delete_change(object: &StateResource) -> Change {
    Change {
        address: object.address.clone(),
        kind: object.kind,
        region: object.region.clone(),
        action: ChangeAction::Delete,
        before: Some(attributes_with_id(object)),
        after: None,
        before_tags: object.tags.clone(),
        after_tags: Tags::new(),
        replace_because: Vec::new(),
        create_before_destroy: false,
        keeps_old: false,
        sensitive: object.sensitive.clone(),
    }
}

fn delete_spec(object: &StateResource, role: Role, deposed: bool) -> StepSpec {
    StepSpec {
        step: Step {
            index: 0,
            address: object.address.clone(),
            kind: object.kind,
            region: object.region.clone(),
            operation: Operation::Delete,
            id: Some(object.id.clone()),
            before: Some(object.attributes.clone()),
            after: None,
            tags: object.tags.clone(),
            deposed,
            after_steps: Vec::new(),
            dependencies: object.dependencies.clone(),
            lifecycle: object.lifecycle.clone(),
            sensitive: object.sensitive.clone(),
            resumes: None,
        },
        role,
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;

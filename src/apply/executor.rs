//! The executor: walks a plan's steps in dependency order with bounded, throttle-adaptive
//! parallelism, retries what may succeed again, resolves calls whose answer never came, and
//! saves state after every completed step.
//!
//! One task (the caller's) owns the state, the sink and the observer; provider calls run in
//! a [`JoinSet`], one task per attempt, and hand their result back. Keeping every decision on
//! one task makes the order of state writes and events follow completions exactly, and needs
//! no locks. A step waiting out a retry delay keeps its concurrency slot, so that backing off
//! really lowers the rate of calls.
//!
//! Work goes in rounds. The results that are in when the executor wakes up are recorded
//! together, the steps they release are started — each writing the intent of its call into
//! state — and all of it is saved with one write before anything is reported or any new call
//! is sent. A save rewrites the whole document, so saving once per step made a wide apply
//! cost (steps × document size) and held back every step waiting on one of them; and since
//! the intents of a round ride in the save that records the round's results, recording every
//! call before it is sent costs no extra save once the apply is under way.

use super::ambiguity::{Search, adopt, look_for};
use super::concurrency::{Concurrency, LimitChange};
use super::error::{ApplyError, StepError};
use super::events::{ApplyEvent, ApplyObserver, RolloutEnd};
use super::forget::run_forgets;
use super::import::run_imports;
use super::moves::run_moves;
use super::options::ApplyOptions;
use super::prepare::{Prepared, ProviderCall, idempotency_token, prepare};
use super::ready::Ready;
use super::record::{
    CallOutcome, record_adopted, record_drift, record_outputs, record_resolved, record_step,
};
use super::report::ApplyReport;
use super::rollout::RolloutResult;
use super::sink::StateSink;
use crate::model::{Address, Owner};
use crate::plan::{Operation, Plan};
use crate::provider::{Provider, ProviderError, Retrying};
use crate::state::{HistoryEntry, Intent, StateDocument};
use crate::util::backoff::Backoff;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::{Id as TaskId, JoinSet};
use tokio::time::Instant;

/// Executes `plan` against `provider`, starting from `state` (the state the plan was made
/// against, loaded and locked by the caller), saving every change through `sink` and telling
/// `observer` about progress.
///
/// The caller checks first that a saved plan still matches `state` (lineage and serial); the
/// executor trusts the plan.
///
/// In order:
/// 0. Moves: each moved object's address tag is rewritten (retried while the cloud throttles)
///    and its state entry renamed; a failure saves the moves done and stops there. Then
///    forgets: each object a `removed` block lets go of loses its ownership tags and its
///    state entry; then imports: each object an `import` block imports gets its ownership
///    tags and a state entry; each with the same stop on failure.
/// 1. Resources the plan adopted, drift its refresh found (in any plan, not only a
///    refresh-only one: it is what the cloud holds) and the interrupted calls the plan
///    resolved are recorded, and saved before any call is sent.
/// 2. Unless the plan is refresh-only, steps run as soon as every step in their
///    `after_steps` completed, at most `options.parallelism` at once (fewer while the provider
///    throttles). Each step's attributes are resolved against state as it is then, and the
///    intent of its call is saved before the call is sent; its result is recorded (the intent
///    cleared) and state saved before dependents start (one save for all the results that
///    came in together and the intents of the steps they release).
///    An update that is a no-op once resolved completes without a call or a save.
/// 3. A create whose answer never came ([`ProviderError::Ambiguous`]), or that carries on an
///    interrupted create of an earlier run, looks for its object before it is sent again (see
///    [`super::ambiguity`]); a `Duplicate`/`Conflict` refusal right after it means the same.
///    A step that gives up without knowing whether its call took effect keeps its intent in
///    state, for the next plan to resolve.
/// 4. On the first failed step, or when `options.stop` turns true, nothing new is scheduled;
///    calls in flight (retries included) finish and are recorded.
/// 5. Outputs are resolved against state, a history entry is added and state saved.
///
/// The executor increments `state.serial` before each save. It never panics on provider or
/// sink behaviour and prints nothing; everything it has to say is in the returned report.
/// A save that fails stops the apply at once ([`ApplyError::Persist`] in `report.fatal`).
pub async fn execute(
    plan: &Plan,
    provider: Arc<dyn Provider>,
    state: StateDocument,
    sink: &mut dyn StateSink,
    options: &ApplyOptions,
    observer: &dyn ApplyObserver,
) -> ApplyReport {
    let started = Instant::now();
    let mut executor = Executor::new(plan, provider, state, sink, options, observer);
    if let Err(reason) = validate(plan) {
        executor.fatal = Some(ApplyError::InvalidPlan { reason });
        return executor.into_report(started);
    }
    let owner = Owner {
        stack: plan.stack.clone(),
        env: plan.environment.clone(),
    };
    let provider = Retrying::wrap(executor.provider.clone());
    // Moves, forgets and imports, in that order; the first that fails stops the apply, with
    // what the ones before it changed saved.
    let (provider, state) = (provider.as_ref(), &mut executor.state);
    let (moved, failed_move) = run_moves(provider, &owner, state, &plan.moves).await;
    let mut changed = moved;
    let mut failed = failed_move.map(|error| ApplyError::Move(Box::new(error)));
    if failed.is_none() {
        let (forgot, failed_forget) = run_forgets(provider, &owner, state, &plan.forgets).await;
        changed |= forgot;
        failed = failed_forget.map(|error| ApplyError::Forget(Box::new(error)));
    }
    if failed.is_none() {
        let (imported, failed_import) = run_imports(provider, &owner, state, &plan.imports).await;
        changed |= imported;
        failed = failed_import.map(|error| ApplyError::Import(Box::new(error)));
    }
    if let Some(error) = failed {
        executor.save_then_fail(error);
        return executor.into_report(started);
    }
    executor.dirty |= changed;
    executor.dirty |= record_adopted(&mut executor.state, &plan.adopted);
    executor.dirty |= record_drift(&mut executor.state, &plan.drift);
    executor.dirty |= record_resolved(&mut executor.state, &plan.interrupted);
    // A refresh-only plan sends nothing; the final save below records what it found.
    // The records of new rollouts, saved before the group's update step can run: from then
    // on a killed process leaves a rollout the next apply resumes, never a group that state
    // calls done while its instances run the old version.
    if !plan.refresh_only && plan.rollouts.iter().any(|rollout| rollout.resume.is_none()) {
        // On the cloud's clock, as the rollout's gates and history are.
        let now = crate::provider::recorded_time(executor.provider.as_ref()).await;
        for planned in plan
            .rollouts
            .iter()
            .filter(|rollout| rollout.resume.is_none())
        {
            executor.state.rollouts.insert(
                planned.address.clone(),
                super::rollout::record(planned, now),
            );
        }
        if let Err(error) = executor.persist() {
            executor.fatal = Some(error);
            return executor.into_report(started);
        }
    }
    // Rollouts an earlier apply left unfinished come first: their group must run one
    // version again before the plan changes anything else (a resumed rollback stops the
    // apply, whose plan assumed otherwise).
    if !plan.refresh_only
        && let Err(error) = executor.roll_out(|rollout| rollout.first).await
    {
        executor.fatal = Some(error);
        executor.flush_events();
        return executor.into_report(started);
    }
    if !plan.refresh_only
        && let Err(error) = executor.run().await
    {
        executor.abandon_in_flight();
        executor.fatal = Some(error);
        executor.flush_events();
        return executor.into_report(started);
    }
    // New rollouts once every step completed: the group runs its new template version, and
    // the alarms its gates read exist.
    if !plan.refresh_only
        && let Err(error) = executor.roll_out(|rollout| !rollout.first).await
    {
        executor.fatal = Some(error);
        executor.flush_events();
        return executor.into_report(started);
    }
    // A group that is gone (destroyed) has no rollout left to resume.
    let resources = &executor.state.resources;
    let gone: Vec<Address> = executor
        .state
        .rollouts
        .keys()
        .filter(|address| !resources.contains_key(*address))
        .cloned()
        .collect();
    for address in gone {
        executor.state.rollouts.remove(&address);
    }
    executor.unresolved_outputs = record_outputs(&mut executor.state, &plan.outputs);
    let entry = executor.history_entry();
    executor.state.history.push(entry);
    if let Err(error) = executor.persist() {
        executor.fatal = Some(error);
    }
    executor.flush_events();
    executor.into_report(started)
}

/// Checks that the steps form a graph the executor can finish: indices match positions,
/// every edge points at an existing other step, and there is no cycle.
fn validate(plan: &Plan) -> Result<(), String> {
    let count = plan.steps.len();
    let mut waiting = vec![0usize; count];
    let mut dependents = vec![Vec::new(); count];
    for (position, step) in plan.steps.iter().enumerate() {
        if step.index != position {
            return Err(format!(
                "step {position} (`{}`) says it is step {}",
                step.address, step.index
            ));
        }
        for &before in unique(&step.after_steps).iter() {
            if before >= count || before == position {
                return Err(format!(
                    "step {position} (`{}`) waits on step {before}, which does not exist",
                    step.address
                ));
            }
            waiting[position] += 1;
            dependents[before].push(position);
        }
    }
    let mut ready: Vec<usize> = (0..count).filter(|&step| waiting[step] == 0).collect();
    let mut finished = 0;
    while let Some(step) = ready.pop() {
        finished += 1;
        for &dependent in &dependents[step] {
            waiting[dependent] -= 1;
            if waiting[dependent] == 0 {
                ready.push(dependent);
            }
        }
    }
    if finished < count {
        let stuck: Vec<String> = (0..count)
            .filter(|&step| waiting[step] > 0)
            .map(|step| format!("`{}`", plan.steps[step].address))
            .collect();
        return Err(format!("steps wait on each other: {}", stuck.join(", ")));
    }
    Ok(())
}

fn unique(indices: &[usize]) -> BTreeSet<usize> {
    indices.iter().copied().collect()
}

/// A step whose call is in flight or waiting out a retry delay.
struct Running {
    call: Arc<ProviderCall>,
    /// The call's idempotency token, which names its intent in state.
    token: String,
    /// Calls made so far.
    attempts: u32,
    /// The concurrency generation the latest attempt was launched in.
    generation: u64,
    started: Instant,
    /// Set once a create may have made its object without our knowing: every later attempt
    /// looks for the object first, until this deadline (the consistency window after the
    /// call that may have taken effect was sent).
    look_until: Option<Instant>,
    /// Whether some call of the step may have taken effect unanswered: if the step gives up,
    /// its intent stays in state for the next run.
    uncertain: bool,
}

/// What an attempt hands back: the step, when its create was sent (if it was), and how the
/// attempt ended.
type AttemptResult = (usize, Option<Instant>, Result<CallOutcome, ProviderError>);

/// A step whose work is done, waiting to be recorded and saved.
struct Finished {
    index: usize,
    /// `None` when nothing needed calling.
    outcome: Option<CallOutcome>,
    started: Instant,
    /// The token naming the step's intent, when it made a call.
    token: Option<String>,
}

struct Executor<'a> {
    plan: &'a Plan,
    provider: Arc<dyn Provider>,
    state: StateDocument,
    sink: &'a mut dyn StateSink,
    options: &'a ApplyOptions,
    observer: &'a dyn ApplyObserver,
    concurrency: Concurrency,
    backoff: Backoff,
    /// The environment's ownership tags, by which the object of an ambiguous create is found.
    owner: Owner,
    /// How long a new object may be missing from reads.
    window: Duration,
    /// Ids the plan deletes: never the object an ambiguous create looks for.
    deleting: BTreeSet<String>,
    /// Addresses whose create is the new half of a `create_before_destroy` replacement.
    deposing: BTreeSet<Address>,
    /// Per step: how many of its `after_steps` have not completed.
    waiting: Vec<usize>,
    dependents: Vec<Vec<usize>>,
    ready: Ready,
    launched: Vec<bool>,
    running: HashMap<usize, Running>,
    /// Steps started in this round, whose first call goes out once the round is saved.
    to_send: Vec<usize>,
    tasks: JoinSet<AttemptResult>,
    task_steps: HashMap<TaskId, usize>,
    /// Whether state changed since it was last saved.
    dirty: bool,
    /// Addresses whose entries the steps recorded since the last save.
    changed: BTreeSet<Address>,
    /// Whether the next save must write the whole document: until the first save, moves,
    /// imports, adoptions and drift may have changed any entry, unlike a step, which changes
    /// only its own (and the deposed objects).
    whole: bool,
    /// Events of this round, told once the round is saved.
    events: Vec<ApplyEvent>,
    /// Set by the first failure or a stop request: nothing new is scheduled after it.
    stopping: bool,
    interrupted: bool,
    completed: Vec<(Address, Operation)>,
    failed: Vec<(Address, Operation, String)>,
    unresolved_outputs: Vec<String>,
    fatal: Option<ApplyError>,
    provider_calls: u64,
    retries: u64,
    rollouts: Vec<RolloutResult>,
}

impl super::rollout::Ledger for Executor<'_> {
    /// A rollout may change any part of state: whatever it leaves unsaved goes in a whole
    /// save.
    fn state(&mut self) -> &mut StateDocument {
        self.whole = true;
        &mut self.state
    }

    fn persist(&mut self) -> Result<(), ApplyError> {
        Executor::persist(self)
    }

    /// A rollout's events are told at once: each follows the save of its step, and a rollout
    /// runs outside the executor's rounds.
    fn emit(&self, event: ApplyEvent) {
        self.observer.on_event(&event);
    }

    fn stop(&self) -> Option<tokio::sync::watch::Receiver<bool>> {
        self.options.stop.clone()
    }
}

impl<'a> Executor<'a> {
    fn new(
        plan: &'a Plan,
        provider: Arc<dyn Provider>,
        state: StateDocument,
        sink: &'a mut dyn StateSink,
        options: &'a ApplyOptions,
        observer: &'a dyn ApplyObserver,
    ) -> Self {
        let count = plan.steps.len();
        let mut waiting = vec![0; count];
        let mut dependents = vec![Vec::new(); count];
        for (position, step) in plan.steps.iter().enumerate() {
            for before in unique(&step.after_steps) {
                if before < count {
                    waiting[position] += 1;
                    dependents[before].push(position);
                }
            }
        }
        let mut ready = Ready::new(provider.rate_limited());
        for (index, step) in plan.steps.iter().enumerate() {
            if waiting[index] == 0 {
                ready.insert(index, step);
            }
        }
        // A `create_before_destroy` replacement deposes the old object even when the plan
        // does not delete it yet (instances still use it): it stays in state, deposed.
        let deposing = plan
            .steps
            .iter()
            .filter(|step| step.operation == Operation::Delete && step.deposed)
            .map(|step| step.address.clone())
            .chain(
                plan.changes
                    .iter()
                    .filter(|change| change.create_before_destroy)
                    .map(|change| change.address.clone()),
            )
            .collect();
        let deleting = plan
            .steps
            .iter()
            .filter(|step| step.operation == Operation::Delete)
            .filter_map(|step| step.id.clone())
            .collect();
        let window = options
            .consistency_window
            .unwrap_or_else(|| provider.consistency_window());
        Executor {
            plan,
            provider,
            state,
            sink,
            options,
            observer,
            concurrency: Concurrency::new(options.parallelism),
            backoff: Backoff::new(
                options.backoff_base,
                options.backoff_cap,
                options.jitter_seed,
            ),
            owner: Owner {
                stack: plan.stack.clone(),
                env: plan.environment.clone(),
            },
            window,
            deleting,
            deposing,
            waiting,
            dependents,
            ready,
            launched: vec![false; count],
            running: HashMap::new(),
            to_send: Vec::new(),
            tasks: JoinSet::new(),
            task_steps: HashMap::new(),
            dirty: false,
            changed: BTreeSet::new(),
            whole: true,
            events: Vec::new(),
            stopping: false,
            interrupted: false,
            completed: Vec::new(),
            failed: Vec::new(),
            unresolved_outputs: Vec::new(),
            fatal: None,
            provider_calls: 0,
            retries: 0,
            rollouts: Vec::new(),
        }
    }

    /// Runs the plan's rollouts that `which` selects, in address order, unless the apply is
    /// stopping; a rollout that does not complete is a failure of its group and stops the
    /// apply.
    ///
    /// # Errors
    /// [`ApplyError::Persist`] as soon as a save fails.
    async fn roll_out(
        &mut self,
        which: impl Fn(&crate::plan::PlannedRollout) -> bool,
    ) -> Result<(), ApplyError> {
        let plan = self.plan;
        for planned in plan.rollouts.iter().filter(|rollout| which(rollout)) {
            if self.stopping {
                return Ok(());
            }
            // Retries of the rollout's own calls; the executor's scheduling is not involved.
            let provider = crate::provider::Retrying::wrap(Arc::clone(&self.provider));
            let result = super::rollout::run(planned, provider.as_ref(), self).await?;
            self.emit(ApplyEvent::RolloutEnded {
                address: result.address.clone(),
                end: result.end.clone(),
                elapsed: result.elapsed,
            });
            self.flush_events();
            // A rollout that did not complete fails the apply, whichever way it ended.
            let failure = match &result.end {
                RolloutEnd::Completed => None,
                RolloutEnd::RolledBack { reason } => Some(format!("rollout rolled back: {reason}")),
                RolloutEnd::Failed { reason } => Some(format!("rollout failed: {reason}")),
            };
            if let Some(message) = failure {
                self.failed
                    .push((planned.address.clone(), Operation::Update, message));
                self.stopping = true;
            }
            self.rollouts.push(result);
        }
        Ok(())
    }

    /// Runs steps until none is running and none may start.
    ///
    /// # Errors
    ///
    /// [`ApplyError::Persist`] as soon as a save fails; the caller abandons what is in flight.
    async fn run(&mut self) -> Result<(), ApplyError> {
        self.advance(Vec::new())?;
        while let Some(joined) = self.tasks.join_next_with_id().await {
            let mut done = Vec::new();
            self.take_result(joined, &mut done);
            while let Some(joined) = self.tasks.try_join_next_with_id() {
                self.take_result(joined, &mut done);
            }
            self.advance(done)?;
        }
        Ok(())
    }

    /// One round: records the steps in `done`, starts what may start, saves once if
    /// anything changed, then tells the round's events and sends the new steps' calls.
    fn advance(&mut self, done: Vec<Finished>) -> Result<(), ApplyError> {
        self.record(done);
        self.start_ready();
        if self.dirty && self.whole {
            self.persist()?;
        } else if self.dirty {
            self.persist_changes()?;
        }
        self.flush_events();
        for index in std::mem::take(&mut self.to_send) {
            self.spawn_attempt(index, Duration::ZERO);
        }
        Ok(())
    }

    /// Handles one finished attempt; a successful call joins `done`, to be completed with
    /// the others taken at the same time.
    fn take_result(
        &mut self,
        joined: Result<(TaskId, AttemptResult), tokio::task::JoinError>,
        done: &mut Vec<Finished>,
    ) {
        match joined {
            Ok((task, (index, sent, result))) => {
                self.task_steps.remove(&task);
                if let Some(finished) = self.finish_attempt(index, sent, result) {
                    done.push(finished);
                }
            }
            Err(error) => {
                if let Some(index) = self.task_steps.remove(&error.id()) {
                    // The call may have been made: its intent stays for the next run.
                    self.running.remove(&index);
                    self.fail(index, StepError::Panicked);
                }
            }
        }
    }

    fn start_ready(&mut self) {
        // Checking here is enough to honour a stop promptly: new work only ever starts here,
        // at the beginning and after a call returns.
        let stop_requested = self
            .options
            .stop
            .as_ref()
            .is_some_and(|stop| *stop.borrow());
        if stop_requested && !self.stopping && !self.ready.is_empty() {
            self.stopping = true;
            self.interrupted = true;
        }
        while !self.stopping && self.running.len() < self.concurrency.limit() {
            let running = self.running.keys().map(|&index| &self.plan.steps[index]);
            let Some(index) = self.ready.take_next(running) else {
                break;
            };
            self.start(index);
        }
    }

    /// Starts a step: prepares its call and writes its intent into state; the call goes out
    /// once the round is saved. An update with nothing left to change completes at once.
    fn start(&mut self, index: usize) {
        let step = &self.plan.steps[index];
        self.launched[index] = true;
        self.emit(ApplyEvent::StepStarted {
            index,
            address: step.address.clone(),
            operation: step.operation,
        });
        // A step carrying on an interrupted call sends that call's token, so a cloud that
        // honours tokens answers with what the first call made.
        let token = match &step.resumes {
            Some(intent) => intent.token.clone(),
            None => idempotency_token(&self.plan.state_lineage, self.plan.state_serial, step),
        };
        match prepare(step, &self.state, token.clone()) {
            Err(error) => self.fail(index, error),
            Ok(Prepared::NoChange) => self.record(vec![Finished {
                index,
                outcome: None,
                started: Instant::now(),
                token: None,
            }]),
            Ok(Prepared::Call(call)) => {
                let now = chrono::Utc::now();
                // An interrupted create's call may have been carried out well after its
                // intent was written (it was queued, or still in flight when its run died),
                // and its object then stays hidden from reads for a window more: it is looked
                // for until two windows after the intent.
                let look_until = match (&step.resumes, &call) {
                    (Some(intent), ProviderCall::Create(_)) => {
                        let elapsed = (now - intent.since).to_std().unwrap_or_default();
                        Some(Instant::now() + (self.window * 2).saturating_sub(elapsed))
                    }
                    _ => None,
                };
                self.state.intents.retain(|intent| intent.token != token);
                self.state.intents.push(Intent {
                    operation: step.operation,
                    address: step.address.clone(),
                    kind: step.kind,
                    region: step.region.clone(),
                    id: call.target().map(str::to_string),
                    token: token.clone(),
                    since: now,
                });
                self.dirty = true;
                self.running.insert(
                    index,
                    Running {
                        call: Arc::new(call),
                        token,
                        attempts: 0,
                        generation: 0,
                        started: Instant::now(),
                        look_until,
                        uncertain: step.resumes.is_some(),
                    },
                );
                self.to_send.push(index);
            }
        }
    }

    fn spawn_attempt(&mut self, index: usize, delay: Duration) {
        let search = self.search_for(index);
        let Some(running) = self.running.get_mut(&index) else {
            return;
        };
        running.attempts += 1;
        running.generation = self.concurrency.generation();
        self.provider_calls += 1;
        let provider = Arc::clone(&self.provider);
        let call = Arc::clone(&running.call);
        let handle = self.tasks.spawn(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let (sent, result) = perform(provider.as_ref(), &call, search.as_ref()).await;
            (index, sent, result)
        });
        self.task_steps.insert(handle.id(), index);
    }

    /// Where the next attempt of a create that may have made its object looks for it; `None`
    /// for every other attempt, and for kinds the cloud keeps no tags on (their create is an
    /// upsert, sent again as it is).
    fn search_for(&self, index: usize) -> Option<Search> {
        let running = self.running.get(&index)?;
        let deadline = running.look_until?;
        let ProviderCall::Create(request) = running.call.as_ref() else {
            return None;
        };
        if !request.kind.takes_tags() {
            return None;
        }
        let known = self
            .state
            .resources
            .values()
            .chain(&self.state.deposed)
            .filter(|object| object.kind == request.kind && object.region == request.region)
            .map(|object| object.id.clone())
            .chain(self.deleting.iter().cloned())
            .collect();
        Some(Search {
            owner: self.owner.clone(),
            address: self.plan.steps[index].address.to_string(),
            known,
            deadline,
        })
    }

    /// Retries or fails a step whose attempt failed; returns the step when it succeeded.
    /// `sent` is when the attempt sent its create, if it did.
    fn finish_attempt(
        &mut self,
        index: usize,
        sent: Option<Instant>,
        result: Result<CallOutcome, ProviderError>,
    ) -> Option<Finished> {
        let window = self.window;
        let running = self.running.get_mut(&index)?;
        let error = match result {
            Ok(outcome) => {
                let started = running.started;
                let token = running.token.clone();
                self.running.remove(&index);
                let change = self.concurrency.succeeded();
                self.limit_changed(change);
                return Some(Finished {
                    index,
                    outcome: Some(outcome),
                    started,
                    token: Some(token),
                });
            }
            Err(error) => error,
        };
        let creates = matches!(running.call.as_ref(), ProviderCall::Create(_));
        if matches!(error, ProviderError::Ambiguous { .. }) {
            running.uncertain = true;
            // The answer came after whatever effect the call had: the object is visible a
            // window from now at the latest.
            if creates && sent.is_some() {
                let until = Instant::now() + window;
                running.look_until = Some(running.look_until.map_or(until, |old| old.max(until)));
            }
        }
        // A refusal because the object exists, after a create that may have made it: the
        // next attempt looks for it.
        let ours_maybe = creates && running.look_until.is_some() && error.is_conflict();
        let (attempts, generation, uncertain) =
            (running.attempts, running.generation, running.uncertain);
        if (error.is_retryable() || ours_maybe) && attempts < self.options.max_attempts {
            if matches!(error, ProviderError::Throttled { .. }) {
                let change = self.concurrency.throttled(generation);
                self.limit_changed(change);
            }
            let delay = self.backoff.delay(attempts);
            let step = &self.plan.steps[index];
            self.emit(ApplyEvent::StepRetrying {
                index,
                address: step.address.clone(),
                operation: step.operation,
                attempt: attempts,
                delay,
                error: error.to_string(),
            });
            self.retries += 1;
            self.spawn_attempt(index, delay);
            return None;
        }
        let token = running.token.clone();
        self.running.remove(&index);
        if !uncertain {
            // Refused for good: the call had no effect, and nothing is left to resolve. This
            // alone is not worth a save: the next one (the final one at least) takes it along,
            // and a run that dies before only makes the next run look for nothing.
            self.state.intents.retain(|intent| intent.token != token);
        }
        self.fail(
            index,
            StepError::Provider {
                source: error,
                attempts,
            },
        );
        None
    }

    /// Records completed steps in state (their intents cleared), then releases the steps
    /// waiting on them. Saving is the round's business.
    fn record(&mut self, done: Vec<Finished>) {
        let plan = self.plan;
        for Finished {
            index,
            outcome,
            started,
            token,
        } in done
        {
            let step = &plan.steps[index];
            self.completed.push((step.address.clone(), step.operation));
            let called_provider = outcome.is_some();
            if let Some(outcome) = outcome {
                let depose = self.deposing.contains(&step.address);
                record_step(&mut self.state, step, outcome, depose);
                if let Some(token) = token {
                    self.state.intents.retain(|intent| intent.token != token);
                }
                self.state.changed_at = Some(chrono::Utc::now());
                // A step changes its own address's entry and the deposed objects, no other.
                self.changed.insert(step.address.clone());
                self.dirty = true;
            }
            self.emit(ApplyEvent::StepCompleted {
                index,
                address: step.address.clone(),
                operation: step.operation,
                called_provider,
                elapsed: started.elapsed(),
            });
            let dependents = std::mem::take(&mut self.dependents[index]);
            for dependent in dependents {
                self.waiting[dependent] -= 1;
                if self.waiting[dependent] == 0 {
                    self.ready.insert(dependent, &plan.steps[dependent]);
                }
            }
        }
    }

    fn fail(&mut self, index: usize, error: StepError) {
        let step = &self.plan.steps[index];
        let message = error.to_string();
        self.failed
            .push((step.address.clone(), step.operation, message.clone()));
        self.emit(ApplyEvent::StepFailed {
            index,
            address: step.address.clone(),
            operation: step.operation,
            error: message,
        });
        self.stopping = true;
    }

    /// After a failed save: stops every call in flight, since its result could not be saved
    /// either, and reports those steps as of unknown outcome. Steps whose call waited for
    /// that save were never sent: they count as not started.
    fn abandon_in_flight(&mut self) {
        self.tasks.abort_all();
        self.task_steps.clear();
        let unsent = std::mem::take(&mut self.to_send);
        for &index in &unsent {
            self.running.remove(&index);
            self.launched[index] = false;
        }
        self.events.retain(|event| {
            !matches!(event, ApplyEvent::StepStarted { index, .. } if unsent.contains(index))
        });
        let mut abandoned: Vec<usize> = self.running.drain().map(|(index, _)| index).collect();
        abandoned.sort_unstable();
        for index in abandoned {
            self.fail(index, StepError::Abandoned);
        }
    }

    /// Saves state; the save is told at once, ahead of the events of the round it holds.
    fn persist(&mut self) -> Result<(), ApplyError> {
        self.state.serial += 1;
        let serial = self.state.serial;
        self.sink
            .persist(&self.state)
            .map_err(|source| ApplyError::Persist { serial, source })?;
        self.dirty = false;
        self.whole = false;
        self.changed.clear();
        self.observer
            .on_event(&ApplyEvent::StatePersisted { serial });
        Ok(())
    }

    /// As [`Executor::persist`], saving only what the round changed where the sink can:
    /// the entries at the addresses its steps recorded, and the rest of the document (intents,
    /// deposed objects, rollouts…) where it differs from the last save.
    fn persist_changes(&mut self) -> Result<(), ApplyError> {
        self.state.serial += 1;
        let serial = self.state.serial;
        let changed = std::mem::take(&mut self.changed);
        self.sink
            .persist_changes(&self.state, &changed)
            .map_err(|source| ApplyError::Persist { serial, source })?;
        self.dirty = false;
        self.observer
            .on_event(&ApplyEvent::StatePersisted { serial });
        Ok(())
    }

    fn limit_changed(&mut self, change: LimitChange) {
        if let LimitChange::Changed(limit) = change {
            self.emit(ApplyEvent::ConcurrencyChanged { limit });
        }
    }

    /// Queues an event; it is told when the round that holds it has been saved.
    fn emit(&mut self, event: ApplyEvent) {
        self.events.push(event);
    }

    /// Ends the run with `error` after saving what was done before it (a failed save is the
    /// error then: it is what the user must know first).
    fn save_then_fail(&mut self, error: ApplyError) {
        self.fatal = Some(match self.persist() {
            Ok(()) => error,
            Err(persist) => persist,
        });
    }

    fn flush_events(&mut self) {
        for event in std::mem::take(&mut self.events) {
            self.observer.on_event(&event);
        }
    }

    /// The history entry for this run; its serial is the one the final save writes.
    fn history_entry(&self) -> HistoryEntry {
        let count = |operation: Operation| {
            self.completed
                .iter()
                .filter(|(_, done)| *done == operation)
                .count()
        };
        let mut summary = format!(
            "{} created, {} updated, {} deleted",
            count(Operation::Create),
            count(Operation::Update),
            count(Operation::Delete)
        );
        if !self.failed.is_empty() {
            summary.push_str(&format!(", {} failed", self.failed.len()));
        }
        HistoryEntry {
            serial: self.state.serial + 1,
            time: chrono::Utc::now().to_rfc3339(),
            operation: self.options.operation.clone(),
            summary,
        }
    }

    fn into_report(self, started: Instant) -> ApplyReport {
        let not_started = self
            .plan
            .steps
            .iter()
            .zip(&self.launched)
            .filter(|(_, launched)| !**launched)
            .map(|(step, _)| (step.address.clone(), step.operation))
            .collect();
        ApplyReport {
            completed: self.completed,
            failed: self.failed,
            not_started,
            state: self.state,
            unresolved_outputs: self.unresolved_outputs,
            fatal: self.fatal,
            interrupted: self.interrupted,
            provider_calls: self.provider_calls,
            retries: self.retries,
            rollouts: self.rollouts,
            elapsed: started.elapsed(),
        }
    }
}

/// Makes one call. A create that may already have made its object (`search` set) looks for
/// it first and adopts what it finds; a delete that finds nothing to delete has reached its
/// goal. Returns, with the outcome, when the create itself was sent, if it was.
async fn perform(
    provider: &dyn Provider,
    call: &ProviderCall,
    search: Option<&Search>,
) -> (Option<Instant>, Result<CallOutcome, ProviderError>) {
    match call {
        ProviderCall::Create(request) => {
            if let Some(search) = search {
                match look_for(provider, request, search).await {
                    Ok(Some(found)) => {
                        let adopted = adopt(provider, request, found).await;
                        return (None, adopted.map(CallOutcome::Created));
                    }
                    Ok(None) => {}
                    Err(error) => return (None, Err(error)),
                }
            }
            let sent = Instant::now();
            let created = provider.create(request).await.map(CallOutcome::Created);
            (Some(sent), created)
        }
        ProviderCall::Update(request) => {
            let updated = provider.update(request).await.map(CallOutcome::Updated);
            (None, updated)
        }
        ProviderCall::Delete { region, kind, id } => {
            let deleted = match provider.delete(region, *kind, id).await {
                Ok(()) => Ok(CallOutcome::Deleted),
                Err(ProviderError::NotFound { .. }) => Ok(CallOutcome::AlreadyGone),
                Err(error) => Err(error),
            };
            (None, deleted)
        }
    }
}

//! The executor: walks a plan's steps in dependency order with bounded, throttle-adaptive
//! parallelism, retries what may succeed again, and saves state after every completed step.
//!
//! One task (the caller's) owns the state, the sink and the observer; provider calls run in
//! a [`JoinSet`], one task per attempt, and hand their result back. Keeping every decision on
//! one task makes the order of state writes and events follow completions exactly, and needs
//! no locks. A step waiting out a retry delay keeps its concurrency slot, so that backing off
//! really lowers the rate of calls.
//!
//! Results that are in when the executor wakes up are taken together and saved with one
//! write: a save rewrites the whole document, so saving once per step made a wide apply
//! cost (steps × document size) and held back every step waiting on one of them. Nothing is
//! reported completed, and no dependent starts, before the save that holds it returned.

use super::concurrency::{Concurrency, LimitChange};
use super::error::{ApplyError, StepError};
use super::events::{ApplyEvent, ApplyObserver};
use super::options::ApplyOptions;
use super::prepare::{Prepared, ProviderCall, idempotency_token, prepare};
use super::record::{CallOutcome, record_adopted, record_drift, record_outputs, record_step};
use super::report::ApplyReport;
use super::sink::StateSink;
use crate::model::Address;
use crate::plan::{Operation, Plan};
use crate::provider::{Provider, ProviderError};
use crate::state::{HistoryEntry, StateDocument};
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
/// 1. Resources the plan adopted and drift its refresh found (in any plan, not only a
///    refresh-only one: it is what the cloud holds) are recorded and saved.
/// 2. Unless the plan is refresh-only, steps run as soon as every step in their
///    `after_steps` completed, at most `options.parallelism` at once (fewer while the provider
///    throttles). Each step's attributes are resolved against state as it is then; its
///    result is recorded and state saved before dependents start (one save for all the
///    results that came in together).
///    An update that is a no-op once resolved completes without a call or a save.
/// 3. On the first failed step, or when `options.stop` turns true, nothing new is scheduled;
///    calls in flight (retries included) finish and are recorded.
/// 4. Outputs are resolved against state, a history entry is added and state saved.
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
    let mut changed = record_adopted(&mut executor.state, &plan.adopted);
    changed |= record_drift(&mut executor.state, &plan.drift);
    if changed && let Err(error) = executor.persist() {
        executor.fatal = Some(error);
        return executor.into_report(started);
    }
    if !plan.refresh_only
        && let Err(error) = executor.run().await
    {
        executor.abandon_in_flight();
        executor.fatal = Some(error);
        return executor.into_report(started);
    }
    executor.unresolved_outputs = record_outputs(&mut executor.state, &plan.outputs);
    let entry = executor.history_entry();
    executor.state.history.push(entry);
    if let Err(error) = executor.persist() {
        executor.fatal = Some(error);
    }
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
    /// Calls made so far.
    attempts: u32,
    /// The concurrency generation the latest attempt was launched in.
    generation: u64,
    started: Instant,
}

type AttemptResult = (usize, Result<CallOutcome, ProviderError>);

/// A step whose work is done, waiting to be recorded and saved.
struct Finished {
    index: usize,
    /// `None` when nothing needed calling.
    outcome: Option<CallOutcome>,
    started: Instant,
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
    /// Addresses whose create is the new half of a `create_before_destroy` replacement.
    deposing: BTreeSet<Address>,
    /// Per step: how many of its `after_steps` have not completed.
    waiting: Vec<usize>,
    dependents: Vec<Vec<usize>>,
    ready: BTreeSet<usize>,
    launched: Vec<bool>,
    running: HashMap<usize, Running>,
    tasks: JoinSet<AttemptResult>,
    task_steps: HashMap<TaskId, usize>,
    /// Set by the first failure or a stop request: nothing new is scheduled after it.
    stopping: bool,
    interrupted: bool,
    completed: Vec<(Address, Operation)>,
    failed: Vec<(Address, Operation, String)>,
    unresolved_outputs: Vec<String>,
    fatal: Option<ApplyError>,
    provider_calls: u64,
    retries: u64,
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
        let ready = (0..count).filter(|&step| waiting[step] == 0).collect();
        let deposing = plan
            .steps
            .iter()
            .filter(|step| step.operation == Operation::Delete && step.deposed)
            .map(|step| step.address.clone())
            .collect();
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
            deposing,
            waiting,
            dependents,
            ready,
            launched: vec![false; count],
            running: HashMap::new(),
            tasks: JoinSet::new(),
            task_steps: HashMap::new(),
            stopping: false,
            interrupted: false,
            completed: Vec::new(),
            failed: Vec::new(),
            unresolved_outputs: Vec::new(),
            fatal: None,
            provider_calls: 0,
            retries: 0,
        }
    }

    /// Runs steps until none is running and none may start.
    ///
    /// # Errors
    ///
    /// [`ApplyError::Persist`] as soon as a save fails; the caller abandons what is in flight.
    async fn run(&mut self) -> Result<(), ApplyError> {
        self.launch_ready()?;
        while let Some(joined) = self.tasks.join_next_with_id().await {
            let mut done = Vec::new();
            self.take_result(joined, &mut done);
            while let Some(joined) = self.tasks.try_join_next_with_id() {
                self.take_result(joined, &mut done);
            }
            self.complete(done)?;
            self.launch_ready()?;
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
            Ok((task, (index, result))) => {
                self.task_steps.remove(&task);
                if let Some(finished) = self.finish_attempt(index, result) {
                    done.push(finished);
                }
            }
            Err(error) => {
                if let Some(index) = self.task_steps.remove(&error.id()) {
                    self.running.remove(&index);
                    self.fail(index, StepError::Panicked);
                }
            }
        }
    }

    fn launch_ready(&mut self) -> Result<(), ApplyError> {
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
            let Some(index) = self.ready.pop_first() else {
                break;
            };
            self.start(index)?;
        }
        Ok(())
    }

    fn start(&mut self, index: usize) -> Result<(), ApplyError> {
        let step = &self.plan.steps[index];
        self.launched[index] = true;
        self.emit(ApplyEvent::StepStarted {
            index,
            address: step.address.clone(),
            operation: step.operation,
        });
        let token = idempotency_token(&self.plan.state_lineage, self.plan.state_serial, step);
        match prepare(step, &self.state, token) {
            Err(error) => self.fail(index, error),
            Ok(Prepared::NoChange) => self.complete(vec![Finished {
                index,
                outcome: None,
                started: Instant::now(),
            }])?,
            Ok(Prepared::Call(call)) => {
                self.running.insert(
                    index,
                    Running {
                        call: Arc::new(call),
                        attempts: 0,
                        generation: 0,
                        started: Instant::now(),
                    },
                );
                self.spawn_attempt(index, Duration::ZERO);
            }
        }
        Ok(())
    }

    fn spawn_attempt(&mut self, index: usize, delay: Duration) {
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
            (index, perform(provider.as_ref(), &call).await)
        });
        self.task_steps.insert(handle.id(), index);
    }

    /// Retries or fails a step whose attempt failed; returns the step when it succeeded.
    fn finish_attempt(
        &mut self,
        index: usize,
        result: Result<CallOutcome, ProviderError>,
    ) -> Option<Finished> {
        let running = self.running.get(&index)?;
        let (attempts, generation, started) =
            (running.attempts, running.generation, running.started);
        match result {
            Ok(outcome) => {
                self.running.remove(&index);
                let change = self.concurrency.succeeded();
                self.limit_changed(change);
                Some(Finished {
                    index,
                    outcome: Some(outcome),
                    started,
                })
            }
            Err(error) if error.is_retryable() && attempts < self.options.max_attempts => {
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
                None
            }
            Err(source) => {
                self.running.remove(&index);
                self.fail(index, StepError::Provider { source, attempts });
                None
            }
        }
    }

    /// Records completed steps, saves state once if any of them changed it, then reports
    /// them and releases the steps waiting on them.
    fn complete(&mut self, done: Vec<Finished>) -> Result<(), ApplyError> {
        let plan = self.plan;
        let mut reports = Vec::with_capacity(done.len());
        let mut changed = BTreeSet::new();
        for Finished {
            index,
            outcome,
            started,
        } in done
        {
            let step = &plan.steps[index];
            self.completed.push((step.address.clone(), step.operation));
            let called_provider = outcome.is_some();
            if let Some(outcome) = outcome {
                let depose = self.deposing.contains(&step.address);
                record_step(&mut self.state, step, outcome, depose);
                // A step changes its own address's entry and the deposed objects, no other.
                changed.insert(step.address.clone());
            }
            reports.push((index, called_provider, started));
        }
        if !changed.is_empty() {
            self.persist_changes(&changed)?;
        }
        for (index, called_provider, started) in reports {
            let step = &plan.steps[index];
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
                    self.ready.insert(dependent);
                }
            }
        }
        Ok(())
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
    /// either, and reports those steps as of unknown outcome.
    fn abandon_in_flight(&mut self) {
        self.tasks.abort_all();
        self.task_steps.clear();
        let mut abandoned: Vec<usize> = self.running.drain().map(|(index, _)| index).collect();
        abandoned.sort_unstable();
        for index in abandoned {
            self.fail(index, StepError::Abandoned);
        }
    }

    fn persist(&mut self) -> Result<(), ApplyError> {
        self.state.serial += 1;
        let serial = self.state.serial;
        self.sink
            .persist(&self.state)
            .map_err(|source| ApplyError::Persist { serial, source })?;
        self.emit(ApplyEvent::StatePersisted { serial });
        Ok(())
    }

    /// As [`Executor::persist`], saving only the entries at `changed` where the sink can.
    fn persist_changes(&mut self, changed: &BTreeSet<Address>) -> Result<(), ApplyError> {
        self.state.serial += 1;
        let serial = self.state.serial;
        self.sink
            .persist_changes(&self.state, changed)
            .map_err(|source| ApplyError::Persist { serial, source })?;
        self.emit(ApplyEvent::StatePersisted { serial });
        Ok(())
    }

    fn limit_changed(&self, change: LimitChange) {
        if let LimitChange::Changed(limit) = change {
            self.emit(ApplyEvent::ConcurrencyChanged { limit });
        }
    }

    fn emit(&self, event: ApplyEvent) {
        self.observer.on_event(&event);
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
            elapsed: started.elapsed(),
        }
    }
}

/// Makes one call. A delete that finds nothing to delete has reached its goal.
async fn perform(
    provider: &dyn Provider,
    call: &ProviderCall,
) -> Result<CallOutcome, ProviderError> {
    match call {
        ProviderCall::Create(request) => provider.create(request).await.map(CallOutcome::Created),
        ProviderCall::Update(request) => provider.update(request).await.map(CallOutcome::Updated),
        ProviderCall::Delete { region, kind, id } => {
            match provider.delete(region, *kind, id).await {
                Ok(()) => Ok(CallOutcome::Deleted),
                Err(ProviderError::NotFound { .. }) => Ok(CallOutcome::AlreadyGone),
                Err(error) => Err(error),
            }
        }
    }
}

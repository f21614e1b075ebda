//! Executor tests against an in-memory fake cloud that records calls and injects latency,
//! throttling and failures deterministically. All on tokio's paused clock.

use super::*;
use crate::model::{
    Address, Attributes, Kind, Lifecycle, Owner, TAG_ADDRESS, Tags, Value, reference,
};
use crate::plan::{Drift, DriftKind, Operation, PLAN_FORMAT_VERSION, Plan, Step};
use crate::provider::{
    CallCount, CreateRequest, LiveResource, Provider, ProviderError, UpdateRequest,
};
use crate::state::{StateDocument, StateOutput, StateResource};
use async_trait::async_trait;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

// ---------------------------------------------------------------------------------------------
// The fake cloud

#[derive(Debug, Clone, PartialEq)]
struct Call {
    operation: Operation,
    address: String,
    token: Option<String>,
}

#[derive(Default)]
struct Cloud {
    resources: BTreeMap<String, LiveResource>,
    /// Idempotency token → id of the resource it created.
    tokens: BTreeMap<String, String>,
    next_id: u32,
    calls: Vec<Call>,
    in_flight: usize,
    max_in_flight: usize,
    /// Address → how many more calls to answer with `Throttled`.
    throttle: BTreeMap<String, u32>,
    /// Address → how many more creates to perform but answer with `Ambiguous` (a timeout
    /// after the effect).
    lose_answer: BTreeMap<String, u32>,
    /// Address → how many more creates to answer with `Ambiguous` without performing them
    /// (the request was lost on its way).
    lose_request: BTreeMap<String, u32>,
    /// Address → how many more reads miss its objects (eventual consistency).
    hidden_reads: BTreeMap<String, u32>,
    /// Whether creates ignore idempotency tokens, as most AWS create APIs (and moto) do.
    ignore_tokens: bool,
    /// Whether a create is refused as a duplicate while an object with its address exists,
    /// as a security group's name or a subnet's range is.
    refuse_duplicates: bool,
    /// Reads made.
    reads: u32,
    /// Shared with a [`JournalSink`]: `call <token>` for every mutating call, in order.
    journal: Option<Arc<Mutex<Vec<String>>>>,
    /// Address → an error every call for it gets.
    fail: BTreeMap<String, ProviderError>,
    /// Address → latency for calls about it, instead of the default.
    latency: BTreeMap<String, Duration>,
    /// Throttle every call made while more than this many are in flight.
    throttle_above: Option<usize>,
    /// Panic on calls for this address.
    panic_on: Option<String>,
}

#[derive(Default)]
struct FakeProvider {
    cloud: Mutex<Cloud>,
    latency: Duration,
}

impl FakeProvider {
    fn with_latency(latency: Duration) -> Self {
        FakeProvider {
            cloud: Mutex::new(Cloud::default()),
            latency,
        }
    }

    fn cloud(&self) -> std::sync::MutexGuard<'_, Cloud> {
        self.cloud
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn calls(&self) -> Vec<Call> {
        self.cloud().calls.clone()
    }

    fn calls_for(&self, address: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|call| call.address == address)
            .collect()
    }

    fn insert(&self, address: &str, id: &str, attributes: Attributes) {
        self.cloud().resources.insert(
            id.to_string(),
            LiveResource {
                kind: Kind::Network,
                region: "us-east-1".into(),
                id: id.to_string(),
                attributes,
                tags: Tags::from([(TAG_ADDRESS.to_string(), address.to_string())]),
            },
        );
    }

    /// Records the call, waits out the latency while counting it in flight, and returns the
    /// injected fault for it, if any.
    async fn enter(
        &self,
        operation: Operation,
        address: &str,
        token: Option<&str>,
    ) -> Result<(), ProviderError> {
        let latency = {
            let mut cloud = self.cloud();
            if let Some(journal) = &cloud.journal {
                journal
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(format!("call {}", token.unwrap_or("-")));
            }
            cloud.calls.push(Call {
                operation,
                address: address.to_string(),
                token: token.map(str::to_string),
            });
            if cloud.panic_on.as_deref() == Some(address) {
                drop(cloud);
                panic!("fake provider told to panic on {address}");
            }
            cloud.in_flight += 1;
            cloud.max_in_flight = cloud.max_in_flight.max(cloud.in_flight);
            if let Some(limit) = cloud.throttle_above
                && cloud.in_flight > limit
            {
                cloud.in_flight -= 1;
                return Err(throttled());
            }
            cloud.latency.get(address).copied().unwrap_or(self.latency)
        };
        tokio::time::sleep(latency).await;
        let mut cloud = self.cloud();
        cloud.in_flight -= 1;
        if let Some(remaining) = cloud.throttle.get_mut(address)
            && *remaining > 0
        {
            *remaining -= 1;
            return Err(throttled());
        }
        if let Some(error) = cloud.fail.get(address) {
            return Err(error.clone());
        }
        Ok(())
    }

    fn address_of(&self, id: &str) -> String {
        self.cloud()
            .resources
            .get(id)
            .and_then(|live| live.tags.get(TAG_ADDRESS).cloned())
            .unwrap_or_default()
    }
}

fn throttled() -> ProviderError {
    ProviderError::Throttled {
        message: "Rate exceeded".into(),
    }
}

#[async_trait]
impl crate::provider::CoreProvider for FakeProvider {
    fn name(&self) -> &'static str {
        "fake"
    }

    async fn read(
        &self,
        region: &str,
        kind: Kind,
        owner: &Owner,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        tokio::time::sleep(self.latency).await;
        let mut cloud = self.cloud();
        cloud.reads += 1;
        let mut found = Vec::new();
        for live in cloud.resources.values() {
            let address = live.tags.get(TAG_ADDRESS).cloned().unwrap_or_default();
            let hidden = cloud
                .hidden_reads
                .get(&address)
                .is_some_and(|left| *left > 0);
            if live.region == region && live.kind == kind && owner.owns(&live.tags) && !hidden {
                found.push(live.clone());
            }
        }
        for left in cloud.hidden_reads.values_mut() {
            *left = left.saturating_sub(1);
        }
        Ok(found)
    }

    async fn create(&self, request: &CreateRequest) -> Result<LiveResource, ProviderError> {
        let address = request.tags.get(TAG_ADDRESS).cloned().unwrap_or_default();
        self.enter(Operation::Create, &address, Some(&request.token))
            .await?;
        let mut cloud = self.cloud();
        if let Some(remaining) = cloud.lose_request.get_mut(&address)
            && *remaining > 0
        {
            *remaining -= 1;
            return Err(ProviderError::Ambiguous {
                message: "connection reset".into(),
            });
        }
        if !cloud.ignore_tokens
            && let Some(id) = cloud.tokens.get(&request.token).cloned()
            && let Some(existing) = cloud.resources.get(&id)
        {
            return Ok(existing.clone());
        }
        if cloud.refuse_duplicates
            && cloud
                .resources
                .values()
                .any(|live| live.tags.get(TAG_ADDRESS) == Some(&address))
        {
            return Err(ProviderError::Api {
                code: "InvalidGroup.Duplicate".into(),
                message: format!("the group for {address} already exists"),
            });
        }
        cloud.next_id += 1;
        let id = format!("{}-{:04}", request.kind, cloud.next_id);
        let live = LiveResource {
            kind: request.kind,
            region: request.region.clone(),
            id: id.clone(),
            attributes: request.attributes.clone(),
            tags: request.tags.clone(),
        };
        cloud.resources.insert(id.clone(), live.clone());
        cloud.tokens.insert(request.token.clone(), id);
        if let Some(remaining) = cloud.lose_answer.get_mut(&address)
            && *remaining > 0
        {
            *remaining -= 1;
            return Err(ProviderError::Ambiguous {
                message: "read timeout".into(),
            });
        }
        Ok(live)
    }

    async fn update(&self, request: &UpdateRequest) -> Result<LiveResource, ProviderError> {
        let address = self.address_of(&request.id);
        self.enter(Operation::Update, &address, Some(&request.token))
            .await?;
        let mut cloud = self.cloud();
        let Some(live) = cloud.resources.get_mut(&request.id) else {
            return Err(not_found(request.kind, &request.id));
        };
        live.attributes = request.after.clone();
        live.tags = request.tags.clone();
        Ok(live.clone())
    }

    async fn delete(&self, _region: &str, kind: Kind, id: &str) -> Result<(), ProviderError> {
        let address = self.address_of(id);
        self.enter(Operation::Delete, &address, None).await?;
        match self.cloud().resources.remove(id) {
            Some(_) => Ok(()),
            None => Err(not_found(kind, id)),
        }
    }

    async fn import(
        &self,
        _region: &str,
        kind: Kind,
        id: &str,
    ) -> Result<LiveResource, ProviderError> {
        self.cloud()
            .resources
            .get(id)
            .cloned()
            .ok_or_else(|| not_found(kind, id))
    }

    fn calls(&self) -> CallCount {
        let cloud = self.cloud();
        CallCount {
            reads: u64::from(cloud.reads),
            mutations: cloud.calls.len() as u64,
        }
    }
}

fn not_found(kind: Kind, id: &str) -> ProviderError {
    ProviderError::NotFound {
        kind,
        region: "us-east-1".into(),
        id: id.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Sink and observer

#[derive(Default)]
struct MemorySink {
    saved: Vec<StateDocument>,
    /// Fail the save with this number (1-based).
    fail_on: Option<usize>,
}

impl StateSink for MemorySink {
    fn persist(
        &mut self,
        state: &StateDocument,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if self.fail_on == Some(self.saved.len() + 1) {
            return Err("disk full".into());
        }
        self.saved.push(state.clone());
        Ok(())
    }
}

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<ApplyEvent>>,
}

impl ApplyObserver for Recorder {
    fn on_event(&self, event: &ApplyEvent) {
        self.events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(event.clone());
    }
}

impl Recorder {
    fn events(&self) -> Vec<ApplyEvent> {
        self.events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Plan building

const NETWORK: &str = "network.main[us-east-1]";
const SUBNET: &str = "network.main.subnet.public[us-east-1a]";
const INSTANCE: &str = "instance.web[us-east-1a]";

fn empty_state() -> StateDocument {
    StateDocument::new("shop", "staging")
}

fn plan_for(state: &StateDocument, steps: Vec<Step>) -> Plan {
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        stack: "shop".into(),
        environment: "staging".into(),
        state_lineage: state.lineage.clone(),
        state_serial: state.serial,
        changes: Vec::new(),
        steps,
        drift: Vec::new(),
        adopted: Vec::new(),
        moves: Vec::new(),
        forgets: Vec::new(),
        imports: Vec::new(),
        outputs: BTreeMap::new(),
        refresh_calls: CallCount::default(),
        refresh_only: false,
        interrupted: Vec::new(),
        policy: Vec::new(),
        rollouts: Vec::new(),
        held: Vec::new(),
        in_use: Vec::new(),
        kept: Vec::new(),
    }
}

fn tags_for(address: &str) -> Tags {
    Owner {
        stack: "shop".into(),
        env: "staging".into(),
    }
    .tags_for(&Address::new(address))
}

fn step(index: usize, address: &str, operation: Operation, after_steps: &[usize]) -> Step {
    Step {
        index,
        address: Address::new(address),
        kind: Kind::Network,
        region: "us-east-1".into(),
        operation,
        id: None,
        before: None,
        after: None,
        tags: tags_for(address),
        deposed: false,
        after_steps: after_steps.to_vec(),
        dependencies: BTreeSet::new(),
        lifecycle: Lifecycle::default(),
        sensitive: BTreeSet::new(),
        resumes: None,
    }
}

fn create(index: usize, address: &str, after_steps: &[usize], attributes: Value) -> Step {
    let mut created = step(index, address, Operation::Create, after_steps);
    created.after = Some(attributes_of(attributes));
    created
}

fn delete(index: usize, address: &str, id: &str, after_steps: &[usize]) -> Step {
    let mut deleted = step(index, address, Operation::Delete, after_steps);
    deleted.id = Some(id.to_string());
    deleted
}

fn attributes_of(value: Value) -> Attributes {
    match value {
        Value::Object(map) => map.into_iter().collect(),
        _ => Attributes::new(),
    }
}

fn recorded(address: &str, id: &str, attributes: Value) -> StateResource {
    StateResource {
        address: Address::new(address),
        kind: Kind::Network,
        region: "us-east-1".into(),
        id: id.to_string(),
        attributes: attributes_of(attributes),
        tags: tags_for(address),
        dependencies: BTreeSet::new(),
        lifecycle: Lifecycle::default(),
        sensitive: BTreeSet::new(),
    }
}

fn ref_id(address: &str) -> Value {
    Value::String(reference(&Address::new(address), "id"))
}

fn options(parallelism: usize) -> ApplyOptions {
    ApplyOptions {
        parallelism,
        jitter_seed: Some(42),
        ..ApplyOptions::default()
    }
}

struct Run {
    report: ApplyReport,
    sink: MemorySink,
    recorder: Recorder,
}

async fn run_with(
    plan: &Plan,
    provider: &Arc<FakeProvider>,
    state: StateDocument,
    options: &ApplyOptions,
    mut sink: MemorySink,
) -> Run {
    let recorder = Recorder::default();
    let shared: Arc<dyn Provider> = provider.clone();
    let report = execute(plan, shared, state, &mut sink, options, &recorder).await;
    Run {
        report,
        sink,
        recorder,
    }
}

async fn run(plan: &Plan, provider: &Arc<FakeProvider>, state: StateDocument) -> Run {
    run_with(plan, provider, state, &options(10), MemorySink::default()).await
}

fn addresses(steps: &[(Address, Operation)]) -> Vec<&str> {
    steps.iter().map(|(address, _)| address.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test(start_paused = true)]
async fn dependencies_run_first_and_their_ids_fill_references() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(100)));
    let state = empty_state();
    // Listed children first, so plan order alone would get it wrong.
    let plan = plan_for(
        &state,
        vec![
            create(0, INSTANCE, &[1], json!({ "subnet_id": ref_id(SUBNET) })),
            create(
                1,
                SUBNET,
                &[2],
                json!({ "network_id": ref_id(NETWORK), "name": format!("{}-a", reference(&Address::new(NETWORK), "id")) }),
            ),
            create(2, NETWORK, &[], json!({ "cidr": "10.0.0.0/16" })),
        ],
    );

    let Run { report, .. } = run(&plan, &provider, state).await;

    assert!(report.succeeded(), "{report:?}");
    let order: Vec<String> = provider
        .calls()
        .into_iter()
        .map(|call| call.address)
        .collect();
    assert_eq!(order, [NETWORK, SUBNET, INSTANCE]);
    assert_eq!(addresses(&report.completed), [NETWORK, SUBNET, INSTANCE]);

    let network_id = report.state.resources[&Address::new(NETWORK)].id.clone();
    let subnet = &report.state.resources[&Address::new(SUBNET)];
    assert_eq!(subnet.attributes["network_id"], json!(network_id));
    assert_eq!(subnet.attributes["name"], json!(format!("{network_id}-a")));
    let instance = &report.state.resources[&Address::new(INSTANCE)];
    assert_eq!(instance.attributes["subnet_id"], json!(subnet.id));
}

#[tokio::test(start_paused = true)]
async fn a_wide_graph_runs_in_waves_of_the_parallelism_bound() {
    let latency = Duration::from_secs(1);
    let provider = Arc::new(FakeProvider::with_latency(latency));
    let state = empty_state();
    let steps = (0..50)
        .map(|index| {
            create(
                index,
                &format!("network.n{index:02}[us-east-1]"),
                &[],
                json!({}),
            )
        })
        .collect();
    let plan = plan_for(&state, steps);

    let started = Instant::now();
    let Run { report, .. } = run(&plan, &provider, state).await;
    let elapsed = started.elapsed();

    assert!(report.succeeded(), "{report:?}");
    assert_eq!(report.completed.len(), 50);
    assert_eq!(report.state.resources.len(), 50);
    assert_eq!(provider.cloud().max_in_flight, 10);
    // Virtual time: 50 calls, 10 at a time, one latency each.
    assert!(
        elapsed >= latency * 5 && elapsed < latency * 6,
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_chain_runs_one_step_at_a_time() {
    let latency = Duration::from_secs(1);
    let provider = Arc::new(FakeProvider::with_latency(latency));
    let state = empty_state();
    let steps = (0..5)
        .map(|index| {
            let after: Vec<usize> = usize::checked_sub(index, 1).into_iter().collect();
            create(
                index,
                &format!("network.n{index}[us-east-1]"),
                &after,
                json!({}),
            )
        })
        .collect();
    let plan = plan_for(&state, steps);

    let started = Instant::now();
    let Run { report, .. } = run(&plan, &provider, state).await;
    let elapsed = started.elapsed();

    assert!(report.succeeded(), "{report:?}");
    assert_eq!(provider.cloud().max_in_flight, 1);
    assert!(
        elapsed >= latency * 5 && elapsed < latency * 6,
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn throttled_creates_retry_with_the_same_token_and_create_once() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(50)));
    provider.cloud().throttle.insert(NETWORK.into(), 3);
    let state = empty_state();
    let plan = plan_for(
        &state,
        vec![create(0, NETWORK, &[], json!({ "cidr": "10.0.0.0/16" }))],
    );

    let Run {
        report, recorder, ..
    } = run(&plan, &provider, state).await;

    assert!(report.succeeded(), "{report:?}");
    let calls = provider.calls_for(NETWORK);
    assert_eq!(calls.len(), 4);
    let tokens: BTreeSet<_> = calls.iter().map(|call| call.token.clone()).collect();
    assert_eq!(tokens.len(), 1, "{calls:?}");
    assert_eq!(provider.cloud().resources.len(), 1);
    assert_eq!(report.retries, 3);
    assert_eq!(report.provider_calls, 4);
    let retries: Vec<u32> = recorder
        .events()
        .into_iter()
        .filter_map(|event| match event {
            ApplyEvent::StepRetrying { attempt, delay, .. } => {
                assert!(delay <= Duration::from_millis(200) * 2u32.pow(attempt - 1));
                Some(attempt)
            }
            _ => None,
        })
        .collect();
    assert_eq!(retries, [1, 2, 3]);
}

#[tokio::test(start_paused = true)]
async fn a_create_whose_answer_was_lost_is_not_duplicated_on_retry() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(50)));
    {
        let mut cloud = provider.cloud();
        cloud.lose_answer.insert(NETWORK.into(), 1);
        // As CreateVpc does: a second create would make a second network.
        cloud.ignore_tokens = true;
    }
    let state = empty_state();
    let plan = plan_for(
        &state,
        vec![create(0, NETWORK, &[], json!({ "cidr": "10.0.0.0/16" }))],
    );

    let Run { report, .. } = run(&plan, &provider, state).await;

    assert!(report.succeeded(), "{report:?}");
    // The object was found by its tags: the create was not sent a second time.
    assert_eq!(provider.calls_for(NETWORK).len(), 1);
    let cloud_ids: Vec<String> = provider.cloud().resources.keys().cloned().collect();
    assert_eq!(cloud_ids.len(), 1);
    assert_eq!(
        report.state.resources[&Address::new(NETWORK)].id,
        cloud_ids[0]
    );
}

#[tokio::test(start_paused = true)]
async fn retries_give_up_after_the_configured_attempts() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(50)));
    provider.cloud().throttle.insert(NETWORK.into(), 100);
    let state = empty_state();
    let plan = plan_for(&state, vec![create(0, NETWORK, &[], json!({}))]);
    let options = ApplyOptions {
        max_attempts: 3,
        ..options(10)
    };

    let Run { report, .. } =
        run_with(&plan, &provider, state, &options, MemorySink::default()).await;

    assert_eq!(provider.calls_for(NETWORK).len(), 3);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(
        report.failed[0].2,
        "throttled: Rate exceeded (gave up after 3 attempts)"
    );
    assert!(report.state.resources.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_failure_stops_scheduling_and_lets_in_flight_steps_finish() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_secs(1)));
    let failing = "network.broken[us-east-1]";
    let slow = "network.slow[us-east-1]";
    let independent = "network.later[us-east-1]";
    let dependent = "network.child[us-east-1]";
    {
        let mut cloud = provider.cloud();
        cloud.fail.insert(
            failing.into(),
            ProviderError::Api {
                code: "InvalidParameterValue".into(),
                message: "bad cidr".into(),
            },
        );
        cloud.latency.insert(slow.into(), Duration::from_secs(3));
    }
    let state = empty_state();
    let plan = plan_for(
        &state,
        vec![
            create(0, failing, &[], json!({})),
            create(1, slow, &[], json!({})),
            create(2, independent, &[], json!({})),
            create(3, dependent, &[1], json!({})),
        ],
    );

    let Run {
        report,
        sink,
        recorder,
    } = run_with(&plan, &provider, state, &options(2), MemorySink::default()).await;

    assert_eq!(addresses(&report.completed), [slow]);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0.as_str(), failing);
    assert_eq!(report.failed[0].2, "InvalidParameterValue: bad cidr");
    assert_eq!(addresses(&report.not_started), [independent, dependent]);
    assert!(report.fatal.is_none());
    assert!(!report.succeeded());

    let in_state: Vec<&str> = report.state.resources.keys().map(Address::as_str).collect();
    assert_eq!(in_state, [slow]);
    // One save for the intents of the first two calls, one for the slow step, one at the
    // end; the last save is the returned state, without intents.
    assert_eq!(sink.saved.len(), 3);
    assert!(
        report.state.intents.is_empty(),
        "{:?}",
        report.state.intents
    );
    assert_eq!(sink.saved.last(), Some(&report.state));
    assert_eq!(report.state.history.len(), 1);
    assert_eq!(
        report.state.history[0].summary,
        "1 created, 0 updated, 0 deleted, 1 failed"
    );
    let failed_events = recorder
        .events()
        .iter()
        .filter(|event| matches!(event, ApplyEvent::StepFailed { .. }))
        .count();
    assert_eq!(failed_events, 1);
}

/// Four independent creates, `network.n0` … `network.n3`, the `n`-th taking `latencies[n]`.
fn four_networks(latencies: [u64; 4]) -> (Arc<FakeProvider>, Plan) {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(10)));
    let state = empty_state();
    let steps = (0..4)
        .map(|index| {
            let address = format!("network.n{index}[us-east-1]");
            provider
                .cloud()
                .latency
                .insert(address.clone(), Duration::from_millis(latencies[index]));
            create(index, &address, &[], json!({}))
        })
        .collect();
    (provider, plan_for(&state, steps))
}

/// The crash-safety promise: when a step is reported completed, a save holding it was made.
fn assert_saved_before_reported(run: &Run) {
    let mut last_saved = None;
    for event in run.recorder.events() {
        match event {
            ApplyEvent::StatePersisted { serial } => last_saved = Some(serial),
            ApplyEvent::StepCompleted { address, .. } => {
                let serial = last_saved.expect("a step was reported before any save");
                let saved = &run.sink.saved[serial as usize - 1];
                assert_eq!(saved.serial, serial);
                assert!(
                    saved.resources.contains_key(&address),
                    "`{address}` was reported completed before a save held it"
                );
            }
            _ => {}
        }
    }
}

#[tokio::test(start_paused = true)]
async fn state_is_saved_after_every_completed_step() {
    let (provider, plan) = four_networks([10, 20, 30, 40]);

    let run = run(&plan, &provider, empty_state()).await;

    assert!(run.report.succeeded());
    assert_saved_before_reported(&run);
    // One save for the four calls' intents before they are sent; then the steps finish one
    // at a time: one save each, which clears its intent; and one at the end.
    assert_eq!(run.sink.saved.len(), 6);
    for (position, saved) in run.sink.saved.iter().enumerate() {
        assert_eq!(saved.serial, position as u64 + 1);
        assert_eq!(saved.resources.len(), position.min(4));
        assert_eq!(saved.intents.len(), 4 - position.min(4));
    }
    assert_eq!(run.report.state.serial, 6);
}

#[tokio::test(start_paused = true)]
async fn steps_that_finish_together_are_saved_once() {
    // All four calls end at the same instant; on the test's single-threaded runtime they all
    // return before the executor wakes up, so it finds the four results waiting.
    let (provider, plan) = four_networks([10, 10, 10, 10]);

    let run = run(&plan, &provider, empty_state()).await;

    assert!(run.report.succeeded());
    assert_saved_before_reported(&run);
    // One save for the four intents, one for the four steps, one at the end.
    assert_eq!(run.sink.saved.len(), 3);
    assert_eq!(run.sink.saved[0].intents.len(), 4);
    assert_eq!(run.sink.saved[1].resources.len(), 4);
    assert!(run.sink.saved[1].intents.is_empty());
    assert_eq!(run.report.state.serial, 3);
}

#[tokio::test(start_paused = true)]
async fn create_before_destroy_deposes_the_old_object_until_its_delete() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(10)));
    provider.insert(
        NETWORK,
        "network-old",
        attributes_of(json!({ "cidr": "10.0.0.0/16" })),
    );
    let mut state = empty_state();
    state.resources.insert(
        Address::new(NETWORK),
        recorded(NETWORK, "network-old", json!({ "cidr": "10.0.0.0/16" })),
    );
    let mut replacement = create(0, NETWORK, &[], json!({ "cidr": "10.1.0.0/16" }));
    replacement.lifecycle.create_before_destroy = true;
    let mut old = delete(1, NETWORK, "network-old", &[0]);
    old.deposed = true;
    let plan = plan_for(&state, vec![replacement, old]);

    let Run { report, sink, .. } = run(&plan, &provider, state).await;

    assert!(report.succeeded(), "{report:?}");
    // The first save holds the create's intent; the second its result.
    let after_create = &sink.saved[1];
    assert_eq!(after_create.deposed.len(), 1);
    assert_eq!(after_create.deposed[0].id, "network-old");
    assert_ne!(
        after_create.resources[&Address::new(NETWORK)].id,
        "network-old"
    );

    assert!(report.state.deposed.is_empty());
    let live = &report.state.resources[&Address::new(NETWORK)];
    assert_ne!(live.id, "network-old");
    assert_eq!(live.attributes["cidr"], json!("10.1.0.0/16"));
    assert!(!provider.cloud().resources.contains_key("network-old"));
}

#[tokio::test(start_paused = true)]
async fn outputs_are_resolved_from_the_state_the_apply_wrote() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(10)));
    let state = empty_state();
    let mut plan = plan_for(
        &state,
        vec![create(0, NETWORK, &[], json!({ "cidr": "10.0.0.0/16" }))],
    );
    plan.outputs.insert(
        "network_id".into(),
        StateOutput {
            value: ref_id(NETWORK),
            sensitive: false,
        },
    );
    plan.outputs.insert(
        "cidr".into(),
        StateOutput {
            value: Value::String(reference(&Address::new(NETWORK), "cidr")),
            sensitive: true,
        },
    );

    let Run { report, .. } = run(&plan, &provider, state).await;

    let id = report.state.resources[&Address::new(NETWORK)].id.clone();
    assert_eq!(report.state.outputs["network_id"].value, json!(id));
    assert_eq!(report.state.outputs["cidr"].value, json!("10.0.0.0/16"));
    assert!(report.state.outputs["cidr"].sensitive);
    assert!(report.unresolved_outputs.is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_output_of_a_resource_that_failed_is_reported_unresolved() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(10)));
    provider.cloud().fail.insert(
        NETWORK.into(),
        ProviderError::Credentials {
            message: "expired".into(),
        },
    );
    let state = empty_state();
    let mut plan = plan_for(&state, vec![create(0, NETWORK, &[], json!({}))]);
    plan.outputs.insert(
        "network_id".into(),
        StateOutput {
            value: ref_id(NETWORK),
            sensitive: false,
        },
    );

    let Run { report, .. } = run(&plan, &provider, state).await;

    assert_eq!(report.unresolved_outputs, ["network_id"]);
    assert!(report.state.outputs.is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_update_that_changes_nothing_once_resolved_makes_no_call() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(10)));
    provider.insert(NETWORK, "network-1", Attributes::new());
    provider.insert(
        SUBNET,
        "subnet-1",
        attributes_of(json!({ "network_id": "network-1" })),
    );
    let mut state = empty_state();
    state.resources.insert(
        Address::new(NETWORK),
        recorded(NETWORK, "network-1", json!({})),
    );
    state.resources.insert(
        Address::new(SUBNET),
        recorded(
            SUBNET,
            "subnet-1",
            json!({ "network_id": "network-1", "public": false }),
        ),
    );
    let mut unchanged = step(0, SUBNET, Operation::Update, &[]);
    unchanged.id = Some("subnet-1".into());
    unchanged.before = Some(attributes_of(
        json!({ "network_id": "network-1", "public": false, "id": "subnet-1" }),
    ));
    unchanged.after = Some(attributes_of(
        json!({ "network_id": ref_id(NETWORK), "public": false }),
    ));
    let mut changed = step(1, NETWORK, Operation::Update, &[]);
    changed.id = Some("network-1".into());
    changed.before = Some(Attributes::new());
    changed.after = Some(attributes_of(json!({ "cidr": "10.9.0.0/16" })));
    let plan = plan_for(&state, vec![unchanged, changed]);

    let Run {
        report, recorder, ..
    } = run(&plan, &provider, state).await;

    assert!(report.succeeded(), "{report:?}");
    assert!(provider.calls_for(SUBNET).is_empty());
    assert_eq!(provider.calls_for(NETWORK).len(), 1);
    assert_eq!(
        report.state.resources[&Address::new(NETWORK)].attributes["cidr"],
        json!("10.9.0.0/16")
    );
    assert!(recorder.events().contains(&ApplyEvent::StepCompleted {
        index: 0,
        address: Address::new(SUBNET),
        operation: Operation::Update,
        called_provider: false,
        elapsed: Duration::ZERO,
    }));
}

#[tokio::test(start_paused = true)]
async fn a_delete_of_something_already_gone_counts_as_done() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(10)));
    let mut state = empty_state();
    state.resources.insert(
        Address::new(NETWORK),
        recorded(NETWORK, "network-gone", json!({})),
    );
    let plan = plan_for(&state, vec![delete(0, NETWORK, "network-gone", &[])]);

    let Run { report, .. } = run(&plan, &provider, state).await;

    assert!(report.succeeded(), "{report:?}");
    assert_eq!(addresses(&report.completed), [NETWORK]);
    assert!(report.state.resources.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_reference_state_cannot_answer_fails_the_step_without_a_call() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(10)));
    let state = empty_state();
    // The plan forgot the edge to the network (which it does not create either).
    let plan = plan_for(
        &state,
        vec![create(
            0,
            SUBNET,
            &[],
            json!({ "network_id": ref_id(NETWORK) }),
        )],
    );

    let Run { report, .. } = run(&plan, &provider, state).await;

    assert!(provider.calls().is_empty());
    assert_eq!(report.failed.len(), 1);
    assert!(
        report.failed[0].2.starts_with("internal error:"),
        "{}",
        report.failed[0].2
    );
    assert!(report.failed[0].2.contains(NETWORK));
}

#[tokio::test(start_paused = true)]
async fn adopted_resources_are_saved_before_the_first_step() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(10)));
    let state = empty_state();
    let mut plan = plan_for(
        &state,
        vec![create(
            0,
            SUBNET,
            &[],
            json!({ "network_id": ref_id(NETWORK) }),
        )],
    );
    plan.adopted
        .push(recorded(NETWORK, "network-orphan", json!({})));

    let Run { report, sink, .. } = run(&plan, &provider, state).await;

    assert!(report.succeeded(), "{report:?}");
    let first = &sink.saved[0];
    assert_eq!(
        first
            .resources
            .keys()
            .map(Address::as_str)
            .collect::<Vec<_>>(),
        [NETWORK]
    );
    assert_eq!(
        report.state.resources[&Address::new(SUBNET)].attributes["network_id"],
        json!("network-orphan")
    );
}

#[tokio::test(start_paused = true)]
async fn a_refresh_only_plan_records_drift_and_calls_nothing() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(10)));
    let mut state = empty_state();
    state.resources.insert(
        Address::new(NETWORK),
        recorded(NETWORK, "network-1", json!({ "cidr": "10.0.0.0/16" })),
    );
    state.resources.insert(
        Address::new(SUBNET),
        recorded(SUBNET, "subnet-1", json!({})),
    );
    let mut plan = plan_for(&state, Vec::new());
    plan.refresh_only = true;
    plan.drift = vec![
        Drift {
            address: Address::new(NETWORK),
            kind: Kind::Network,
            region: "us-east-1".into(),
            what: DriftKind::Changed,
            attributes: BTreeMap::from([(
                "cidr".to_string(),
                (json!("10.0.0.0/16"), json!("10.5.0.0/16")),
            )]),
            sensitive: Default::default(),
        },
        Drift {
            address: Address::new(SUBNET),
            kind: Kind::Subnet,
            region: "us-east-1".into(),
            what: DriftKind::Deleted,
            attributes: BTreeMap::new(),
            sensitive: Default::default(),
        },
    ];

    let Run { report, sink, .. } = run(&plan, &provider, state).await;

    assert!(report.succeeded(), "{report:?}");
    assert!(provider.calls().is_empty());
    // Nothing is sent, so the final save is the only one.
    assert_eq!(sink.saved.len(), 1);
    assert_eq!(report.state.resources.len(), 1);
    assert_eq!(
        report.state.resources[&Address::new(NETWORK)].attributes["cidr"],
        json!("10.5.0.0/16")
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_save_stops_at_once_and_abandons_calls_in_flight() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_secs(1)));
    provider
        .cloud()
        .latency
        .insert("network.slow[us-east-1]".into(), Duration::from_secs(5));
    let state = empty_state();
    let plan = plan_for(
        &state,
        vec![
            create(0, NETWORK, &[], json!({})),
            create(1, "network.slow[us-east-1]", &[], json!({})),
            create(2, SUBNET, &[0], json!({})),
        ],
    );
    // The first save holds the intents of the first two calls; the second fails.
    let sink = MemorySink {
        fail_on: Some(2),
        ..MemorySink::default()
    };

    let Run { report, sink, .. } = run_with(&plan, &provider, state, &options(10), sink).await;

    assert!(matches!(
        report.fatal,
        Some(ApplyError::Persist { serial: 2, .. })
    ));
    assert_eq!(sink.saved.len(), 1);
    assert_eq!(sink.saved[0].intents.len(), 2);
    assert_eq!(addresses(&report.completed), [NETWORK]);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0.as_str(), "network.slow[us-east-1]");
    assert!(report.failed[0].2.starts_with("outcome unknown"));
    assert_eq!(addresses(&report.not_started), [SUBNET]);
    // The unsaved change is still in the returned state, for the CLI to rescue.
    assert!(report.state.resources.contains_key(&Address::new(NETWORK)));
}

#[tokio::test(start_paused = true)]
async fn steps_that_wait_on_each_other_are_refused_before_anything_runs() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(10)));
    let state = empty_state();
    let plan = plan_for(
        &state,
        vec![
            create(0, NETWORK, &[1], json!({})),
            create(1, SUBNET, &[0], json!({})),
        ],
    );

    let Run { report, sink, .. } = run(&plan, &provider, state).await;

    assert!(matches!(report.fatal, Some(ApplyError::InvalidPlan { .. })));
    assert!(provider.calls().is_empty());
    assert!(sink.saved.is_empty());
    assert_eq!(report.not_started.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn throttling_lowers_concurrency_and_successes_raise_it_again() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(100)));
    provider.cloud().throttle_above = Some(4);
    let state = empty_state();
    let steps = (0..60)
        .map(|index| {
            create(
                index,
                &format!("network.n{index:02}[us-east-1]"),
                &[],
                json!({}),
            )
        })
        .collect();
    let plan = plan_for(&state, steps);

    let Run {
        report, recorder, ..
    } = run_with(&plan, &provider, state, &options(16), MemorySink::default()).await;

    assert!(report.succeeded(), "{report:?}");
    assert_eq!(provider.cloud().resources.len(), 60);
    let limits: Vec<usize> = recorder
        .events()
        .into_iter()
        .filter_map(|event| match event {
            ApplyEvent::ConcurrencyChanged { limit } => Some(limit),
            _ => None,
        })
        .collect();
    assert!(
        limits.iter().all(|limit| (1..=16).contains(limit)),
        "{limits:?}"
    );
    assert!(
        limits.first().is_some_and(|first| *first < 16),
        "{limits:?}"
    );
    assert!(
        limits.windows(2).any(|pair| pair[1] > pair[0]),
        "never raised again: {limits:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_provider_fails_only_its_step() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(10)));
    provider.cloud().panic_on = Some(SUBNET.into());
    let state = empty_state();
    let plan = plan_for(
        &state,
        vec![
            create(0, SUBNET, &[], json!({})),
            create(1, NETWORK, &[], json!({})),
        ],
    );

    let Run { report, .. } = run(&plan, &provider, state).await;

    assert_eq!(report.failed.len(), 1);
    assert_eq!(
        report.failed[0].2,
        "internal error: the provider call panicked"
    );
    assert_eq!(addresses(&report.completed), [NETWORK]);
}

#[test]
fn idempotency_tokens_are_stable_per_step_and_differ_between_steps() {
    let first = create(0, NETWORK, &[], json!({}));
    let second = create(1, SUBNET, &[], json!({}));
    let token = prepare::idempotency_token("lineage", 3, &first);
    assert_eq!(token, prepare::idempotency_token("lineage", 3, &first));
    assert_ne!(token, prepare::idempotency_token("lineage", 3, &second));
    assert_ne!(token, prepare::idempotency_token("lineage", 4, &first));
    assert_ne!(token, prepare::idempotency_token("other", 3, &first));
    assert!(token.starts_with("cairn-") && token.len() <= 64);
}

#[tokio::test(start_paused = true)]
async fn a_stop_request_lets_calls_in_flight_finish_and_starts_nothing_new() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_secs(1)));
    let state = empty_state();
    let plan = plan_for(
        &state,
        vec![
            create(0, NETWORK, &[], json!({})),
            create(1, SUBNET, &[0], json!({})),
        ],
    );
    let (stop, stop_requested) = tokio::sync::watch::channel(false);
    let options = ApplyOptions {
        stop: Some(stop_requested),
        ..options(10)
    };
    let interrupter = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.send_replace(true);
        stop
    });

    let Run { report, sink, .. } =
        run_with(&plan, &provider, state, &options, MemorySink::default()).await;
    let _stop = interrupter.await;

    assert!(report.interrupted);
    assert_eq!(addresses(&report.completed), [NETWORK]);
    assert_eq!(addresses(&report.not_started), [SUBNET]);
    assert!(report.failed.is_empty());
    assert_eq!(sink.saved.last(), Some(&report.state));
    assert!(report.state.resources.contains_key(&Address::new(NETWORK)));
}

/// The CLI may run the executor on a spawned task, so its future must be `Send`.
#[test]
fn the_executor_future_can_move_between_threads() {
    fn assert_send<T: Send>(_: &T) {}
    let provider: Arc<dyn Provider> = Arc::new(FakeProvider::default());
    let state = empty_state();
    let plan = plan_for(&state, Vec::new());
    let mut sink = MemorySink::default();
    let options = ApplyOptions::default();
    let future = execute(&plan, provider, state, &mut sink, &options, &SilentObserver);
    assert_send(&future);
}

// ---------------------------------------------------------------------------------------------
// Ambiguous outcomes and intents (issue 18)

/// A sink that writes `save <tokens of the intents>` into the journal the fake cloud writes
/// its calls into, so that a test sees the order of saves and calls.
struct JournalSink {
    journal: Arc<Mutex<Vec<String>>>,
}

impl StateSink for JournalSink {
    fn persist(
        &mut self,
        state: &StateDocument,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let tokens: Vec<&str> = state
            .intents
            .iter()
            .map(|intent| intent.token.as_str())
            .collect();
        self.journal
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(format!("save {}", tokens.join(" ")));
        Ok(())
    }
}

/// A network of the environment already in the cloud, tagged as `address`'s.
fn insert_owned(provider: &FakeProvider, address: &str, id: &str) {
    provider.cloud().resources.insert(
        id.to_string(),
        LiveResource {
            kind: Kind::Network,
            region: "us-east-1".into(),
            id: id.to_string(),
            attributes: attributes_of(json!({ "cidr": "10.0.0.0/16" })),
            tags: tags_for(address),
        },
    );
}

fn with_window(window: Duration) -> ApplyOptions {
    ApplyOptions {
        consistency_window: Some(window),
        ..options(10)
    }
}

/// An intent of an earlier run for `step`, sent `ago` before now.
fn interrupted(step: &Step, token: &str, ago: Duration) -> crate::state::Intent {
    crate::state::Intent {
        operation: step.operation,
        address: step.address.clone(),
        kind: step.kind,
        region: step.region.clone(),
        id: step.id.clone(),
        token: token.to_string(),
        since: chrono::Utc::now() - chrono::TimeDelta::from_std(ago).unwrap_or_default(),
    }
}

#[tokio::test(start_paused = true)]
async fn every_call_is_in_saved_state_as_an_intent_before_it_is_sent() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(10)));
    let journal = Arc::new(Mutex::new(Vec::new()));
    provider.cloud().journal = Some(Arc::clone(&journal));
    provider.cloud().throttle.insert(SUBNET.into(), 2);
    let state = empty_state();
    let plan = plan_for(
        &state,
        vec![
            create(0, NETWORK, &[], json!({ "cidr": "10.0.0.0/16" })),
            create(1, SUBNET, &[0], json!({ "network_id": ref_id(NETWORK) })),
            create(2, INSTANCE, &[1], json!({ "subnet_id": ref_id(SUBNET) })),
        ],
    );
    let mut sink = JournalSink {
        journal: Arc::clone(&journal),
    };

    let report = execute(
        &plan,
        provider.clone(),
        state,
        &mut sink,
        &options(10),
        &SilentObserver,
    )
    .await;

    assert!(report.succeeded(), "{report:?}");
    let journal = journal
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut last_save: Option<&str> = None;
    let mut calls = 0;
    for line in journal.iter() {
        if let Some(tokens) = line.strip_prefix("save ") {
            last_save = Some(tokens);
        } else if let Some(token) = line.strip_prefix("call ") {
            calls += 1;
            let saved = last_save.unwrap_or_default();
            assert!(
                saved.split(' ').any(|saved| saved == token),
                "call {token} was sent before a save held its intent: {journal:?}"
            );
        }
    }
    // Three creates and the subnet's two throttled tries.
    assert_eq!(calls, 5);
    assert!(report.state.intents.is_empty());
    // The first intent has a save of its own; every other went into the save holding its
    // dependency's result, and the throttled retries needed none: one save before the first
    // call, one per step, one at the end.
    let saves = journal
        .iter()
        .filter(|line| line.starts_with("save"))
        .count();
    assert_eq!(saves, 5, "{journal:?}");
}

#[tokio::test(start_paused = true)]
async fn an_object_that_shows_up_late_is_found_within_the_window_and_not_created_again() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(50)));
    {
        let mut cloud = provider.cloud();
        cloud.lose_answer.insert(NETWORK.into(), 1);
        cloud.ignore_tokens = true;
        // Missing from the first three reads, as a new id is from EC2's Describe calls.
        cloud.hidden_reads.insert(NETWORK.into(), 3);
    }
    let state = empty_state();
    let plan = plan_for(
        &state,
        vec![create(0, NETWORK, &[], json!({ "cidr": "10.0.0.0/16" }))],
    );

    let Run { report, .. } = run_with(
        &plan,
        &provider,
        state,
        &with_window(Duration::from_secs(30)),
        MemorySink::default(),
    )
    .await;

    assert!(report.succeeded(), "{report:?}");
    assert_eq!(provider.calls_for(NETWORK).len(), 1);
    assert_eq!(provider.cloud().reads, 4);
    assert_eq!(provider.cloud().resources.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn nothing_found_once_the_window_has_passed_is_created_again_with_the_same_token() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(50)));
    {
        let mut cloud = provider.cloud();
        // The request never reached the cloud, but the caller cannot know.
        cloud.lose_request.insert(NETWORK.into(), 1);
        cloud.ignore_tokens = true;
    }
    let state = empty_state();
    let plan = plan_for(
        &state,
        vec![create(0, NETWORK, &[], json!({ "cidr": "10.0.0.0/16" }))],
    );
    let started = Instant::now();

    let Run { report, .. } = run_with(
        &plan,
        &provider,
        state,
        &with_window(Duration::from_secs(2)),
        MemorySink::default(),
    )
    .await;

    assert!(report.succeeded(), "{report:?}");
    let calls = provider.calls_for(NETWORK);
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].token, calls[1].token);
    assert_eq!(provider.cloud().resources.len(), 1);
    // The second create waited for the window after the first was sent.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_duplicate_refusal_after_a_lost_answer_means_look_for_ours_again() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(50)));
    {
        let mut cloud = provider.cloud();
        cloud.lose_answer.insert(NETWORK.into(), 1);
        cloud.ignore_tokens = true;
        cloud.refuse_duplicates = true;
        // Still hidden from the one look a zero window allows: the create is sent again, and
        // refused because the first one's object exists.
        cloud.hidden_reads.insert(NETWORK.into(), 1);
    }
    let state = empty_state();
    let plan = plan_for(
        &state,
        vec![create(0, NETWORK, &[], json!({ "cidr": "10.0.0.0/16" }))],
    );

    let Run { report, .. } = run_with(
        &plan,
        &provider,
        state,
        &with_window(Duration::ZERO),
        MemorySink::default(),
    )
    .await;

    assert!(report.succeeded(), "{report:?}");
    assert_eq!(provider.calls_for(NETWORK).len(), 2);
    assert_eq!(provider.cloud().reads, 2);
    let ids: Vec<String> = provider.cloud().resources.keys().cloned().collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(report.state.resources[&Address::new(NETWORK)].id, ids[0]);
}

#[tokio::test(start_paused = true)]
async fn a_step_that_gives_up_unsure_keeps_its_intent_and_a_refused_one_does_not() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(50)));
    let refused = "network.refused[us-east-1]";
    {
        let mut cloud = provider.cloud();
        cloud.lose_request.insert(NETWORK.into(), 100);
        cloud.fail.insert(
            refused.into(),
            ProviderError::Api {
                code: "InvalidParameterValue".into(),
                message: "bad cidr".into(),
            },
        );
    }
    let state = empty_state();
    let plan = plan_for(
        &state,
        vec![
            create(0, NETWORK, &[], json!({})),
            create(1, refused, &[], json!({})),
        ],
    );
    let options = ApplyOptions {
        max_attempts: 3,
        ..with_window(Duration::from_millis(500))
    };

    let Run { report, sink, .. } =
        run_with(&plan, &provider, state, &options, MemorySink::default()).await;

    assert_eq!(report.failed.len(), 2);
    let unsure = report
        .failed
        .iter()
        .find(|(address, _, _)| address.as_str() == NETWORK)
        .map(|(_, _, message)| message.clone())
        .unwrap_or_default();
    assert!(
        unsure.starts_with("outcome unknown: connection reset"),
        "{unsure}"
    );
    assert!(unsure.contains("apply again"), "{unsure}");
    let kept: Vec<&str> = report
        .state
        .intents
        .iter()
        .map(|intent| intent.address.as_str())
        .collect();
    assert_eq!(kept, [NETWORK]);
    assert_eq!(sink.saved.last(), Some(&report.state));
}

#[tokio::test(start_paused = true)]
async fn a_resumed_create_adopts_what_the_interrupted_run_made() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(10)));
    insert_owned(&provider, NETWORK, "network-made-by-the-killed-run");
    provider.cloud().hidden_reads.insert(NETWORK.into(), 2);
    let mut state = empty_state();
    let mut step = create(0, NETWORK, &[], json!({ "cidr": "10.0.0.0/16" }));
    let intent = interrupted(&step, "cairn-killed-run", Duration::from_secs(1));
    state.intents.push(intent.clone());
    step.resumes = Some(intent);
    let plan = plan_for(&state, vec![step]);

    let Run { report, .. } = run_with(
        &plan,
        &provider,
        state,
        &with_window(Duration::from_secs(30)),
        MemorySink::default(),
    )
    .await;

    assert!(report.succeeded(), "{report:?}");
    assert!(provider.calls_for(NETWORK).is_empty());
    assert_eq!(
        report.state.resources[&Address::new(NETWORK)].id,
        "network-made-by-the-killed-run"
    );
    assert!(report.state.intents.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_resumed_create_past_its_window_looks_once_then_sends_the_old_token() {
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(10)));
    let mut state = empty_state();
    let mut step = create(0, NETWORK, &[], json!({ "cidr": "10.0.0.0/16" }));
    let intent = interrupted(&step, "cairn-killed-run", Duration::from_secs(3600));
    state.intents.push(intent.clone());
    step.resumes = Some(intent);
    let plan = plan_for(&state, vec![step]);

    let Run { report, .. } = run_with(
        &plan,
        &provider,
        state,
        &with_window(Duration::from_secs(30)),
        MemorySink::default(),
    )
    .await;

    assert!(report.succeeded(), "{report:?}");
    assert_eq!(provider.cloud().reads, 1);
    let calls = provider.calls_for(NETWORK);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].token.as_deref(), Some("cairn-killed-run"));
    assert!(report.state.intents.is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_object_the_state_records_is_never_taken_for_the_one_looked_for() {
    // A create_before_destroy replacement: the old object carries the same address tag.
    let provider = Arc::new(FakeProvider::with_latency(Duration::from_millis(10)));
    insert_owned(&provider, NETWORK, "network-old");
    provider.cloud().lose_request.insert(NETWORK.into(), 1);
    let mut state = empty_state();
    state.resources.insert(
        Address::new(NETWORK),
        recorded(NETWORK, "network-old", json!({ "cidr": "10.0.0.0/16" })),
    );
    let mut replacement = create(0, NETWORK, &[], json!({ "cidr": "10.1.0.0/16" }));
    replacement.lifecycle.create_before_destroy = true;
    let mut old = delete(1, NETWORK, "network-old", &[0]);
    old.deposed = true;
    let plan = plan_for(&state, vec![replacement, old]);

    let Run { report, .. } = run(&plan, &provider, state).await;

    assert!(report.succeeded(), "{report:?}");
    let live = &report.state.resources[&Address::new(NETWORK)];
    assert_ne!(live.id, "network-old");
    assert_eq!(live.attributes["cidr"], json!("10.1.0.0/16"));
    assert_eq!(provider.cloud().resources.len(), 1);
}

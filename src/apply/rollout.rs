//! Rollouts: the engine replaces an autoscaling group's instances with those of its new launch
//! template version itself, step by step, through the provider trait (the same code on `sim`
//! and AWS; moto has no instance refresh, and the engine must show and control each step).
//!
//! A step has a number of new-version instances to reach (see [`crate::plan::rollout`]). It
//! (1) terminates the old instances `min_healthy` can spare (rolling only), (2) raises the
//! group's desired capacity so that the group launches the new instances it lacks, (3) waits
//! until that many new instances are healthy (running, and behind a load balancer healthy in
//! every target group of the group as DescribeTargetHealth reports it, so that they take
//! traffic; by the group's instance status otherwise), then for
//! `warmup`, (4) terminates old instances until the group is back at capacity, and
//! (5) bakes (canary). While it waits it checks the gates: an `abort_on` alarm in ALARM,
//! health not reached within `timeout`, fewer than `min_healthy` healthy while baking, a
//! stop request (Ctrl-C). A failed gate rolls back: the group takes the old version again
//! and one step brings every instance back to it. Traffic follows the instances (new ones
//! register in the group's target group, so a canary's share of the traffic is its share of
//! the targets), except for a canary behind a listener, whose share is its checkpoint by
//! weighted target groups: see [`canary`].
//!
//! A `blue_green` rollout runs a second group instead of steps within one: see
//! [`blue_green`].
//!
//! Promises:
//! - The record of the rollout (state's `rollouts`) is saved before each step's calls and
//!   when a rollback starts, and removed, with the group's attributes as read, only once the
//!   group runs one version again. A process killed at any point leaves the record; the next
//!   apply resumes from it (a step is computed from what the group runs, so doing one again
//!   is harmless).
//! - Waits go through [`Provider::wait`]: real time on AWS, the simulated cloud's clock on
//!   `sim` when it is set, so tests bake for minutes in no time.

mod blue_green;
mod canary;

use super::error::ApplyError;
use super::events::{ApplyEvent, RolloutEnd};
use crate::model::rollout::RolloutStrategy;
use crate::model::{Address, Attributes, Kind, Owner, Value};
use crate::plan::PlannedRollout;
use crate::plan::rollout::in_service;
use crate::provider::{LiveResource, Provider, ProviderError, UpdateRequest};
use crate::state::{RolledBack, RolloutPhase, RolloutRecord, StateDocument};
use std::time::Duration;
use tokio::time::Instant;

/// How often health and gates are read while waiting.
const POLL: Duration = Duration::from_secs(2);

/// What a rollout needs from the executor running it.
pub(super) trait Ledger: Send {
    fn state(&mut self) -> &mut StateDocument;
    /// Saves state (its record included) as the next serial.
    ///
    /// # Errors
    /// The save failed; the rollout stops at once, its record as last saved.
    fn persist(&mut self) -> Result<(), ApplyError>;
    fn emit(&self, event: ApplyEvent);
    /// What turns `true` when the user asks the apply to stop (Ctrl-C).
    fn stop(&self) -> Option<tokio::sync::watch::Receiver<bool>>;
}

/// How one rollout ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutResult {
    pub address: Address,
    pub end: RolloutEnd,
    /// Steps that completed going forward.
    pub steps_done: usize,
    pub elapsed: Duration,
}

/// One instance of the group as a rollout sees it.
#[derive(Debug, Clone)]
struct Member {
    id: String,
    healthy: bool,
    running: bool,
}

/// Why a step stopped: a gate, or the cloud.
type Abort = String;

/// Runs `planned` to its end: forward to the new version, or back to the old one when a gate
/// fails (or when it resumes a rollback).
///
/// # Errors
/// Only a failed save of state; everything else is in the returned result.
pub(super) async fn run(
    planned: &PlannedRollout,
    provider: &dyn Provider,
    ledger: &mut dyn Ledger,
) -> Result<RolloutResult, ApplyError> {
    let started = Instant::now();
    let result = |end: RolloutEnd, steps_done: usize| RolloutResult {
        address: planned.address.clone(),
        end,
        steps_done,
        elapsed: started.elapsed(),
    };
    let Some(group) = ledger
        .state()
        .resources
        .get(&planned.address)
        .map(|resource| resource.id.clone())
    else {
        // The group is gone (destroyed by hand, say): nothing is half-updated any more.
        if ledger.state().rollouts.remove(&planned.address).is_some() {
            ledger.persist()?;
        }
        return Ok(result(
            RolloutEnd::Failed {
                reason: "the group is not in state".to_string(),
            },
            0,
        ));
    };
    let owner = Owner {
        stack: ledger.state().stack.clone(),
        env: ledger.state().environment.clone(),
    };
    let alarms = planned
        .course
        .spec
        .abort_on
        .iter()
        .map(|gate| {
            let id = ledger
                .state()
                .resources
                .get(&gate.alarm)
                .map(|alarm| alarm.id.clone());
            (gate.alarm.clone(), id)
        })
        .collect();
    let mut driver = Driver {
        provider,
        planned,
        group,
        owner,
        alarms,
        stop: ledger.stop(),
        waited: Duration::ZERO,
        canary: None,
        admitted: Vec::new(),
    };

    let recorded = ledger.state().rollouts.get(&planned.address).cloned();
    let mut record = match recorded {
        Some(record) => record,
        None => record(planned, crate::provider::recorded_time(provider).await),
    };
    // After the plan's steps the group runs the version being rolled out: that is the target,
    // whatever the record said before (a reference not yet known, an older target).
    if !planned.first || crate::model::contains_reference(&record.course.to_version) {
        match driver.read().await {
            Ok(live) => {
                record.course.to_version = live
                    .attributes
                    .get("launch_template_version")
                    .cloned()
                    .unwrap_or(Value::Null);
            }
            Err(reason) => return Ok(result(RolloutEnd::Failed { reason }, 0)),
        }
    }
    ledger.emit(ApplyEvent::RolloutStarted {
        address: planned.address.clone(),
        strategy: record.course.spec.strategy,
        from_version: record.course.from_version.clone(),
        to_version: record.course.to_version.clone(),
        targets: record.course.targets.clone(),
        resumed: planned.resume.is_some(),
    });
    let versions = (
        record.course.from_version.clone(),
        record.course.to_version.clone(),
    );
    let (end, steps_done) = drive(&mut driver, &mut record, ledger).await?;
    remember(ledger, provider, &planned.address, &end, versions).await?;
    Ok(result(end, steps_done))
}

/// What a rollout that ended leaves for later plans: a rollback remembers the version it
/// undid, so that the next plan keeps the group where it went back to instead of rolling the
/// same version out again; a completed rollout forgets any such memory. A rollback's end is
/// saved here, in the same save as its memory (`drive` leaves it unsaved).
///
/// # Errors
/// A failed save of state.
async fn remember(
    ledger: &mut dyn Ledger,
    provider: &dyn Provider,
    address: &Address,
    end: &RolloutEnd,
    (back_to, version): (Value, Value),
) -> Result<(), ApplyError> {
    match end {
        RolloutEnd::RolledBack { reason } => {
            let at = crate::provider::recorded_time(provider).await;
            let rolled_back = RolledBack {
                version,
                back_to,
                reason: reason.clone(),
                at,
            };
            ledger
                .state()
                .rolled_back
                .insert(address.clone(), rolled_back);
            ledger.persist()
        }
        RolloutEnd::Completed => {
            if ledger.state().rolled_back.remove(address).is_some() {
                ledger.persist()?;
            }
            Ok(())
        }
        RolloutEnd::Failed { .. } => Ok(()),
    }
}

/// Runs a rollout from where `record` stands to its end: forward step by step, and back when
/// a gate fails. Returns how it ended and the steps it completed going forward.
///
/// # Errors
/// Only a failed save of state.
async fn drive(
    driver: &mut Driver<'_>,
    record: &mut RolloutRecord,
    ledger: &mut dyn Ledger,
) -> Result<(RolloutEnd, usize), ApplyError> {
    if record.course.spec.strategy == RolloutStrategy::BlueGreen {
        let (end, steps_done) = blue_green::run(driver, record, ledger).await?;
        return Ok((end, steps_done));
    }

    let mut steps_done = 0;
    if record.phase == RolloutPhase::Forward
        && let Err(reason) = canary::prepare(driver, record, ledger).await
    {
        record.phase = RolloutPhase::RollingBack;
        record.reason = Some(format!("setting up the canary's traffic: {reason}"));
        save(ledger, &driver.planned.address, record)?;
    }
    if record.phase == RolloutPhase::Forward {
        for step in record.step..record.course.targets.len() {
            record.step = step;
            save(ledger, &driver.planned.address, record)?;
            let step_started = Instant::now();
            let target = record.course.targets[step];
            let outcome = driver.step(record, target, true, ledger).await;
            match outcome {
                Ok((old, new)) => {
                    steps_done += 1;
                    ledger.emit(ApplyEvent::RolloutStep {
                        address: driver.planned.address.clone(),
                        step: step + 1,
                        steps: record.course.targets.len(),
                        target,
                        capacity: record.course.capacity,
                        old_healthy: old,
                        new_healthy: new,
                        elapsed: step_started.elapsed(),
                        rolling_back: false,
                    });
                }
                Err(reason) => {
                    record.phase = RolloutPhase::RollingBack;
                    record.reason = Some(format!(
                        "step {} of {}: {reason}",
                        step + 1,
                        record.course.targets.len()
                    ));
                    save(ledger, &driver.planned.address, record)?;
                    break;
                }
            }
        }
    }
    if record.phase == RolloutPhase::Forward {
        let finished = match canary::settle(driver, record, ledger).await {
            Ok(()) => {
                driver
                    .finish(record, &record.course.to_version, ledger)
                    .await
            }
            Err(reason) => Err(reason),
        };
        return match finished {
            Ok(()) => {
                ledger.persist()?;
                Ok((RolloutEnd::Completed, steps_done))
            }
            Err(reason) => Ok((RolloutEnd::Failed { reason }, steps_done)),
        };
    }

    // Rolling back: the group launches the old version again, one step replaces every new
    // instance, and no gate stops it (the alarms that fired are why it runs).
    let reason = record
        .reason
        .clone()
        .unwrap_or_else(|| "an earlier apply was rolling back".to_string());
    ledger.emit(ApplyEvent::RolloutRollingBack {
        address: driver.planned.address.clone(),
        reason: reason.clone(),
    });
    let step_started = Instant::now();
    // A weighted canary's traffic goes back to the old instances before anything else.
    let restored = canary::restore(driver, record, ledger).await;
    let back = match restored {
        Ok(()) => driver.set_version(&record.course.from_version).await,
        Err(failure) => Err(failure),
    };
    let back = match back {
        Ok(()) => {
            let capacity = record.course.capacity;
            driver.step(record, capacity, false, ledger).await
        }
        Err(failure) => Err(failure),
    };
    match back {
        Ok((old, new)) => {
            // The step counted the old version as the one it brings in.
            ledger.emit(ApplyEvent::RolloutStep {
                address: driver.planned.address.clone(),
                step: 1,
                steps: 1,
                target: record.course.capacity,
                capacity: record.course.capacity,
                old_healthy: new,
                new_healthy: old,
                elapsed: step_started.elapsed(),
                rolling_back: true,
            });
            match driver
                .finish(record, &record.course.from_version, ledger)
                .await
            {
                // Saved by `remember`, in one save with the release rolled back: a crash
                // between two saves would leave neither the rollout nor its memory.
                Ok(()) => Ok((RolloutEnd::RolledBack { reason }, steps_done)),
                Err(failure) => Ok((
                    RolloutEnd::Failed {
                        reason: format!("{reason}; then the rollback failed: {failure}"),
                    },
                    steps_done,
                )),
            }
        }
        Err(failure) => Ok((
            RolloutEnd::Failed {
                reason: format!("{reason}; then the rollback failed: {failure}"),
            },
            steps_done,
        )),
    }
}

/// The record of a rollout about to start: written before the plan's steps, so that a
/// process killed from the group's update on leaves a rollout the next apply resumes.
/// `now` is when it starts, on the cloud's clock.
pub(super) fn record(
    planned: &PlannedRollout,
    now: chrono::DateTime<chrono::Utc>,
) -> RolloutRecord {
    RolloutRecord {
        course: planned.course.clone(),
        step: 0,
        phase: RolloutPhase::Forward,
        launched: Vec::new(),
        relaunched: Vec::new(),
        green: None,
        returning: false,
        canary: None,
        reason: None,
        started: now.to_rfc3339(),
    }
}

fn save(
    ledger: &mut dyn Ledger,
    address: &Address,
    record: &RolloutRecord,
) -> Result<(), ApplyError> {
    ledger
        .state()
        .rollouts
        .insert(address.clone(), record.clone());
    ledger.persist()
}

/// The calls of one rollout against one group.
struct Driver<'a> {
    provider: &'a dyn Provider,
    planned: &'a PlannedRollout,
    group: String,
    owner: Owner,
    /// The `abort_on` alarms with their ids in state (`None`: not in state).
    alarms: Vec<(Address, Option<String>)>,
    /// Turns `true` on Ctrl-C.
    stop: Option<tokio::sync::watch::Receiver<bool>>,
    /// Time waited so far in the current wait, on the cloud's clock.
    waited: Duration,
    /// A weighted canary's target group, once it exists.
    canary: Option<String>,
    /// New instances this run registered in the canary target group.
    admitted: Vec<String>,
}

impl Driver<'_> {
    fn region(&self) -> &str {
        &self.planned.course.region
    }

    async fn read(&self) -> Result<LiveResource, Abort> {
        self.read_group(&self.group).await
    }

    async fn read_group(&self, name: &str) -> Result<LiveResource, Abort> {
        self.provider
            .import(self.region(), Kind::AutoscalingGroup, name)
            .await
            .map_err(|error| format!("reading group `{name}` failed: {error}"))
    }

    /// The group's instances.
    async fn members(&self) -> Result<(LiveResource, Vec<Member>), Abort> {
        self.members_of(&self.group).await
    }

    /// The instances of group `name`. Behind a load balancer an instance is healthy when it
    /// runs and every target group of the group finds it healthy (DescribeTargetHealth): it
    /// takes traffic. Otherwise, or where the cloud cannot tell target health, as the group
    /// judges it.
    async fn members_of(&self, name: &str) -> Result<(LiveResource, Vec<Member>), Abort> {
        let live = self.read_group(name).await?;
        let mut members: Vec<Member> = live
            .attributes
            .get("instances")
            .and_then(Value::as_array)
            .map(|instances| {
                instances
                    .iter()
                    .filter_map(|instance| {
                        let text = |name: &str| instance.get(name).and_then(Value::as_str);
                        Some(Member {
                            id: text("id")?.to_string(),
                            healthy: text("state") == Some("running")
                                && text("health") == Some("healthy"),
                            running: text("state") == Some("running"),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let target_groups: Vec<&str> = live
            .attributes
            .get("target_group_ids")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        // A weighted canary's new instances serve from its target group instead of the
        // group's: an instance counts where it is registered, and must be somewhere.
        let mut listed = vec![self.canary.is_none(); members.len()];
        for target_group in target_groups.into_iter().chain(self.canary.as_deref()) {
            let health = match self
                .provider
                .target_health(self.region(), target_group)
                .await
            {
                Ok(health) => health,
                Err(ProviderError::Api { code, .. }) if code == "UnsupportedOperation" => break,
                Err(error) => {
                    return Err(format!(
                        "reading the target health of `{target_group}` failed: {error}"
                    ));
                }
            };
            for (member, listed) in members.iter_mut().zip(listed.iter_mut()) {
                let state = health
                    .iter()
                    .find(|(id, _)| *id == member.id)
                    .map(|(_, state)| state.as_str());
                if self.canary.is_none() || state.is_some() {
                    member.healthy = member.healthy && state == Some("healthy");
                    *listed = true;
                }
            }
        }
        for (member, listed) in members.iter_mut().zip(listed) {
            member.healthy = member.healthy && listed;
        }
        Ok((live, members))
    }

    /// Changes the group's sizes and version; `None` keeps what it has.
    async fn set_group(
        &self,
        live: &LiveResource,
        desired: Option<u32>,
        version: Option<&Value>,
        bounds: (u32, u32),
    ) -> Result<(), Abort> {
        self.update(live, |after| {
            if let Some(desired) = desired {
                after.insert("desired".to_string(), Value::from(desired));
            }
            let desired = count(after, "desired");
            after.insert("min".to_string(), Value::from(bounds.0.min(desired)));
            after.insert("max".to_string(), Value::from(bounds.1.max(desired)));
            if let Some(version) = version {
                after.insert("launch_template_version".to_string(), version.clone());
            }
        })
        .await
        .map_err(|error| format!("changing group `{}` failed: {error}", live.id))
    }

    /// Changes `live` in place to its attributes as `change` leaves them, sending nothing when
    /// that changes nothing. A group's `instances` are left out of both sides: they are read,
    /// never set.
    async fn update(
        &self,
        live: &LiveResource,
        change: impl FnOnce(&mut Attributes),
    ) -> Result<(), ProviderError> {
        let mut before = live.attributes.clone();
        before.remove("instances");
        let mut after = before.clone();
        change(&mut after);
        if live.kind.same_attributes(&before, &after, &|_| false) {
            return Ok(());
        }
        let request = UpdateRequest {
            kind: live.kind,
            region: self.region().to_string(),
            id: live.id.clone(),
            before,
            after,
            tags: live.tags.clone(),
            token: uuid::Uuid::new_v4().to_string(),
        };
        self.provider.update(&request).await.map(|_| ())
    }

    async fn set_version(&self, version: &Value) -> Result<(), Abort> {
        let live = self.read().await?;
        let (min, max) = (
            count(&live.attributes, "min"),
            count(&live.attributes, "max"),
        );
        self.set_group(&live, None, Some(version), (min, max)).await
    }

    async fn terminate(&self, members: &[&Member]) -> Result<(), Abort> {
        for member in members {
            match self
                .provider
                .terminate_in_group(self.region(), &self.group, &member.id)
                .await
            {
                Ok(()) | Err(ProviderError::NotFound { .. }) => {}
                Err(error) => return Err(format!("terminating `{}` failed: {error}", member.id)),
            }
        }
        Ok(())
    }

    /// One step: `target` instances of the version this direction brings in (the new one
    /// going forward, the old one rolling back), the rest of capacity the other. Instances
    /// the step sees appear are recorded as launched by the rollout (saved at once), because
    /// what a cloud reports an instance runs is not always true (moto reports the group's
    /// first version for every instance). Returns the healthy old and new instances at its
    /// end, as this direction counts them.
    async fn step(
        &mut self,
        record: &mut RolloutRecord,
        target: u32,
        gated: bool,
        ledger: &mut dyn Ledger,
    ) -> Result<(usize, usize), Abort> {
        let capacity = record.course.capacity as usize;
        let target = target as usize;
        let bounds = (record.course.min, record.course.max);
        let (live, members) = self.members().await?;
        let (new, mut old): (Vec<&Member>, Vec<&Member>) = members
            .iter()
            .partition(|member| brought_in(record, gated, member));
        // Unhealthy old instances go first: they serve nobody.
        old.sort_by_key(|member| (member.healthy, member.id.clone()));
        let need = target.saturating_sub(new.len());
        let known: Vec<String> = members.iter().map(|member| member.id.clone()).collect();

        // (1) What min_healthy spares goes before anything is launched (rolling only).
        let spare = match record.course.spec.strategy {
            RolloutStrategy::Rolling => {
                record.course.capacity - in_service(&record.course.spec, record.course.capacity)
            }
            _ => 0,
        } as usize;
        let down = need.min(spare).min(old.len());
        if down > 0 {
            let lowered = members.len().saturating_sub(down) as u32;
            self.set_group(&live, None, None, (bounds.0.min(lowered), bounds.1))
                .await?;
            self.terminate(&old[..down]).await?;
        }

        // (2) The group launches what this step lacks.
        if need > 0 {
            let live = self.read().await?;
            let desired = (members.len() - down + need) as u32;
            self.set_group(&live, Some(desired), None, bounds).await?;
        }

        // (3) Health, then warmup.
        self.waited = Duration::ZERO;
        loop {
            let (_, members) = self.members().await?;
            let appeared: Vec<String> = members
                .iter()
                .filter(|member| !known.contains(&member.id))
                .filter(|member| !record.launched(gated).contains(&member.id))
                .map(|member| member.id.clone())
                .collect();
            if !appeared.is_empty() {
                record.launched_mut(gated).extend(appeared);
                save(ledger, &self.planned.address, record)
                    .map_err(|error| format!("saving state failed: {error}"))?;
            }
            let new: Vec<&Member> = members
                .iter()
                .filter(|member| gated && brought_in(record, gated, member))
                .collect();
            if canary::admit(self, record, &new).await? {
                // Their health is now read where they serve.
                continue;
            }
            let healthy = members
                .iter()
                .filter(|member| brought_in(record, gated, member) && member.healthy)
                .count();
            if self
                .healthy_or_wait(record, (healthy, target), gated, "new instances")
                .await?
            {
                break;
            }
        }
        if gated {
            self.watch(record, record.course.spec.warmup_seconds, None)
                .await?;
        }

        // (4) Back at capacity: the old instances this step replaced go.
        let (live, members) = self.members().await?;
        let mut old: Vec<&Member> = members
            .iter()
            .filter(|member| !brought_in(record, gated, member))
            .collect();
        old.sort_by_key(|member| (member.healthy, member.id.clone()));
        let excess = members.len().saturating_sub(capacity).min(old.len());
        if excess > 0 {
            let lowered = (members.len() - excess) as u32;
            self.set_group(&live, None, None, (bounds.0.min(lowered), bounds.1))
                .await?;
            self.terminate(&old[..excess]).await?;
        }

        // (5) Bake at a checkpoint: a weighted canary's traffic moved to it first, then every
        // gate, and min_healthy of capacity.
        if gated && let Some(percent) = record.course.weights.get(record.step) {
            canary::shift(self, record, *percent, ledger).await?;
        }
        if gated && record.course.spec.strategy == RolloutStrategy::Canary {
            let floor = in_service(&record.course.spec, record.course.capacity) as usize;
            self.watch(record, record.course.spec.bake_seconds, Some(floor))
                .await?;
        }
        let (_, members) = self.members().await?;
        let healthy = |wanted: bool| {
            members
                .iter()
                .filter(|member| brought_in(record, gated, member) == wanted && member.healthy)
                .count()
        };
        Ok((healthy(false), healthy(true)))
    }

    /// Waits `seconds` on the cloud's clock, checking the gates at every poll.
    async fn watch(
        &mut self,
        record: &RolloutRecord,
        seconds: u64,
        floor: Option<usize>,
    ) -> Result<(), Abort> {
        let total = Duration::from_secs(seconds);
        let mut waited = Duration::ZERO;
        loop {
            self.gates(record, floor).await?;
            if waited >= total {
                return Ok(());
            }
            let slice = POLL.min(total - waited);
            self.pause(slice).await?;
            waited += slice;
        }
    }

    /// One poll of a wait for `wanted` healthy instances (`what` says which) that found
    /// `healthy`, within the rollout's timeout counted from the last reset of `waited`: `true`
    /// once enough are healthy; else the gates are checked (with `gated`), the timeout is an
    /// abort, and one poll is waited (`false`).
    async fn healthy_or_wait(
        &mut self,
        record: &RolloutRecord,
        (healthy, wanted): (usize, usize),
        gated: bool,
        what: &str,
    ) -> Result<bool, Abort> {
        if healthy >= wanted {
            return Ok(true);
        }
        if gated {
            self.gates(record, None).await?;
        }
        let timeout = Duration::from_secs(record.course.spec.timeout_seconds);
        if self.waited >= timeout {
            return Err(format!(
                "{healthy} of {wanted} {what} healthy after {}",
                humantime::format_duration(timeout)
            ));
        }
        self.pause(POLL).await?;
        Ok(false)
    }

    async fn pause(&mut self, duration: Duration) -> Result<(), Abort> {
        self.provider
            .wait(duration)
            .await
            .map_err(|error| format!("waiting failed: {error}"))?;
        self.waited += duration;
        Ok(())
    }

    /// The gates: a stop request, an `abort_on` alarm in ALARM, and (while baking) fewer
    /// healthy instances than `floor`.
    async fn gates(&self, record: &RolloutRecord, floor: Option<usize>) -> Result<(), Abort> {
        if self.stop.as_ref().is_some_and(|stop| *stop.borrow()) {
            return Err("interrupted (Ctrl-C)".to_string());
        }
        if !self.alarms.is_empty() {
            let alarms = self
                .provider
                .read(self.region(), Kind::Alarm, &self.owner)
                .await
                .map_err(|error| format!("reading the alarms failed: {error}"))?;
            for (address, id) in &self.alarms {
                let state = alarms
                    .iter()
                    .find(|alarm| Some(&alarm.id) == id.as_ref())
                    .and_then(|alarm| alarm.attributes.get("state"))
                    .and_then(Value::as_str);
                match state {
                    Some("ALARM") => return Err(format!("alarm `{address}` is in ALARM")),
                    Some(_) => {}
                    None => return Err(format!("alarm `{address}` does not exist")),
                }
            }
        }
        if let Some(floor) = floor {
            let (_, members) = self.members().await?;
            let healthy = members.iter().filter(|member| member.healthy).count();
            if healthy < floor {
                return Err(format!(
                    "{healthy} instances healthy, below min_healthy ({floor} of {})",
                    record.course.capacity
                ));
            }
        }
        Ok(())
    }

    /// Ends the rollout on `version`: the group's sizes as configured, its record gone and
    /// its attributes in state as read (the caller saves).
    async fn finish(
        &mut self,
        record: &RolloutRecord,
        version: &Value,
        ledger: &mut dyn Ledger,
    ) -> Result<(), Abort> {
        let live = self.read().await?;
        self.set_group(
            &live,
            Some(record.course.capacity),
            Some(version),
            (record.course.min, record.course.max),
        )
        .await?;
        let live = self.read().await?;
        let state = ledger.state();
        if let Some(resource) = state.resources.get_mut(&self.planned.address) {
            resource.attributes = live.attributes;
        }
        state.rollouts.remove(&self.planned.address);
        Ok(())
    }
}

/// Whether `member` runs the version a step brings in: the new one going forward (`forward`),
/// the old one rolling back. Told by the instances the rollout saw launch, never by the
/// version the cloud reports: moto reports the group's current version for every instance,
/// and before the rollout launched anything every instance of the group runs the old one.
fn brought_in(record: &RolloutRecord, forward: bool, member: &Member) -> bool {
    if forward {
        record.launched.contains(&member.id)
    } else {
        record.relaunched.contains(&member.id) || !record.launched.contains(&member.id)
    }
}

/// A count attribute of a group, 0 when missing.
fn count(attributes: &Attributes, name: &str) -> u32 {
    attributes
        .get(name)
        .and_then(Value::as_u64)
        .and_then(|value| u32::try_from(value).ok())
        .unwrap_or_default()
}

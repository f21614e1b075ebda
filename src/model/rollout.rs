//! Rollout settings: how an autoscaling group replaces its instances when an apply changes
//! what they run. The configuration fills them in (`graph::resources::rollout`), the plan
//! carries them, state keeps them with a rollout in progress, and apply follows them.

use super::{Address, SourceLocation};
use serde::{Deserialize, Serialize};

/// How an autoscaling group replaces its instances when its launch template changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutStrategy {
    /// Replace instances in batches bounded by `min_healthy` and `max_surge`.
    Rolling,
    /// Move a rising share of capacity (`checkpoints`) to the new version, baking at each.
    Canary,
    /// A second group with the new version beside the old one; traffic switches when it is
    /// healthy.
    BlueGreen,
    /// The group takes the new template and the cloud replaces instances as they cycle (the
    /// engine drives nothing): what a group without a `rollout` block does.
    AllAtOnce,
}

impl RolloutStrategy {
    /// The name written in `strategy = "..."`.
    pub fn name(self) -> &'static str {
        match self {
            RolloutStrategy::Rolling => "rolling",
            RolloutStrategy::Canary => "canary",
            RolloutStrategy::BlueGreen => "blue_green",
            RolloutStrategy::AllAtOnce => "all_at_once",
        }
    }
}

/// An alarm a rollout aborts on: its address in the group's region, and where it was named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutGate {
    pub alarm: Address,
    pub source: SourceLocation,
}

/// A `rollout { ... }` block of an autoscaling group: every setting, defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutSpec {
    pub strategy: RolloutStrategy,
    /// Canary: percentages of capacity on the new version at each step, rising, ending at
    /// 100. Rolling and blue-green: `[100]`.
    pub checkpoints: Vec<u32>,
    /// Percentage of the group's capacity that must stay healthy at every step.
    pub min_healthy: u32,
    /// Rolling: instances launched beyond capacity per batch.
    pub max_surge: u32,
    /// Seconds a new instance must stay healthy before it counts as in service.
    pub warmup_seconds: u64,
    /// Seconds to watch the gates at each checkpoint (canary) or after the switch
    /// (blue-green).
    pub bake_seconds: u64,
    /// Blue-green: seconds the old group is kept after the switch.
    pub keep_old_seconds: u64,
    /// Alarms that abort the rollout when they are in ALARM.
    pub abort_on: Vec<RolloutGate>,
    /// Seconds new instances have to become healthy at each step.
    pub timeout_seconds: u64,
    pub source: SourceLocation,
}

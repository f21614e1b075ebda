//! A rollout in progress, as state keeps it: the durable record of which step an autoscaling
//! group's replacement has reached and in which direction it is going.
//!
//! Promise: the record is written before the calls of each step, and removed only once the
//! group runs one launch template version again (the new one, or the old one after a rollback).
//! A process killed in between leaves the record, and the next plan resumes from it: a group
//! that state calls done is never half-updated.

use crate::model::Value;
use crate::model::rollout::RolloutSpec;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which way a rollout is going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutPhase {
    /// Replacing instances with the new version, step by step.
    Forward,
    /// A gate failed: replacing every new instance with the old version again.
    RollingBack,
}

/// What a rollout does, whether a plan announces it or state records it in progress: the
/// group's region, its `rollout` settings and bounds, the versions it goes between and the
/// steps it takes. Both the plan's rollout and state's record embed it (flattened, so the
/// plan and state files keep the fields at the top of each entry, as they always had them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutCourse {
    pub region: String,
    pub spec: RolloutSpec,
    /// Instances the group runs when no rollout is in progress.
    pub capacity: u32,
    /// The group's `min` as configured, restored when the rollout ends (a step that
    /// terminates first may lower it).
    pub min: u32,
    /// The group's `max` as configured, restored when the rollout ends (a surge may raise it).
    pub max: u32,
    /// The launch template version the instances ran before.
    pub from_version: Value,
    /// The version rolled out (in a plan, a reference "known after apply" when the template
    /// changes in the same plan).
    pub to_version: Value,
    /// New-version instances wanted after each step.
    pub targets: Vec<u32>,
    /// A canary behind a listener: the percent of the traffic the new instances take at each
    /// step (a weight per target), empty when the share follows the instances.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weights: Vec<u32>,
}

/// One group's rollout in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutRecord {
    #[serde(flatten)]
    pub course: RolloutCourse,
    /// The step being run (an index into `targets`).
    pub step: usize,
    pub phase: RolloutPhase,
    /// Instances seen launching while going forward (they run the new version).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub launched: Vec<String>,
    /// Instances seen launching while rolling back (they run the old version).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relaunched: Vec<String>,
    /// Blue-green: the name of the second ("green") group, fixed and saved before it is
    /// created, so that a process killed at any call leaves a group the next apply finds by
    /// name (and the next refresh does not take for a duplicate of the group's address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub green: Option<String>,
    /// Blue-green: the second group is the one an earlier release kept (within its
    /// `keep_old`), running what this release brings back: it serves again without a launch,
    /// and the group it replaces is deleted rather than kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub returning: bool,
    /// A weighted canary: its target group and the listeners whose weights it moves, saved
    /// before the target group is created and removed once it is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryTraffic>,
    /// Why the rollout is rolling back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// RFC 3339 time the rollout started.
    pub started: String,
}

/// A release an automatic rollback undid, remembered so that later plans keep the group on
/// the version it went back to instead of rolling the same version out again (and failing
/// the same way): as Argo Rollouts keeps an aborted revision aborted, until the definition
/// changes (the template gets another version) or the user retries it (`--retry-rollout`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolledBack {
    /// The launch template version that was rolled back.
    pub version: Value,
    /// The version the group went back to.
    pub back_to: Value,
    /// Why: the gate that failed.
    pub reason: String,
    /// When the rollback ended, on the cloud's clock.
    pub at: DateTime<Utc>,
}

/// The traffic of a weighted canary: the new instances serve from a target group of their own
/// beside the group's, and the listeners forwarding to the group's split their traffic
/// between the two by weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryTraffic {
    /// The canary target group's name, fixed before it is created, so that one whose create
    /// answer was lost is found by name.
    pub name: String,
    /// Its id (ARN), once created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The group's own target group, whose settings the canary one copies.
    pub target_group: String,
    /// The listeners forwarding to `target_group`, each with its forward action as
    /// configured: what the weights go back to.
    pub listeners: Vec<ListenerForward>,
}

/// A listener and its forward action as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListenerForward {
    pub id: String,
    pub forward: Value,
}

impl RolloutRecord {
    /// The instances seen launching in one direction (`forward`, or rolling back).
    pub fn launched(&self, forward: bool) -> &[String] {
        if forward {
            &self.launched
        } else {
            &self.relaunched
        }
    }

    /// The same, to add to.
    pub fn launched_mut(&mut self, forward: bool) -> &mut Vec<String> {
        if forward {
            &mut self.launched
        } else {
            &mut self.relaunched
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A record as the release before `RolloutCourse` wrote it into state (every field at the
    /// top of the entry): a weighted canary in progress, rolling back.
    fn written_by_the_last_release() -> serde_json::Value {
        json!({
            "region": "eu-west-1",
            "spec": {
                "strategy": "canary",
                "checkpoints": [10, 50, 100],
                "min_healthy": 90,
                "max_surge": 1,
                "warmup_seconds": 0,
                "bake_seconds": 30,
                "keep_old_seconds": 0,
                "abort_on": [],
                "timeout_seconds": 600,
                "source": {"file": "main.hcl", "line": 12, "column": 3}
            },
            "capacity": 4,
            "min": 2,
            "max": 6,
            "from_version": 1,
            "to_version": 2,
            "targets": [1, 2, 4],
            "weights": [10, 50, 100],
            "step": 1,
            "phase": "rolling_back",
            "launched": ["i-0001"],
            "canary": {
                "name": "web-canary",
                "target_group": "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/web/1",
                "listeners": []
            },
            "reason": "alarm `alarm.errors` fired",
            "started": "2026-11-01T09:00:00Z"
        })
    }

    // Issue 9: the record embeds the course it shares with the plan's rollout; state files
    // written before that must still load, and a loaded record is written back unchanged.
    #[test]
    fn a_record_written_by_the_last_release_loads_and_is_written_back_unchanged() {
        let old = written_by_the_last_release();
        let record: RolloutRecord = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(record.course.region, "eu-west-1");
        assert_eq!(record.course.capacity, 4);
        assert_eq!((record.course.min, record.course.max), (2, 6));
        assert_eq!(record.course.from_version, json!(1));
        assert_eq!(record.course.to_version, json!(2));
        assert_eq!(record.course.targets, vec![1, 2, 4]);
        assert_eq!(record.course.weights, vec![10, 50, 100]);
        assert_eq!(record.course.spec.bake_seconds, 30);
        assert_eq!((record.step, record.phase), (1, RolloutPhase::RollingBack));
        assert_eq!(record.launched, vec!["i-0001".to_string()]);
        assert_eq!(serde_json::to_value(&record).unwrap(), old);
    }

    #[test]
    fn a_record_without_weights_loads_with_empty_weights_and_writes_none_back() {
        let mut old = written_by_the_last_release();
        let fields = old.as_object_mut().unwrap();
        fields.remove("weights");
        fields.remove("canary");
        let record: RolloutRecord = serde_json::from_value(old.clone()).unwrap();
        assert!(record.course.weights.is_empty());
        assert_eq!(serde_json::to_value(&record).unwrap(), old);
    }
}

//! `cairn dr check`: whether a failover could succeed now, and how long it would take.
//!
//! What is checked, read-only, for the environment's DR region:
//! - every data volume has a completed backup copy there, younger than its policy's `every`
//!   (a pending copy cannot be restored, an old one loses more data than the policy allows);
//! - every image the environment launches exists there (AMI ids are per region);
//! - the standby a pilot light or warm standby keeps there matches the configuration (drift
//!   at the DR site would fail over into something nobody reviewed, Well-Architected
//!   REL13-BP04);
//! - the account quotas the cloud exposes in the DR region (running instances, VPCs) hold
//!   what already counts against them there plus what a failover adds: on AWS the
//!   `max-instances` account attribute (the VPC quota is only in Service Quotas, which Cairn
//!   does not call); on the simulated cloud what `cairn sim quota` set, or AWS's defaults
//!   under `CAIRN_SIM_PROFILE=aws`. A quota the cloud does not expose is not checked;
//! - the predicted recovery time, from the cloud's timing profile and what a failover
//!   brings up, with the step that dominates it.
//!
//! `ops` gathers the inputs (copies, images, the plan of the environment); the functions here
//! judge them. Nothing here calls a cloud or prints.

use super::audit::AuditRecord;
use super::catalog::BackupCopy;
use crate::model::Address;
use crate::model::timings::Timings;
use crate::provider::QuotaName;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Something that would stop or spoil a failover now, and what fixes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocker {
    pub problem: String,
    pub fix: String,
}

/// The newest restorable copy of one data volume in the DR region.
#[derive(Debug, Clone, Serialize)]
pub struct CopyCheck {
    /// The volume's block path (`volume.data`).
    pub volume: String,
    /// The newest completed copy, if any.
    pub copy: Option<String>,
    pub age_seconds: Option<i64>,
    /// The policy's `every`, in seconds.
    pub window_seconds: u64,
    /// Newer copies still pending, with their progress.
    pub pending: Vec<String>,
}

/// One image the environment launches, and whether the DR region has it.
#[derive(Debug, Clone, Serialize)]
pub struct ImageCheck {
    pub image: String,
    /// The launch templates and instances that use it, in the DR region.
    pub used_by: Vec<Address>,
    /// `None` when the cloud cannot tell.
    pub present: Option<bool>,
}

/// A resource of the standby whose cloud object differs from the configuration.
#[derive(Debug, Clone, Serialize)]
pub struct StandbyDrift {
    pub address: Address,
    /// `update`, `replace`, `create` or `delete`: what an apply would do about it.
    pub action: String,
    /// The attributes changed behind Cairn's back, when the refresh saw them.
    pub attributes: Vec<String>,
}

/// One account quota of the DR region against what a failover needs of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuotaCheck {
    pub quota: QuotaName,
    pub limit: u64,
    /// What counts against it there now, the standby's and anyone else's.
    pub usage: u64,
    /// What a failover adds on top: the environment's own count there, less the standby's.
    pub adds: u64,
}

impl QuotaCheck {
    /// What the region holds once failed over.
    pub fn needed(&self) -> u64 {
        self.usage.saturating_add(self.adds)
    }
}

/// One step of a recovery and how long it takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RtoStep {
    pub step: String,
    pub seconds: f64,
}

/// The recovery time a timing profile predicts for bringing an environment up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RtoPrediction {
    /// The timing profile predicted from (`aws`, `instant`).
    pub profile: String,
    /// The steps, one after the other.
    pub steps: Vec<RtoStep>,
    pub total_seconds: f64,
    /// The longest step; `None` when nothing takes time.
    pub dominant: Option<String>,
}

/// The recovery time of bringing up an environment whose autoscaling groups (`groups` of
/// them with a minimum above zero) must launch instances, on a cloud with `timings`.
///
/// The API calls that create networks, firewalls and balancers, and the restore of data
/// volumes from completed copies (a volume made from a snapshot is available at once; its
/// data loads lazily), are not steps: on AWS they take seconds beside the boots, and the
/// simulated cloud makes them at once. The instances of all groups boot in parallel, then
/// pass their health checks.
pub fn predict(timings: &Timings, groups: usize) -> RtoPrediction {
    let mut steps = Vec::new();
    if groups > 0 {
        steps.push(RtoStep {
            step: "boot instances".to_string(),
            seconds: timings.boot().as_secs_f64(),
        });
        steps.push(RtoStep {
            step: "pass health checks".to_string(),
            seconds: timings.health_check().as_secs_f64(),
        });
    }
    let total_seconds = steps.iter().map(|step| step.seconds).sum();
    let dominant = steps
        .iter()
        .filter(|step| step.seconds > 0.0)
        .max_by(|left, right| left.seconds.total_cmp(&right.seconds))
        .map(|step| step.step.clone());
    RtoPrediction {
        profile: timings.name.to_string(),
        steps,
        total_seconds,
        dominant,
    }
}

/// What `cairn dr check` found.
#[derive(Debug, Clone, Serialize)]
pub struct ReadinessReport {
    pub stack: String,
    pub environment: String,
    /// The DR region a failover would go to.
    pub region: String,
    pub mode: String,
    pub now: DateTime<Utc>,
    pub copies: Vec<CopyCheck>,
    pub images: Vec<ImageCheck>,
    /// Empty for `backup_restore`, which keeps no standby.
    pub standby: Vec<StandbyDrift>,
    /// The quotas the cloud exposes in the DR region; empty when it exposes none.
    pub quotas: Vec<QuotaCheck>,
    pub predicted: RtoPrediction,
    /// The RTO the last successful drill measured, and when it ran.
    pub last_drill: Option<(DateTime<Utc>, f64)>,
    pub blockers: Vec<Blocker>,
}

impl ReadinessReport {
    /// Whether a failover could succeed now.
    pub fn ready(&self) -> bool {
        self.blockers.is_empty()
    }
}

/// The newest completed copy of each data volume block among `copies` (the DR region's),
/// judged against the `every` window of the policy that selects it (`windows`, by block).
pub fn check_copies(
    copies: &[BackupCopy],
    windows: &BTreeMap<String, u64>,
    now: DateTime<Utc>,
) -> Vec<CopyCheck> {
    let restorable = super::catalog::restorable(copies);
    windows
        .iter()
        .map(|(block, window)| {
            let newest = restorable.newest.get(block);
            CopyCheck {
                volume: block.clone(),
                copy: newest.map(|copy| copy.id.clone()),
                age_seconds: newest.map(|copy| (now - copy.taken_at).num_seconds().max(0)),
                window_seconds: *window,
                pending: restorable
                    .skipped
                    .iter()
                    .filter(|skipped| skipped.source_address.block_path() == block)
                    .map(|skipped| skipped.id.clone())
                    .collect(),
            }
        })
        .collect()
}

/// Everything in the checks that would stop or spoil a failover of `environment` into
/// `region`, each with its fix.
pub fn blockers(
    environment: &str,
    region: &str,
    copies: &[CopyCheck],
    images: &[ImageCheck],
    standby: &[StandbyDrift],
    quotas: &[QuotaCheck],
) -> Vec<Blocker> {
    let mut blockers = Vec::new();
    for check in copies {
        match (&check.copy, check.age_seconds) {
            (None, _) if !check.pending.is_empty() => blockers.push(Blocker {
                problem: format!(
                    "`{}` has no completed backup copy in `{region}` ({} still pending)",
                    check.volume,
                    check.pending.join(", ")
                ),
                fix: format!("wait for the copy: `cairn backup run -e {environment} --wait`"),
            }),
            (None, _) => blockers.push(Blocker {
                problem: format!("`{}` has no backup copy in `{region}`", check.volume),
                fix: format!("run `cairn backup run -e {environment} --wait`"),
            }),
            (Some(copy), Some(age)) if u64::try_from(age).unwrap_or(0) > check.window_seconds => {
                blockers.push(Blocker {
                    problem: format!(
                        "the newest completed copy of `{}` in `{region}` (`{copy}`) is {}s old, older than its policy's window of {}s",
                        check.volume, age, check.window_seconds
                    ),
                    fix: format!(
                        "run `cairn backup run -e {environment} --wait`, and run it on the policy's schedule"
                    ),
                });
            }
            _ => {}
        }
    }
    for image in images.iter().filter(|image| image.present == Some(false)) {
        let users: Vec<String> = image.used_by.iter().map(ToString::to_string).collect();
        blockers.push(Blocker {
            problem: format!(
                "image `{}` (used by {}) does not exist in `{region}`",
                image.image,
                users.join(", ")
            ),
            fix: format!(
                "copy the image into `{region}` (`aws ec2 copy-image`; on sim `cairn sim image {} --copy-to {region}`), or name the DR region's own: `image` in the `dr` block with `image = region.image` in the launch template",
                image.image
            ),
        });
    }
    for drift in standby {
        let attributes = if drift.attributes.is_empty() {
            String::new()
        } else {
            format!(" ({} changed outside Cairn)", drift.attributes.join(", "))
        };
        blockers.push(Blocker {
            problem: format!(
                "the standby's `{}` differs from the configuration{attributes}: a failover would {} it",
                drift.address, drift.action
            ),
            fix: format!(
                "review `cairn plan -e {environment}` and apply it, so the standby is what the configuration says"
            ),
        });
    }
    for quota in quotas.iter().filter(|quota| quota.needed() > quota.limit) {
        blockers.push(Blocker {
            problem: format!(
                "a failover needs {} {} in `{region}` ({} there now + {} it adds), past the quota of {}",
                quota.needed(),
                quota.quota,
                quota.usage,
                quota.adds,
                quota.limit
            ),
            fix: format!(
                "request an increase of {} in `{region}` to at least {} (Service Quotas; on sim `cairn sim quota {region} --{} {}`)",
                quota.quota.service_quota(),
                quota.needed(),
                quota.quota.as_str().replace('_', "-"),
                quota.needed()
            ),
        });
    }
    blockers
}

/// The RTO and time of the last successful drill of `environment` in `audit`.
pub fn last_drill(audit: &[AuditRecord], environment: &str) -> Option<(DateTime<Utc>, f64)> {
    audit
        .iter()
        .rev()
        .filter(|record| record.operation == "dr drill" && record.environment == environment)
        .find_map(|record| Some((record.time, record.rto_seconds?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pilot_light_recovery_is_dominated_by_the_boot_under_the_aws_profile() {
        let predicted = predict(&Timings::AWS, 1);
        assert_eq!(predicted.total_seconds, 75.0);
        assert_eq!(predicted.dominant.as_deref(), Some("boot instances"));
        let instant = predict(&Timings::INSTANT, 1);
        assert_eq!((instant.total_seconds, instant.dominant), (0.0, None));
        assert!(predict(&Timings::AWS, 0).steps.is_empty());
    }

    #[test]
    fn each_blocker_names_its_fix() {
        let copies = vec![
            CopyCheck {
                volume: "volume.data".to_string(),
                copy: None,
                age_seconds: None,
                window_seconds: 86_400,
                pending: vec!["snap-1".to_string()],
            },
            CopyCheck {
                volume: "volume.logs".to_string(),
                copy: Some("snap-2".to_string()),
                age_seconds: Some(90_000),
                window_seconds: 86_400,
                pending: Vec::new(),
            },
        ];
        let images = vec![ImageCheck {
            image: "ami-1".to_string(),
            used_by: vec![Address::new("launch_template.web[us-west-2]")],
            present: Some(false),
        }];
        let standby = vec![StandbyDrift {
            address: Address::new("firewall.web[us-west-2]"),
            action: "update".to_string(),
            attributes: vec!["ingress".to_string()],
        }];
        let quotas = vec![
            QuotaCheck {
                quota: QuotaName::RunningInstances,
                limit: 3,
                usage: 2,
                adds: 2,
            },
            QuotaCheck {
                quota: QuotaName::Vpcs,
                limit: 5,
                usage: 4,
                adds: 1,
            },
        ];
        let found = blockers("prod", "us-west-2", &copies, &images, &standby, &quotas);
        assert_eq!(found.len(), 5, "{found:#?}");
        assert!(found[0].problem.contains("snap-1 still pending"));
        assert!(found[1].problem.contains("older than its policy's window"));
        assert!(
            found[2]
                .fix
                .contains("cairn sim image ami-1 --copy-to us-west-2")
        );
        assert!(found[3].problem.contains("firewall.web[us-west-2]"));
        assert_eq!(
            found[4].problem,
            "a failover needs 4 running instances in `us-west-2` (2 there now + 2 it adds), past the quota of 3"
        );
        assert!(found[4].fix.contains("L-1216C47A"));
        assert!(
            found[4]
                .fix
                .contains("cairn sim quota us-west-2 --running-instances 4")
        );
        assert!(blockers("prod", "us-west-2", &[], &[], &[], &[]).is_empty());
    }
}

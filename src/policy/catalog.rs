//! The rules: stable ids, titles, severities, why each matters and how to fix it.
//!
//! Promise: an id, once published, keeps its meaning; a retired rule keeps its number
//! reserved. `CAIRN000` is about the policy itself (a suppression that matches nothing).
//!
//! Production rules apply to environments named `production` or `prod` (or starting with
//! `prod`) and to every environment with `protect = true`.

use serde::Serialize;
use std::fmt;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Reported; fails `cairn check` only with `--strict`.
    Warning,
    /// Fails `cairn check` and blocks `cairn apply` unless allowed with `--allow`.
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One built-in rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// `CAIRN001`.
    pub id: &'static str,
    /// A short name for lists and SARIF (`world-open-ssh`).
    pub name: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// Why the rule exists.
    pub rationale: &'static str,
    /// What to change to satisfy it.
    pub fix: &'static str,
}

/// A suppression (an `ignore` block or a `cairn:ignore` comment) that matched no finding.
pub const UNUSED_SUPPRESSION: &str = "CAIRN000";
pub const WORLD_OPEN_SSH: &str = "CAIRN001";
pub const WORLD_OPEN_RDP: &str = "CAIRN002";
pub const WORLD_OPEN_ALL_PORTS: &str = "CAIRN003";
pub const UNENCRYPTED_VOLUME: &str = "CAIRN004";
pub const INSTANCE_METADATA_V1: &str = "CAIRN005";
pub const PUBLIC_SUBNET: &str = "CAIRN006";
pub const SECRET_LITERAL: &str = "CAIRN007";
pub const SENSITIVE_OUTPUT: &str = "CAIRN008";
pub const PRODUCTION_MIN_SIZE: &str = "CAIRN009";
pub const PRODUCTION_ONE_ZONE: &str = "CAIRN010";
pub const PRODUCTION_NO_BACKUP_COPY: &str = "CAIRN011";
pub const PRODUCTION_NO_DR: &str = "CAIRN012";
pub const PRODUCTION_NO_ROLLOUT: &str = "CAIRN013";
pub const PRODUCTION_NO_ALARM: &str = "CAIRN014";
pub const NETWORK_CIDR_RULE: &str = "CAIRN015";
pub const DIFFERENT_ARTIFACT: &str = "CAIRN016";

/// Every rule, in id order.
pub static RULES: [Rule; 17] = [
    Rule {
        id: UNUSED_SUPPRESSION,
        name: "unused-suppression",
        title: "suppression matches no finding",
        severity: Severity::Warning,
        rationale: "A suppression that excuses nothing is stale: the finding was fixed, the address changed, or the rule id is wrong, and it would silently excuse a future finding.",
        fix: "Remove the suppression, or correct its rule id or addresses.",
    },
    Rule {
        id: WORLD_OPEN_SSH,
        name: "world-open-ssh",
        title: "SSH open to the whole internet",
        severity: Severity::Error,
        rationale: "Port 22 reachable from 0.0.0.0/0 or ::/0 invites credential stuffing and exploits of the SSH daemon from anywhere.",
        fix: "Admit SSH from a known range (`from = [var.admin_cidr]`) or from a bastion's firewall.",
    },
    Rule {
        id: WORLD_OPEN_RDP,
        name: "world-open-rdp",
        title: "RDP open to the whole internet",
        severity: Severity::Error,
        rationale: "Port 3389 reachable from 0.0.0.0/0 or ::/0 is one of the most scanned and exploited entry points.",
        fix: "Admit RDP from a known range or a bastion's firewall only.",
    },
    Rule {
        id: WORLD_OPEN_ALL_PORTS,
        name: "world-open-all-ports",
        title: "every port open to the whole internet",
        severity: Severity::Error,
        rationale: "An ingress rule for all protocols or all ports from 0.0.0.0/0 or ::/0 exposes every service an instance runs, including ones nobody meant to publish.",
        fix: "Admit only the ports the service answers on (`protocol = \"tcp\"`, `ports = 443`).",
    },
    Rule {
        id: UNENCRYPTED_VOLUME,
        name: "unencrypted-volume",
        title: "volume not encrypted at rest",
        severity: Severity::Error,
        rationale: "Unencrypted volumes and their snapshots expose data to anyone who can read the disk or copy the snapshot.",
        fix: "Set `encrypted = true` on the `volume` block (or the template's `volume` block); an existing volume is replaced.",
    },
    Rule {
        id: INSTANCE_METADATA_V1,
        name: "instance-metadata-v1",
        title: "launch template allows IMDSv1",
        severity: Severity::Warning,
        rationale: "IMDSv1 answers any request from the instance, so a server-side request forgery can read the instance's credentials; IMDSv2 needs a session token.",
        fix: "Set `http_tokens = \"required\"` on the launch template.",
    },
    Rule {
        id: PUBLIC_SUBNET,
        name: "public-subnet",
        title: "instances in public subnets",
        severity: Severity::Warning,
        rationale: "Instances in a public subnet get public addresses and are reachable from the internet wherever a firewall allows it; a load balancer in front keeps them private.",
        fix: "Place the group in private subnets (`network.main.subnet.private`), with a load balancer in the public ones once there is one.",
    },
    Rule {
        id: SECRET_LITERAL,
        name: "secret-literal",
        title: "secret written in the configuration",
        severity: Severity::Error,
        rationale: "A secret in user data, tags or a variable's default is in version control, in plan files and readable by anyone who can describe the resource.",
        fix: "Pass the secret at run time (`-var`, a variable file outside version control) into a variable with `sensitive = true` and no default, or fetch it on the instance from a secret store.",
    },
    Rule {
        id: SENSITIVE_OUTPUT,
        name: "sensitive-output",
        title: "sensitive value in an output not marked sensitive",
        severity: Severity::Error,
        rationale: "An output that reads a sensitive variable hands the secret to whoever reads the outputs; marking it says so where the output is declared.",
        fix: "Add `sensitive = true` to the output, or stop reading the sensitive value in it.",
    },
    Rule {
        id: PRODUCTION_MIN_SIZE,
        name: "production-min-size",
        title: "production autoscaling group below two instances",
        severity: Severity::Error,
        rationale: "With fewer than two instances, one failure or one replacement takes production down.",
        fix: "Set `min = 2` or more on the group.",
    },
    Rule {
        id: PRODUCTION_ONE_ZONE,
        name: "production-one-zone",
        title: "production autoscaling group in one zone",
        severity: Severity::Error,
        rationale: "A group whose subnets are all in one zone goes down with that zone.",
        fix: "Give the group subnets in at least two zones (`network.main.subnet.private` has one per zone).",
    },
    Rule {
        id: PRODUCTION_NO_BACKUP_COPY,
        name: "production-no-backup-copy",
        title: "production volume without a cross-region backup",
        severity: Severity::Error,
        rationale: "Data that is not backed up with a copy in another region is lost with its volume or its region.",
        fix: "Select the volume in a `backup_policy` with `copy_to = env.dr.region`.",
    },
    Rule {
        id: PRODUCTION_NO_DR,
        name: "production-no-dr",
        title: "production environment without a DR region",
        severity: Severity::Error,
        rationale: "Without a `dr` block there is nowhere prepared to redeploy to when the region fails, and no drill proves recovery works.",
        fix: "Add `dr { region = \"...\", zones = [...] }` to the environment.",
    },
    Rule {
        id: PRODUCTION_NO_ROLLOUT,
        name: "production-no-rollout",
        title: "production autoscaling group without a rollout strategy",
        severity: Severity::Warning,
        rationale: "Without a `rollout` block (or with `all_at_once`) a new launch template reaches every instance at once, so a bad release takes the whole group down; a rolling, canary or blue-green rollout checks health at each step and rolls back.",
        fix: "Add `rollout { strategy = \"canary\", checkpoints = [10, 50, 100] }` to the group.",
    },
    Rule {
        id: PRODUCTION_NO_ALARM,
        name: "production-no-alarm",
        title: "production group behind a load balancer without an alarm",
        severity: Severity::Warning,
        rationale: "A group that serves users through a load balancer can fail (errors, saturation) while every instance still runs; without an alarm on the group or its load balancer nobody is told, and a rollout has nothing to abort on.",
        fix: "Add an `alarm` with `autoscaling = autoscaling.NAME` (CPU) or `load_balancer = load_balancer.NAME` (5xx answers, unhealthy hosts).",
    },
    Rule {
        id: NETWORK_CIDR_RULE,
        name: "network-cidr-rule",
        title: "firewall admits a whole network's address range",
        severity: Severity::Warning,
        rationale: "Admitting a network's whole CIDR admits every instance in it, present and future; a firewall reference admits only the members of that firewall.",
        fix: "Refer to the firewall of the sources (`from = [firewall.web]`) instead of the network's CIDR.",
    },
    Rule {
        id: DIFFERENT_ARTIFACT,
        name: "different-artifact",
        title: "production runs an image staging does not",
        severity: Severity::Warning,
        rationale: "Production should run the artifact that was tested in staging; a different image in the same region means what ships was not what was tested.",
        fix: "Promote the image staging runs (the same `image` value in both environments).",
    },
];

/// The rule with `id`, if there is one.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|rule| rule.id == id)
}

/// Whether `id` names a rule that exists, for `--allow` and suppressions.
pub fn is_known(id: &str) -> bool {
    rule(id).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_in_order() {
        let ids: Vec<&str> = RULES.iter().map(|rule| rule.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(ids, sorted);
        assert!(
            ids.iter()
                .all(|id| id.len() == 8 && id.starts_with("CAIRN"))
        );
    }
}

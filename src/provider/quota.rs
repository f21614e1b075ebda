//! The account quotas a cloud exposes per region, with what is used of them now: what
//! `cairn dr check` holds a failover's needs against, and what the simulated cloud refuses
//! creates past (as AWS does with `InstanceLimitExceeded` and `VpcLimitExceeded`).
//!
//! Promise: plain data; nothing here calls a cloud.

use crate::model::Kind;
use serde::{Deserialize, Serialize};

/// A quota Cairn knows how to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaName {
    /// Instances running (or starting) in the region: EC2's account attribute
    /// `max-instances`.
    RunningInstances,
    /// VPCs in the region.
    Vpcs,
}

impl QuotaName {
    pub const ALL: [QuotaName; 2] = [QuotaName::RunningInstances, QuotaName::Vpcs];

    /// The kind of resource that counts against the quota.
    pub fn kind(self) -> Kind {
        match self {
            QuotaName::RunningInstances => Kind::Instance,
            QuotaName::Vpcs => Kind::Network,
        }
    }

    /// The name `cairn sim quota` and `--json` use.
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaName::RunningInstances => "running_instances",
            QuotaName::Vpcs => "vpcs",
        }
    }

    /// The quota as AWS Service Quotas names it, with its code: what a team asks to raise.
    /// EC2 counts running on-demand instances in vCPUs there; `max-instances` is the count
    /// the account attribute reports.
    pub fn service_quota(self) -> &'static str {
        match self {
            QuotaName::RunningInstances => {
                "Amazon EC2 \"Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances\" (L-1216C47A)"
            }
            QuotaName::Vpcs => "Amazon VPC \"VPCs per Region\" (L-F678F1CE)",
        }
    }

    /// AWS's default for a new account: 20 instances (what `max-instances` reports, and moto
    /// too), 5 VPCs per region.
    pub fn aws_default(self) -> u64 {
        match self {
            QuotaName::RunningInstances => 20,
            QuotaName::Vpcs => 5,
        }
    }

    /// The error code AWS refuses a create past the quota with.
    pub fn exceeded_code(self) -> &'static str {
        match self {
            QuotaName::RunningInstances => "InstanceLimitExceeded",
            QuotaName::Vpcs => "VpcLimitExceeded",
        }
    }
}

impl std::fmt::Display for QuotaName {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            QuotaName::RunningInstances => "running instances",
            QuotaName::Vpcs => "VPCs",
        })
    }
}

impl std::str::FromStr for QuotaName {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        QuotaName::ALL
            .into_iter()
            .find(|name| name.as_str() == text)
            .ok_or_else(|| {
                format!("`{text}` is not a quota; expected `running_instances` or `vpcs`")
            })
    }
}

/// One quota of one region: its limit and what the account uses of it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    pub name: QuotaName,
    pub limit: u64,
    /// What counts against it now, owned by Cairn or not.
    pub usage: u64,
}

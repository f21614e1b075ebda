//! How long the cloud takes to do the slow things a recovery waits for: a snapshot to
//! complete, a cross-region copy to arrive, an instance to boot and pass its health checks.
//!
//! Two profiles: [`Timings::INSTANT`] (what moto and the simulated cloud do by default:
//! everything completes at once) and [`Timings::AWS`] (figures of the order AWS shows for
//! EBS snapshots, cross-region copies and EC2 boots). The simulated cloud plays a profile
//! out on its clock (`CAIRN_SIM_PROFILE=aws`), and `cairn dr check` predicts a recovery
//! time from the profile of the cloud it asks, so both use the same figures and a drill on
//! the simulated cloud measures what was predicted.
//!
//! Promise: plain data and arithmetic; nothing here reads the environment or calls a cloud.

use serde::Serialize;
use std::time::Duration;

/// Durations of the slow operations of a cloud.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Timings {
    /// The profile's name: `instant` or `aws`.
    pub name: &'static str,
    /// A snapshot's fixed time to complete, in seconds, before its size counts.
    pub snapshot_base_seconds: f64,
    /// A snapshot's time to complete per GiB of its volume.
    pub snapshot_seconds_per_gb: f64,
    /// A cross-region copy's fixed time to complete, in seconds.
    pub copy_base_seconds: f64,
    /// A cross-region copy's time to complete per GiB.
    pub copy_seconds_per_gb: f64,
    /// From RunInstances to `running`.
    pub boot_seconds: f64,
    /// From `running` until the health checks pass (a load balancer's healthy threshold
    /// times its interval, or the group's grace period).
    pub health_check_seconds: f64,
}

impl Timings {
    /// Everything completes at once: moto, and the simulated cloud by default.
    pub const INSTANT: Timings = Timings {
        name: "instant",
        snapshot_base_seconds: 0.0,
        snapshot_seconds_per_gb: 0.0,
        copy_base_seconds: 0.0,
        copy_seconds_per_gb: 0.0,
        boot_seconds: 0.0,
        health_check_seconds: 0.0,
    };

    /// Of the order AWS shows: an incremental-first EBS snapshot of 100 GiB takes a few
    /// minutes, its cross-region copy about twice that, an EC2 instance boots in under a
    /// minute, and an ALB's default checks (2 healthy × 15 s) follow.
    pub const AWS: Timings = Timings {
        name: "aws",
        snapshot_base_seconds: 60.0,
        snapshot_seconds_per_gb: 3.0,
        copy_base_seconds: 120.0,
        copy_seconds_per_gb: 6.0,
        boot_seconds: 45.0,
        health_check_seconds: 30.0,
    };

    /// The profile called `name`.
    pub fn named(name: &str) -> Option<Timings> {
        match name {
            "instant" => Some(Timings::INSTANT),
            "aws" => Some(Timings::AWS),
            _ => None,
        }
    }

    /// Whether anything takes time at all.
    pub fn is_instant(&self) -> bool {
        *self == Timings::INSTANT
    }

    /// How long a snapshot of a `size_gb` volume takes to complete.
    pub fn snapshot(&self, size_gb: i64) -> Duration {
        seconds(self.snapshot_base_seconds + self.snapshot_seconds_per_gb * gigabytes(size_gb))
    }

    /// How long a cross-region copy of a `size_gb` snapshot takes to complete.
    pub fn copy(&self, size_gb: i64) -> Duration {
        seconds(self.copy_base_seconds + self.copy_seconds_per_gb * gigabytes(size_gb))
    }

    /// How long a new instance takes to be `running`.
    pub fn boot(&self) -> Duration {
        seconds(self.boot_seconds)
    }

    /// How long a running instance takes to pass its health checks.
    pub fn health_check(&self) -> Duration {
        seconds(self.health_check_seconds)
    }
}

impl Default for Timings {
    fn default() -> Self {
        Timings::INSTANT
    }
}

fn gigabytes(size_gb: i64) -> f64 {
    // Volumes are at most 16 TiB: exact in an f64.
    size_gb.max(0) as f64
}

fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value.max(0.0)).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aws_profile_scales_copies_with_size_and_the_instant_one_takes_nothing() {
        assert_eq!(Timings::AWS.snapshot(100), Duration::from_secs(360));
        assert_eq!(Timings::AWS.copy(100), Duration::from_secs(720));
        assert_eq!(Timings::AWS.copy(10), Duration::from_secs(180));
        assert_eq!(Timings::INSTANT.copy(100), Duration::ZERO);
        assert_eq!(Timings::named("aws"), Some(Timings::AWS));
        assert_eq!(Timings::named("fast"), None);
        assert!(Timings::INSTANT.is_instant() && !Timings::AWS.is_instant());
    }
}

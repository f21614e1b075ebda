//! Where an environment runs and what it is made of there, decided from its recorded state.
//!
//! [`place`] is the one function that turns an environment and its recorded state into the
//! expansion a plan works on:
//! - failed over (`state.failover`): the whole environment in the failover region, with the
//!   zones recorded there; the configured regions are parked (a plan neither reads nor changes
//!   what state has there, since the primary may not answer), and backups that went to the
//!   failover region go to the primary instead, so a failback finds them;
//! - otherwise the configured regions, plus the standby `dr.mode` keeps in the DR region;
//! - either way, data volumes a failover or failback restored (`state.restores`) keep starting
//!   from their snapshot, so a volume created again never comes back empty.
//!
//! A [`Deployment::Redeploy`] (a drill) is a separate instance of the environment in a target
//! region, with its own state: the environment's failover, standby and restores are not its
//! own, so none of the above applies to it.
//!
//! Promise: [`place`] is a function of its arguments. The configuration was loaded and the
//! state read by the caller (`ops`, under the environment's lock, so what is placed is what is
//! planned); nothing here reads state or calls a cloud. (The one read left is the
//! configuration's own: `file(...)` is evaluated, and reads its file, when a block is expanded.)
//!
//! Dependency direction: `ops` calls down into this module after reading the state; this
//! module sees only `config`, `graph` and `state`, and nothing in `dr` calls `ops`, so
//! `ops → dr → graph/state` has no cycle (see the `dr` module).

use super::target::Target;
use crate::config::{Config, Diagnostics, DrMode};
use crate::graph::{self, ExpandOptions, Expansion, RegionOverride};
use crate::model::cloud::GLOBAL_REGION;
use crate::model::{Address, Kind, Value};
use crate::state::{Failover, StateDocument};
use std::collections::{BTreeMap, BTreeSet};

/// Which deployment of an environment a run works on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Deployment {
    /// The environment itself, where its recorded state says it runs.
    #[default]
    Recorded,
    /// A separate instance of the environment in another region (a drill).
    Redeploy(Redeploy),
}

/// A separate instance of an environment, deployed into a target region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeploy {
    /// Its name: state `<env>-<instance>`, ownership tags `cairn:env = <env>-<instance>`, and
    /// cloud names that carry it, so nothing of it clashes with the environment's own.
    pub instance: String,
    pub target: Target,
}

impl Deployment {
    /// The instance name of a redeploy; `None` for the environment itself.
    pub fn instance(&self) -> Option<&str> {
        match self {
            Deployment::Recorded => None,
            Deployment::Redeploy(redeploy) => Some(&redeploy.instance),
        }
    }
}

/// The environment as placed: what to plan, and what the plan must leave alone.
#[derive(Debug, Clone)]
pub struct Placement {
    pub expansion: Expansion,
    /// Where the environment runs instead of its primary, from the state.
    pub failover: Option<Failover>,
    /// Regions whose recorded resources the plan neither refreshes nor changes (the primary
    /// while failed over).
    pub parked_regions: BTreeSet<String>,
}

/// Places `environment` of `config` for `deployment`, given its recorded state (see the
/// module documentation). A redeploy does not look at `recorded`.
///
/// # Errors
/// The diagnostics of expanding the configuration (an unknown environment among them).
pub fn place(
    config: &Config,
    environment: &str,
    deployment: &Deployment,
    recorded: &StateDocument,
) -> Result<Placement, Diagnostics> {
    match deployment {
        Deployment::Redeploy(redeploy) => {
            let options = ExpandOptions {
                region_override: Some(redeploy.target.region_override()),
                instance: Some(redeploy.instance.clone()),
            };
            Ok(Placement {
                expansion: graph::expand(config, environment, &options)?,
                failover: None,
                parked_regions: BTreeSet::new(),
            })
        }
        Deployment::Recorded => {
            let mut placement = match &recorded.failover {
                Some(failover) => failed_over(config, environment, failover)?,
                None => at_home(config, environment)?,
            };
            restore_volumes(&mut placement.expansion, &recorded.restores);
            Ok(placement)
        }
    }
}

/// The whole environment in the failover region; the configured regions parked.
fn failed_over(
    config: &Config,
    environment: &str,
    failover: &Failover,
) -> Result<Placement, Diagnostics> {
    let options = ExpandOptions {
        region_override: Some(RegionOverride {
            region: failover.region.clone(),
            zones: failover.zones.clone(),
        }),
        ..ExpandOptions::default()
    };
    let mut expansion = graph::expand(config, environment, &options)?;
    // Backups taken while failed over go back to the primary, for failback.
    for policy in &mut expansion.backup_policies {
        if policy.copy_to.as_deref() == Some(failover.region.as_str()) {
            policy.copy_to = Some(failover.primary.clone());
        }
    }
    let parked_regions = config
        .environments
        .get(environment)
        .into_iter()
        .flat_map(|configured| &configured.regions)
        .map(|region| region.name.clone())
        .collect();
    Ok(Placement {
        expansion,
        failover: Some(failover.clone()),
        parked_regions,
    })
}

/// The configured regions, plus the standby `dr.mode` keeps in the DR region.
fn at_home(config: &Config, environment: &str) -> Result<Placement, Diagnostics> {
    let mut expansion = graph::expand(config, environment, &ExpandOptions::default())?;
    if let Some(dr) = expansion.environment.dr.clone()
        && dr.mode != DrMode::BackupRestore
    {
        let options = ExpandOptions {
            region_override: Some(RegionOverride {
                region: dr.region.clone(),
                zones: dr.zones.clone(),
            }),
            ..ExpandOptions::default()
        };
        let in_dr = graph::expand(config, environment, &options)?;
        let standby = graph::standby(&expansion, in_dr, &dr);
        expansion.resources.extend(standby);
    }
    drop_unreachable_failover(&mut expansion);
    Ok(Placement {
        expansion,
        failover: None,
        parked_regions: BTreeSet::new(),
    })
}

/// Drops the DNS records that would fail over to a resource the standby does not keep (a load
/// balancer limited to other regions by `regions = [...]`): they would have nothing to point
/// at. The DNS name then has its primary record only.
fn drop_unreachable_failover(expansion: &mut Expansion) {
    let unreachable: Vec<Address> = expansion
        .resources
        .values()
        .filter(|resource| {
            resource.kind.is_global()
                && resource.depends_on.iter().any(|dependency| {
                    dependency.placement() != Some(GLOBAL_REGION)
                        && !expansion.resources.contains_key(dependency)
                })
        })
        .map(|resource| resource.address.clone())
        .collect();
    for address in unreachable {
        expansion.resources.remove(&address);
    }
}

/// Starts each volume of `restores` (address → snapshot id) from its snapshot, unless the
/// configuration gives it a snapshot of its own.
pub fn restore_volumes(expansion: &mut Expansion, restores: &BTreeMap<Address, String>) {
    for (address, snapshot) in restores {
        if let Some(resource) = expansion.resources.get_mut(address)
            && resource.kind == Kind::Volume
            && resource
                .attributes
                .get("snapshot_id")
                .is_none_or(Value::is_null)
        {
            resource
                .attributes
                .insert("snapshot_id".to_string(), Value::String(snapshot.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LoadOptions;
    use serde_json::json;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    const STACK: &str = r#"
stack "s" {}
environment "prod" {
  cloud = "sim"
  region "us-east-1" {
    zones = ["us-east-1a", "us-east-1b"]
  }
  dr {
    region = "us-west-2"
    zones  = ["us-west-2a", "us-west-2b"]
    mode   = "MODE"
  }
}
network "main" {
  cidr = "10.0.0.0/16"
  subnet "public" {
    newbits = 8
  }
}
volume "data" {
  zone    = region.zones[0]
  size_gb = 10
  tags    = { tier = "data" }
}
volume "seeded" {
  zone        = region.zones[1]
  size_gb     = 10
  snapshot    = "snap-configured"
}
backup_policy "daily" {
  select  = { tier = "data" }
  every   = "24h"
  retain  = 2
  copy_to = env.dr.region
}
"#;

    /// The test stack with `dr.mode = mode`, loaded; the configuration keeps the text it read,
    /// so the directory may go.
    fn config(mode: &str) -> Result<Config, Box<dyn std::error::Error>> {
        let directory = tempfile::tempdir()?;
        std::fs::write(
            directory.path().join("main.hcl"),
            STACK.replace("MODE", mode),
        )?;
        Ok(crate::config::load(
            directory.path(),
            &LoadOptions::default(),
        )?)
    }

    fn state() -> StateDocument {
        StateDocument::new("s", "prod")
    }

    fn failover() -> Failover {
        Failover {
            region: "us-west-2".to_string(),
            zones: vec!["us-west-2c".to_string(), "us-west-2d".to_string()],
            primary: "us-east-1".to_string(),
            since: "2026-01-01T00:00:00Z".to_string(),
        }
    }

    fn addresses(placement: &Placement) -> Vec<String> {
        placement
            .expansion
            .resources
            .keys()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn at_home_a_pilot_light_adds_its_network_in_the_dr_region() -> TestResult {
        let placement = place(
            &config("pilot_light")?,
            "prod",
            &Deployment::Recorded,
            &state(),
        )?;
        assert_eq!(
            addresses(&placement),
            [
                "network.main.subnet.public[us-east-1a]",
                "network.main.subnet.public[us-east-1b]",
                "network.main.subnet.public[us-west-2a]",
                "network.main.subnet.public[us-west-2b]",
                "network.main[us-east-1]",
                "network.main[us-west-2]",
                "volume.data[us-east-1]",
                "volume.seeded[us-east-1]",
            ]
        );
        assert_eq!(placement.failover, None);
        assert!(placement.parked_regions.is_empty());
        assert_eq!(
            placement.expansion.backup_policies[0].copy_to.as_deref(),
            Some("us-west-2")
        );
        Ok(())
    }

    #[test]
    fn at_home_backup_restore_keeps_nothing_in_the_dr_region() -> TestResult {
        let placement = place(
            &config("backup_restore")?,
            "prod",
            &Deployment::Recorded,
            &state(),
        )?;
        assert!(
            placement
                .expansion
                .resources
                .values()
                .all(|resource| resource.region == "us-east-1"),
            "{:?}",
            addresses(&placement)
        );
        Ok(())
    }

    #[test]
    fn failed_over_runs_everything_in_the_failover_zones_parks_the_primary_and_copies_back()
    -> TestResult {
        let mut recorded = state();
        recorded.failover = Some(failover());
        let placement = place(
            &config("pilot_light")?,
            "prod",
            &Deployment::Recorded,
            &recorded,
        )?;
        assert_eq!(
            addresses(&placement),
            [
                "network.main.subnet.public[us-west-2c]",
                "network.main.subnet.public[us-west-2d]",
                "network.main[us-west-2]",
                "volume.data[us-west-2]",
                "volume.seeded[us-west-2]",
            ]
        );
        assert_eq!(placement.failover, Some(failover()));
        assert_eq!(
            placement.parked_regions,
            BTreeSet::from(["us-east-1".to_string()])
        );
        assert_eq!(
            placement.expansion.backup_policies[0].copy_to.as_deref(),
            Some("us-east-1")
        );
        Ok(())
    }

    #[test]
    fn restored_volumes_start_from_their_snapshot_unless_configured_with_one() -> TestResult {
        let mut recorded = state();
        recorded.failover = Some(failover());
        recorded.restores = BTreeMap::from([
            (
                Address::new("volume.data[us-west-2]"),
                "snap-copy".to_string(),
            ),
            (
                Address::new("volume.seeded[us-west-2]"),
                "snap-other".to_string(),
            ),
            // Not in this placement: ignored.
            (
                Address::new("volume.data[us-east-1]"),
                "snap-old".to_string(),
            ),
        ]);
        let placement = place(
            &config("backup_restore")?,
            "prod",
            &Deployment::Recorded,
            &recorded,
        )?;
        let snapshot = |address: &str| {
            placement.expansion.resources[&Address::new(address)].attributes["snapshot_id"].clone()
        };
        assert_eq!(snapshot("volume.data[us-west-2]"), json!("snap-copy"));
        assert_eq!(
            snapshot("volume.seeded[us-west-2]"),
            json!("snap-configured")
        );
        Ok(())
    }

    #[test]
    fn a_redeploy_is_its_own_instance_in_its_target_whatever_the_state_records() -> TestResult {
        let mut recorded = state();
        recorded.failover = Some(failover());
        recorded.restores = BTreeMap::from([(
            Address::new("volume.data[eu-west-1]"),
            "snap-copy".to_string(),
        )]);
        let deployment = Deployment::Redeploy(Redeploy {
            instance: "drill".to_string(),
            target: Target {
                region: "eu-west-1".to_string(),
                zones: vec!["eu-west-1a".to_string(), "eu-west-1b".to_string()],
            },
        });
        assert_eq!(deployment.instance(), Some("drill"));
        let placement = place(&config("warm_standby")?, "prod", &deployment, &recorded)?;
        assert_eq!(
            addresses(&placement),
            [
                "network.main.subnet.public[eu-west-1a]",
                "network.main.subnet.public[eu-west-1b]",
                "network.main[eu-west-1]",
                "volume.data[eu-west-1]",
                "volume.seeded[eu-west-1]",
            ]
        );
        assert_eq!(placement.failover, None);
        assert!(placement.parked_regions.is_empty());
        let data = &placement.expansion.resources[&Address::new("volume.data[eu-west-1]")];
        assert!(
            data.attributes
                .get("snapshot_id")
                .is_none_or(Value::is_null)
        );
        Ok(())
    }

    #[test]
    fn an_unknown_environment_is_a_configuration_error() -> TestResult {
        let placed = place(
            &config("pilot_light")?,
            "stage",
            &Deployment::Recorded,
            &state(),
        );
        let Err(diagnostics) = placed else {
            return Err("an unknown environment was placed".into());
        };
        assert!(diagnostics.to_string().contains("no environment `stage`"));
        Ok(())
    }
}

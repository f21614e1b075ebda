//! Which region and zones a redeploy goes to: `--to`, else the environment's DR region, with
//! the zones its `dr` block names, else the zones the cloud reports for the region.
//!
//! Promise: the zones come from the configuration or from the environment's own cloud (through
//! [`Provider::zones`]), never from the simulator's catalogue when the cloud is AWS.

use super::DrError;
use crate::config::Environment;
use crate::graph::RegionOverride;
use crate::provider::Provider;
use serde::Serialize;

/// A region to redeploy into and its zones; the n-th zone of the primary region maps to the
/// n-th of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub region: String,
    /// Never empty.
    pub zones: Vec<String>,
}

impl Target {
    /// The expansion option that instantiates the environment here instead of its primary.
    pub fn region_override(&self) -> RegionOverride {
        RegionOverride {
            region: self.region.clone(),
            zones: self.zones.clone(),
        }
    }

    /// The zone that stands for `primary_zone` of the environment's regions: the one at the
    /// same position, or the first when `primary_zone` is not one of the environment's.
    pub fn zone_for(&self, environment: &Environment, primary_zone: Option<&str>) -> Option<&str> {
        let position = environment
            .regions
            .iter()
            .find_map(|region| {
                region
                    .zones
                    .iter()
                    .position(|candidate| Some(candidate.as_str()) == primary_zone)
            })
            .unwrap_or(0);
        self.zones
            .get(position)
            .or_else(|| self.zones.first())
            .map(String::as_str)
    }
}

/// The target of a redeploy: `to`, else the environment's DR region, with its zones (see
/// [`zones_of`]).
///
/// # Errors
/// [`DrError::NoDrRegion`] without `to` and without a `dr` block; the errors of [`zones_of`].
pub async fn resolve(
    to: Option<&str>,
    environment: &Environment,
    provider: &dyn Provider,
) -> Result<Target, DrError> {
    let region = match (to, &environment.dr) {
        (Some(region), _) => region.to_string(),
        (None, Some(dr)) => dr.region.clone(),
        (None, None) => {
            return Err(DrError::NoDrRegion {
                environment: environment.name.clone(),
            });
        }
    };
    zones_of(environment, &region, provider).await
}

/// `region` as a target: with the zones the environment's `dr` block names when it names this
/// region (no cloud call), else with the cloud's.
///
/// # Errors
/// [`DrError::Provider`] when the cloud cannot list them (an unknown region, an outage);
/// [`DrError::NoZones`] when it lists none.
pub async fn zones_of(
    environment: &Environment,
    region: &str,
    provider: &dyn Provider,
) -> Result<Target, DrError> {
    let configured = environment
        .dr
        .as_ref()
        .filter(|dr| dr.region == region && !dr.zones.is_empty())
        .map(|dr| dr.zones.clone());
    let zones = match configured {
        Some(zones) => zones,
        None => provider
            .zones(region)
            .await
            .map_err(|source| DrError::provider("list the availability zones", region, source))?,
    };
    if zones.is_empty() {
        return Err(DrError::NoZones {
            region: region.to_string(),
        });
    }
    Ok(Target {
        region: region.to_string(),
        zones,
    })
}

/// The region an environment runs in when it is not failed over.
pub fn primary_region(environment: &Environment) -> String {
    // Loading refuses an environment without a region, so there always is a first one.
    environment
        .regions
        .first()
        .map(|region| region.name.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LoadOptions;
    use crate::provider::sim::{FaultConfig, SimProvider};

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
    zones  = ["us-west-2c", "us-west-2d"]
  }
}
environment "dev" {
  cloud = "sim"
  region "us-east-1" {
    zones = ["us-east-1a", "us-east-1b"]
  }
}
"#;

    fn environments() -> Result<(Environment, Environment), Box<dyn std::error::Error>> {
        let directory = tempfile::tempdir()?;
        std::fs::write(directory.path().join("main.hcl"), STACK)?;
        let mut config = crate::config::load(directory.path(), &LoadOptions::default())?;
        let mut take = |name: &str| {
            config
                .environments
                .remove(name)
                .ok_or("missing environment")
        };
        Ok((take("prod")?, take("dev")?))
    }

    /// A simulated cloud with `outages`; the directory must outlive the provider.
    fn cloud(
        outages: &[&str],
    ) -> Result<(tempfile::TempDir, SimProvider), Box<dyn std::error::Error>> {
        let directory = tempfile::tempdir()?;
        let faults = FaultConfig {
            outages: outages.iter().map(ToString::to_string).collect(),
            ..FaultConfig::default()
        };
        let provider = SimProvider::open_with_faults(&directory.path().join("cloud.json"), faults)?;
        Ok((directory, provider))
    }

    fn zones(names: &[&str]) -> Vec<String> {
        names.iter().map(ToString::to_string).collect()
    }

    #[tokio::test]
    async fn the_dr_block_names_the_zones_of_its_region_without_asking_the_cloud() -> TestResult {
        let (production, _) = environments()?;
        // The region is down: only a cloud call could fail.
        let (_directory, provider) = cloud(&["us-west-2"])?;
        let target = resolve(None, &production, &provider).await?;
        assert_eq!(target.region, "us-west-2");
        assert_eq!(target.zones, zones(&["us-west-2c", "us-west-2d"]));
        Ok(())
    }

    #[tokio::test]
    async fn another_region_gets_the_zones_the_cloud_lists() -> TestResult {
        let (production, _) = environments()?;
        let (_directory, provider) = cloud(&[])?;
        let target = resolve(Some("us-east-2"), &production, &provider).await?;
        assert_eq!(
            target.zones,
            zones(&["us-east-2a", "us-east-2b", "us-east-2c"])
        );
        let (_directory, down) = cloud(&["us-east-2"])?;
        let refused = resolve(Some("us-east-2"), &production, &down).await;
        assert!(
            matches!(&refused, Err(DrError::Provider { region, .. }) if region == "us-east-2"),
            "{refused:?}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn without_a_dr_block_a_region_must_be_given() -> TestResult {
        let (_, development) = environments()?;
        let (_directory, provider) = cloud(&[])?;
        let refused = resolve(None, &development, &provider).await;
        assert!(
            matches!(&refused, Err(DrError::NoDrRegion { environment }) if environment == "dev"),
            "{refused:?}"
        );
        Ok(())
    }

    #[test]
    fn a_primary_zone_maps_to_the_zone_at_its_position() -> TestResult {
        let (production, _) = environments()?;
        let target = Target {
            region: "us-west-2".to_string(),
            zones: zones(&["us-west-2c", "us-west-2d"]),
        };
        assert_eq!(
            target.zone_for(&production, Some("us-east-1b")),
            Some("us-west-2d")
        );
        assert_eq!(
            target.zone_for(&production, Some("us-east-1f")),
            Some("us-west-2c")
        );
        assert_eq!(target.zone_for(&production, None), Some("us-west-2c"));
        assert_eq!(primary_region(&production), "us-east-1");
        Ok(())
    }
}

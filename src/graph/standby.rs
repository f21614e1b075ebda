//! What an environment keeps in its DR region between failovers, by `dr.mode`:
//! `backup_restore` nothing, `pilot_light` its networks (subnets, gateways, route tables),
//! firewalls and load balancers (with their target groups and listeners: a DNS name fails
//! over to them), `warm_standby` everything but the backed-up data volumes, with each
//! autoscaling group scaled down to the DR block's `capacity` (one instance when unset).
//! DNS is never part of a standby: it belongs to no region, and the primary's expansion
//! declares it.
//!
//! The standby resources are the DR-region expansion of the same blocks, under the same
//! addresses a failover gives them (`network.main[us-west-2]`), so a failover grows the
//! standby in place instead of building beside it.

use super::Expansion;
use crate::config::{DrMode, DrSpec};
use crate::model::{Address, DesiredResource, Kind};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// The standby resources of `primary`'s environment, picked from `in_dr` (the same
/// environment expanded into the DR region).
pub fn standby(
    primary: &Expansion,
    in_dr: Expansion,
    dr: &DrSpec,
) -> BTreeMap<Address, DesiredResource> {
    let wanted = |resource: &DesiredResource| match dr.mode {
        // DNS belongs to no region: the primary's expansion declares it, and points it here.
        _ if resource.kind.is_global() => false,
        DrMode::BackupRestore => false,
        DrMode::PilotLight => matches!(
            resource.kind,
            Kind::Network
                | Kind::Subnet
                | Kind::InternetGateway
                | Kind::RouteTable
                | Kind::SecurityGroup
                // Cheap, and what a DNS name fails over to.
                | Kind::LoadBalancer
                | Kind::TargetGroup
                | Kind::Listener
        ),
        // Data volumes come back from backups on failover; an empty copy would only be
        // replaced then.
        DrMode::WarmStandby => !in_dr
            .backup_policies
            .iter()
            .chain(&primary.backup_policies)
            .any(|policy| policy.selects(resource)),
    };
    let mut kept: BTreeMap<Address, DesiredResource> = in_dr
        .resources
        .values()
        .filter(|resource| wanted(resource))
        .map(|resource| (resource.address.clone(), resource.clone()))
        .collect();
    // A resource whose dependency is not kept cannot be kept either (an instance that
    // attaches a data volume): drop until nothing changes.
    loop {
        let dropped: BTreeSet<Address> = kept
            .values()
            .filter(|resource| {
                resource
                    .depends_on
                    .iter()
                    .any(|dependency| !kept.contains_key(dependency))
            })
            .map(|resource| resource.address.clone())
            .collect();
        if dropped.is_empty() {
            break;
        }
        kept.retain(|address, _| !dropped.contains(address));
    }
    for resource in kept.values_mut() {
        if resource.kind == Kind::AutoscalingGroup {
            scale_down(resource, dr);
        }
    }
    kept
}

/// Sizes a standby group: `desired` scaled by the DR block's capacity (one instance when
/// unset), `min` lowered to fit under it, `max` as configured.
fn scale_down(group: &mut DesiredResource, dr: &DrSpec) {
    let size = |name: &str| group.attributes.get(name).and_then(|value| value.as_u64());
    let (Some(min), Some(desired)) = (size("min"), size("desired").or(size("min"))) else {
        return;
    };
    let max = size("max").unwrap_or(u64::MAX);
    let scaled = dr
        .scaled_desired(desired)
        .unwrap_or(1)
        .min(max)
        .min(desired);
    group
        .attributes
        .insert("desired".to_string(), json!(scaled));
    group
        .attributes
        .insert("min".to_string(), json!(min.min(scaled)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LoadOptions;
    use crate::graph::{ExpandOptions, RegionOverride, load_and_expand};

    const STACK: &str = r#"
stack "s" {}
environment "prod" {
  cloud = "sim"
  region "us-east-1" { zones = ["us-east-1a", "us-east-1b"] }
  dr {
    region   = "us-west-2"
    zones    = ["us-west-2a", "us-west-2b"]
    mode     = "MODE"
    CAPACITY
  }
}
network "main" {
  cidr = "10.0.0.0/16"
  subnet "public" { newbits = 8 }
}
firewall "web" {
  network = network.main
}
launch_template "web" {
  image         = "ami-12c6146b"
  instance_type = "t3.small"
  firewalls     = [firewall.web]
}
autoscaling "web" {
  template = launch_template.web
  subnets  = network.main.subnet.public
  min      = 2
  max      = 8
  desired  = 4
}
volume "data" {
  zone = region.zones[0]
  size_gb = 10
  tags = { tier = "data" }
}
backup_policy "daily" {
  select  = { tier = "data" }
  every   = "24h"
  retain  = 2
  copy_to = env.dr.region
}
"#;

    fn standby_of(mode: &str, capacity: &str) -> BTreeMap<Address, DesiredResource> {
        let dir = tempfile::tempdir().unwrap();
        let text = STACK.replace("MODE", mode).replace("CAPACITY", capacity);
        std::fs::write(dir.path().join("main.hcl"), text).unwrap();
        let load = LoadOptions::default();
        let (config, primary) =
            load_and_expand(dir.path(), &load, "prod", &ExpandOptions::default()).unwrap();
        let dr = primary.environment.dr.clone().unwrap();
        let options = ExpandOptions {
            region_override: Some(RegionOverride {
                region: dr.region.clone(),
                zones: dr.zones.clone(),
            }),
            ..Default::default()
        };
        let in_dr = crate::graph::expand(&config, "prod", &options).unwrap();
        standby(&primary, in_dr, &dr)
    }

    fn addresses(resources: &BTreeMap<Address, DesiredResource>) -> Vec<String> {
        resources.keys().map(ToString::to_string).collect()
    }

    #[test]
    fn backup_restore_keeps_nothing() {
        assert!(standby_of("backup_restore", "").is_empty());
    }

    #[test]
    fn pilot_light_keeps_networks_subnets_and_firewalls() {
        assert_eq!(
            addresses(&standby_of("pilot_light", "")),
            [
                "firewall.web[us-west-2]",
                "network.main.subnet.public[us-west-2a]",
                "network.main.subnet.public[us-west-2b]",
                "network.main[us-west-2]",
            ]
        );
    }

    #[test]
    fn warm_standby_keeps_all_but_data_volumes_and_scales_groups() {
        let kept = standby_of("warm_standby", "capacity = 0.5");
        assert_eq!(
            addresses(&kept),
            [
                "autoscaling.web[us-west-2]",
                "firewall.web[us-west-2]",
                "launch_template.web[us-west-2]",
                "network.main.subnet.public[us-west-2a]",
                "network.main.subnet.public[us-west-2b]",
                "network.main[us-west-2]",
            ]
        );
        let group = &kept[&Address::new("autoscaling.web[us-west-2]")];
        assert_eq!(group.attributes["desired"], json!(2));
        assert_eq!(group.attributes["min"], json!(2));
        assert_eq!(group.attributes["max"], json!(8));
    }

    #[test]
    fn warm_standby_capacity_counts_instances_and_defaults_to_one() {
        let group = |capacity: &str| {
            standby_of("warm_standby", capacity)[&Address::new("autoscaling.web[us-west-2]")]
                .attributes
                .clone()
        };
        assert_eq!(group("")["desired"], json!(1));
        assert_eq!(group("")["min"], json!(1));
        assert_eq!(group("capacity = 3")["desired"], json!(3));
        assert_eq!(group("capacity = 3")["min"], json!(2));
        // Never larger than the primary group.
        assert_eq!(group("capacity = 20")["desired"], json!(4));
    }
}

//! Placements: the regions an environment's blocks are instantiated in — each region of the
//! environment, or during a drill or failover the one region that replaces the primary, with
//! the primary's zones mapped onto its own by position.

use crate::config::diagnostics::{Diagnostic, Diagnostics};
use crate::config::value::from_model;
use crate::config::{Environment, RegionSpec};
use crate::graph::ExpandOptions;
use std::collections::BTreeMap;

/// The region blocks are being instantiated in.
pub(super) struct Placement<'p> {
    pub region: &'p RegionSpec,
    /// The region name `regions = [...]` is compared with (the primary's during a drill).
    pub active_name: &'p str,
    /// `region.*` in expressions.
    pub region_value: hcl::Value,
    /// Whether this is the first placement, where global resources (DNS) are declared.
    pub first: bool,
}

impl<'p> Placement<'p> {
    pub fn new(region: &'p RegionSpec, active_name: &'p str, first: bool) -> Self {
        Placement {
            region,
            active_name,
            first,
            region_value: from_model(&serde_json::json!({
                "name": region.name,
                "zones": region.zones,
                "image": region.image,
            })),
        }
    }
}

/// Where an environment is placed.
pub(super) struct Placements {
    /// The environment as expressions see it (`env.*`): with an override, its regions hold
    /// the override region.
    pub environment: Environment,
    /// Each region, with the name `regions = [...]` compares against; the primary first.
    pub regions: Vec<(RegionSpec, String)>,
    /// Primary zone → override zone, when a region override is active.
    pub zone_map: BTreeMap<String, String>,
}

/// The placements of `original` under `options`: its own regions, or the override region in
/// place of the primary. Blocks stay active by the primary region's name so that
/// `regions = [...]` keeps its meaning during a drill.
///
/// # Errors
/// An override region with fewer zones than the primary region.
pub(super) fn placements(
    original: &Environment,
    options: &ExpandOptions,
) -> Result<Placements, Diagnostics> {
    let Some(region_override) = &options.region_override else {
        return Ok(Placements {
            environment: original.clone(),
            regions: original
                .regions
                .iter()
                .map(|region| (region.clone(), region.name.clone()))
                .collect(),
            zone_map: BTreeMap::new(),
        });
    };
    let Some(primary) = original.regions.first() else {
        return Err(Diagnostic::internal("an environment without regions passed loading").into());
    };
    if region_override.zones.len() < primary.zones.len() {
        return Err(Diagnostic::error(format!(
            "region `{}` has {} zone(s) but the primary region `{}` has {}",
            region_override.region,
            region_override.zones.len(),
            primary.name,
            primary.zones.len()
        ))
        .hint("give the DR region at least as many zones as the primary region")
        .into());
    }
    let zone_map = primary
        .zones
        .iter()
        .cloned()
        .zip(region_override.zones.iter().cloned())
        .collect();
    // The image of the DR block when redeploying into the DR region.
    let image = original
        .dr
        .as_ref()
        .filter(|dr| dr.region == region_override.region)
        .and_then(|dr| dr.image.clone());
    let region = RegionSpec {
        name: region_override.region.clone(),
        zones: region_override.zones[..primary.zones.len()].to_vec(),
        image,
    };
    let mut environment = original.clone();
    environment.regions = vec![region.clone()];
    Ok(Placements {
        environment,
        regions: vec![(region, primary.name.clone())],
        zone_map,
    })
}

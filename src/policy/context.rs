//! What the rules read: the environment's resources, either as the configuration wants them
//! or as the refresh found them, with the configuration around them for locations.

use super::locate::Locator;
use crate::config::Config;
use crate::graph::Expansion;
use crate::model::{Address, DesiredResource, Kind, Value, references_in};
use crate::plan::Observed;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The environment under check.
pub struct Context<'a> {
    pub config: &'a Config,
    pub expansion: &'a Expansion,
    /// The resources the rules judge: desired, or live with the desired ones' sources.
    pub resources: Cow<'a, BTreeMap<Address, DesiredResource>>,
    /// Cloud id → address, to follow ids in live attributes (`subnet_ids`).
    ids: BTreeMap<String, Address>,
    pub locator: Locator<'a>,
    /// Whether production rules apply.
    pub production: bool,
}

impl<'a> Context<'a> {
    pub fn desired(config: &'a Config, expansion: &'a Expansion) -> Context<'a> {
        Context {
            config,
            expansion,
            resources: Cow::Borrowed(&expansion.resources),
            ids: BTreeMap::new(),
            locator: Locator::new(config),
            production: is_production(&expansion.environment),
        }
    }

    pub fn live(
        config: &'a Config,
        expansion: &'a Expansion,
        resources: &'a BTreeMap<Address, DesiredResource>,
        observed: &Observed,
    ) -> Context<'a> {
        let ids = observed
            .resources
            .iter()
            .flat_map(|(address, found)| {
                found
                    .iter()
                    .map(move |resource| (resource.id.clone(), address.clone()))
            })
            .collect();
        Context {
            resources: Cow::Borrowed(resources),
            ids,
            ..Context::desired(config, expansion)
        }
    }

    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &DesiredResource> {
        self.resources
            .values()
            .filter(move |resource| resource.kind == kind)
    }

    /// The resource a value points at: a reference (desired) or a cloud id (live).
    pub fn target(&self, value: &Value) -> Option<&DesiredResource> {
        if let Some(found) = references_in(value).first() {
            return self.resources.get(&found.address);
        }
        let address = self.ids.get(value.as_str()?)?;
        self.resources.get(address)
    }

    /// The resources a list attribute points at (`subnet_ids`).
    pub fn targets(&self, resource: &DesiredResource, attribute: &str) -> Vec<&DesiredResource> {
        resource
            .attributes
            .get(attribute)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(|item| self.target(item)).collect())
            .unwrap_or_default()
    }

    /// The address findings about the environment itself carry.
    pub fn environment_address(&self) -> Address {
        Address::new(format!("environment.{}", self.expansion.environment.name))
    }
}

/// Whether production rules apply to `environment`: it is named as production (`production`,
/// `prod`, `prod-eu`...) or protected against destroy.
pub fn is_production(environment: &crate::config::Environment) -> bool {
    let name = environment.name.to_ascii_lowercase();
    environment.protect || name.starts_with("prod")
}

/// Whether `environment` is where releases are tried before production (`staging`, `stage`,
/// `preprod`), for the same-artifact rule.
pub fn is_staging(environment: &crate::config::Environment) -> bool {
    let name = environment.name.to_ascii_lowercase();
    name.starts_with("stag") || name.starts_with("preprod")
}

/// The resources as the refresh found them: each address's first live resource, under the
/// desired resource's source and sensitivity when the configuration still has it.
pub fn live_resources(
    expansion: &Expansion,
    observed: &Observed,
) -> BTreeMap<Address, DesiredResource> {
    observed
        .resources
        .iter()
        .filter_map(|(address, found)| {
            let live = found.first()?;
            let mut resource = match expansion.resources.get(address) {
                Some(desired) => desired.clone(),
                None => DesiredResource {
                    address: address.clone(),
                    kind: live.kind,
                    region: live.region.clone(),
                    attributes: Default::default(),
                    tags: Default::default(),
                    depends_on: Default::default(),
                    lifecycle: Default::default(),
                    sensitive: Default::default(),
                    source: None,
                },
            };
            resource.attributes = live.attributes.clone();
            resource.tags = live.tags.clone();
            Some((address.clone(), resource))
        })
        .collect()
}

//! One resource block in one scope and region: each of its instances built into resources
//! (by the builder of its type in [`crate::graph::resources`]), then recorded with the tags,
//! dependencies and lifecycle they share.

use super::Expander;
use super::placement::Placement;
use super::scope::{Entry, Failure, Scope};
use crate::config::diagnostics::Diagnostic;
use crate::config::eval;
use crate::config::references::traversals;
use crate::config::tree::{Attr, BlockDef};
use crate::config::value::from_model;
use crate::graph::analysis::ItemKey;
use crate::graph::resources::{Built, Instance, build};
use crate::model::cloud::GLOBAL_REGION;
use crate::model::{
    Address, DesiredResource, Lifecycle, SourceLocation, Value, name_parts as name_parts_of,
    original_path, references_in,
};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// What every resource of one block shares.
struct BlockCommon<'a> {
    region: &'a str,
    static_dependencies: &'a BTreeMap<Address, SourceLocation>,
    tags: &'a crate::model::Tags,
    lifecycle: &'a Lifecycle,
}

impl<'c> Expander<'c> {
    pub(super) fn run_block(
        &mut self,
        scope: &mut Scope<'c>,
        placement: &Placement<'_>,
        block: &BlockDef,
    ) {
        let key = ItemKey::Resource(block.ident.clone(), block.name().to_string());
        match self.is_active(scope, placement, block) {
            Ok(true) => {}
            Ok(false) => {
                scope.inactive.insert(key);
                return;
            }
            Err(failure) => return self.fail(scope, key, failure),
        }
        let instances = match self.instances(scope, placement, block) {
            Ok(instances) => instances,
            Err(failure) => return self.fail(scope, key, failure),
        };
        let config = self.config;
        let sources = &config.sources;
        let lifecycle = self.lifecycle(scope, placement, block);
        let static_dependencies = self.static_dependencies(scope, block);
        let block_tags = match block.attribute("tags") {
            Some(attr) => match self
                .evaluate(scope, placement, attr, None)
                .and_then(|value| eval::as_tags(sources, attr, &value).map_err(Some))
            {
                Ok(tags) => tags,
                Err(failure) => return self.fail(scope, key, failure),
            },
            None => Default::default(),
        };
        let prefix = scope.address_prefix();
        let module_names = scope.path.join("-");
        let mut entry = Entry {
            value: hcl::Value::Null,
            primary: Vec::new(),
            all: Vec::new(),
            sensitive_outputs: BTreeSet::new(),
        };
        let mut keyed_values = hcl::Map::new();
        let mut any_failed = false;
        for (instance_key, each) in instances {
            let key_part = instance_key
                .as_ref()
                .map(|instance_key| format!("[\"{instance_key}\"]"))
                .unwrap_or_default();
            // Cloud names come from the block path the object was created under: a `moved`
            // block renames the address, never the object (a new name would replace it).
            let block_path = format!("{prefix}{}.{}{key_part}", block.ident, block.name());
            let created_as = original_path(&self.moves, &block_path);
            let mut name_parts = vec![self.config.stack.clone(), self.name_environment.clone()];
            if created_as == block_path {
                if !module_names.is_empty() {
                    name_parts.push(module_names.clone());
                }
                name_parts.push(block.name().to_string());
                if let Some(instance_key) = &instance_key {
                    name_parts.push(instance_key.clone());
                }
            } else {
                // Module names are joined with `-` as one part, as above.
                name_parts.extend(name_parts_of(&created_as));
            }
            let evaluator = |attr: &Attr| -> Result<Value, Failure> {
                // Tags may carry `each`; a per-instance `tags` overrides the block-level ones.
                self.evaluate(scope, placement, attr, each.as_ref())
            };
            let sensitive = |attr: &Attr| scope.is_sensitive(&traversals(attr.file, &attr.edit));
            let instance = Instance {
                sources,
                block,
                region: placement.region,
                address_base: format!("{prefix}{}.{}{key_part}", block.ident, block.name()),
                name: name_parts.join("-"),
                created_as: created_as.clone(),
                short_name: format!("{prefix}{}{key_part}", block.name()),
                zone_map: &self.zone_map,
                environment: self.environment,
                deployed: &self.deployed,
                first_placement: placement.first,
                evaluate: &evaluator,
                is_sensitive: &sensitive,
                problems: RefCell::new(Vec::new()),
                failed: RefCell::new(false),
            };
            let built = build(&instance);
            let problems = instance.problems.into_inner();
            for problem in problems {
                self.diagnostics.push(problem);
            }
            let Some(built) = built else {
                any_failed = true;
                continue;
            };
            let value = from_model(&built.value);
            match &instance_key {
                Some(instance_key) => {
                    keyed_values.insert(instance_key.clone(), value);
                }
                None => entry.value = value,
            }
            entry.primary.extend(built.primary.iter().cloned());
            let common = BlockCommon {
                region: &placement.region.name,
                static_dependencies: &static_dependencies,
                tags: &block_tags,
                lifecycle: &lifecycle,
            };
            let addresses = self.record(scope, block, built, &common);
            entry.all.extend(addresses);
        }
        if any_failed {
            scope.failed.insert(key);
            return;
        }
        if block.attribute("for_each").is_some() {
            entry.value = hcl::Value::Object(keyed_values);
        }
        scope.entries.insert(key, entry);
    }

    /// Adds what one block instance built: resources with tags, dependencies and lifecycle,
    /// its backup policy and rollout. Returns the addresses of its resources.
    fn record(
        &mut self,
        scope: &mut Scope<'_>,
        block: &BlockDef,
        built: Built,
        common: &BlockCommon<'_>,
    ) -> Vec<Address> {
        let config = self.config;
        let sources = &config.sources;
        let source = sources.location(block.label_span);
        let mut addresses = Vec::new();
        for produced in built.resources {
            let mut dependencies = common.static_dependencies.clone();
            for after in &produced.after {
                dependencies
                    .entry(after.clone())
                    .or_insert_with(|| source.clone());
            }
            // Attribute by attribute: gathering them into one object first copied every value
            // of every resource only to read it (issue 14).
            for value in produced.attributes.values() {
                for found in references_in(value) {
                    if found.address != produced.address {
                        dependencies
                            .entry(found.address)
                            .or_insert_with(|| source.clone());
                    }
                }
            }
            let mut tags = self.environment.tags.clone();
            tags.extend(
                common
                    .tags
                    .iter()
                    .map(|(key, value)| (key.clone(), value.clone())),
            );
            // A block's own `Name` tag wins (an imported object keeps the name it has);
            // otherwise the name says which stack, environment and block made the object.
            if !common.tags.contains_key("Name") {
                tags.insert("Name".to_string(), produced.display_name.clone());
            }
            // DNS belongs to no region, whichever region declared it.
            let region = if produced.kind.is_global() {
                GLOBAL_REGION
            } else {
                common.region
            };
            let resource = DesiredResource {
                address: produced.address.clone(),
                kind: produced.kind,
                region: region.to_string(),
                attributes: produced.attributes,
                tags,
                depends_on: dependencies.keys().cloned().collect(),
                lifecycle: common.lifecycle.clone(),
                sensitive: produced.sensitive,
                source: Some(source.clone()),
            };
            if self.resources.contains_key(&produced.address) {
                self.diagnostics.push(
                    Diagnostic::at(
                        sources,
                        block.label_span,
                        format!("two blocks expand to the address `{}`", produced.address),
                    )
                    .hint("rename one of the blocks"),
                );
                continue;
            }
            self.dependencies
                .insert(produced.address.clone(), dependencies);
            self.resources.insert(produced.address.clone(), resource);
            scope.produced.push(produced.address.clone());
            addresses.push(produced.address);
        }
        if let Some(policy) = built.policy {
            match self.policies.get_mut(&policy.name) {
                // A policy active in several regions is one policy over all their volumes.
                Some(existing) => {
                    existing.volumes.extend(policy.volumes);
                    existing.volumes.sort();
                    existing.volumes.dedup();
                }
                None => {
                    self.policies.insert(policy.name.clone(), policy);
                }
            }
        }
        if let Some((address, rollout)) = built.rollout {
            self.rollouts.insert(address, rollout);
        }
        if let Some(lookup) = built.zone_lookup {
            self.zone_lookups.push(lookup);
        }
        addresses
    }
}

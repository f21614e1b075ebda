//! The expansion of one environment: an ordered list of steps, each saying why it comes where
//! it does.

use super::analysis::{ItemKey, block_attributes, evaluation_order};
use super::dag::Dag;
use super::resources::{Built, Instance, RESOURCE_TYPES, build};
use super::{BackupPolicySpec, ExpandOptions, Expansion, OutputSpec, RolloutSpec};
use crate::config::diagnostics::{Diagnostic, Diagnostics, did_you_mean};
use crate::config::eval::{self, Bindings};
use crate::config::module::ModuleCall;
use crate::config::references::{Traversal, traversals};
use crate::config::tree::{Attr, BlockDef};
use crate::config::value::from_model;
use crate::config::variables::{Origin, check_value};
use crate::config::{Config, Environment, Module, RegionSpec};
use crate::model::{Address, DesiredResource, Lifecycle, SourceLocation, Value, references_in};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Expands `environment` of `config` into resource instances and their dependency graph.
///
/// # Errors
///
/// An unknown environment, undeclared names, wrong values, and cycles: every problem found.
pub fn expand(
    config: &Config,
    environment: &str,
    options: &ExpandOptions,
) -> Result<Expansion, Diagnostics> {
    // Step 1: the environment. Every expression may read `env.*`, so an unknown name stops
    // here, before anything is evaluated.
    let Some(original) = config.environments.get(environment) else {
        let names: Vec<&str> = config.environments.keys().map(String::as_str).collect();
        let mut diagnostic = Diagnostic::error(format!(
            "no environment `{environment}` in stack `{}`",
            config.stack
        ))
        .expected(format!("one of {}", crate::config::schema::list(&names)));
        if let Some(hint) = did_you_mean(environment, names.iter().copied()) {
            diagnostic = diagnostic.hint(hint);
        }
        return Err(diagnostic.into());
    };

    // Step 2: placements. A region override replaces the primary region before any expression
    // reads `region.*`; blocks stay active by the primary region's name so that `regions = [...]`
    // keeps its meaning during a drill.
    let mut environment = original.clone();
    let mut zone_map = BTreeMap::new();
    let placements: Vec<(RegionSpec, String)> = match &options.region_override {
        Some(region_override) => {
            let Some(primary) = original.regions.first() else {
                return Err(
                    Diagnostic::internal("an environment without regions passed loading").into(),
                );
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
            for (from, to) in primary.zones.iter().zip(&region_override.zones) {
                zone_map.insert(from.clone(), to.clone());
            }
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
            environment.regions = vec![region.clone()];
            vec![(region, primary.name.clone())]
        }
        None => original
            .regions
            .iter()
            .map(|region| (region.clone(), region.name.clone()))
            .collect(),
    };

    // Step 3: the evaluation order of every module body, once. Undeclared names and cycles
    // between blocks do not depend on the region, so they are found before any value is
    // computed and reported once.
    let mut diagnostics = Diagnostics::new();
    let mut orders: BTreeMap<PathBuf, Vec<ItemKey>> = BTreeMap::new();
    for module in std::iter::once(&config.root).chain(config.modules.values()) {
        match evaluation_order(config, module) {
            Ok(order) => {
                orders.insert(module.dir.clone(), order);
            }
            Err(found) => diagnostics.extend(found),
        }
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }

    // Step 4: evaluate each placement's root module in that order. Module calls recurse into
    // their bodies, so every resource is produced after everything it refers to.
    let name_environment = match &options.instance {
        Some(instance) => format!("{}-{instance}", original.name),
        None => original.name.clone(),
    };
    let mut expander = Expander {
        name_environment,
        config,
        environment: &environment,
        env_value: from_model(&environment.to_value()),
        orders,
        zone_map,
        resources: BTreeMap::new(),
        dependencies: BTreeMap::new(),
        policies: BTreeMap::new(),
        rollouts: BTreeMap::new(),
        diagnostics,
    };
    let mut outputs = BTreeMap::new();
    for (index, (region, active_name)) in placements.iter().enumerate() {
        let placement = Placement {
            region,
            active_name,
            region_value: from_model(&serde_json::json!({
                "name": region.name,
                "zones": region.zones,
                "image": region.image,
            })),
        };
        let mut scope = Scope::root(config);
        expander.run_scope(&mut scope, &placement);
        // Step 5: outputs, from the primary placement only: an output names one value for the
        // environment, and the primary region is where users look for it.
        if index == 0 {
            outputs = expander.outputs(&scope, &placement);
        }
    }

    // Step 6: the DAG, from the dependencies gathered while producing resources. Each edge
    // keeps where its reference was written so that a cycle can be shown with its sources.
    let mut dag: Dag<Address, SourceLocation> = Dag::new();
    for address in expander.resources.keys() {
        dag.add_node(address.clone());
    }
    for (from, targets) in &expander.dependencies {
        for (to, location) in targets {
            if from != to && expander.resources.contains_key(to) {
                dag.add_edge(from.clone(), to.clone(), location.clone());
            }
        }
    }
    if let Some(cycle) = dag.find_cycle() {
        let mut diagnostic = Diagnostic::error(format!("dependency cycle: {}", cycle.path()));
        for (from, to, location) in &cycle.edges {
            diagnostic = diagnostic.note(format!("`{from}` depends on `{to}` at {location}"));
        }
        expander.diagnostics.push(diagnostic);
    }

    let Expander {
        resources,
        policies,
        rollouts,
        diagnostics,
        ..
    } = expander;
    diagnostics.into_result(Expansion {
        stack: config.stack.clone(),
        backend: config.backend.clone(),
        environment: environment.clone(),
        resources,
        outputs,
        backup_policies: policies.into_values().collect(),
        rollouts,
        dag,
    })
}

/// The region blocks are being instantiated in.
struct Placement<'p> {
    region: &'p RegionSpec,
    /// The region name `regions = [...]` is compared with (the primary's during a drill).
    active_name: &'p str,
    region_value: hcl::Value,
}

/// A block's or module call's result in one scope and region.
#[derive(Debug, Clone)]
struct Entry {
    /// `TYPE.NAME` (or `module.NAME`) in expressions.
    value: hcl::Value,
    /// What a reference to it depends on.
    primary: Vec<Address>,
    /// Every resource it produced, for `depends_on`.
    all: Vec<Address>,
    /// Sensitive module outputs.
    sensitive_outputs: BTreeSet<String>,
}

/// One module body being evaluated in one region.
struct Scope<'c> {
    module: &'c Module,
    /// Names of the module calls leading here.
    path: Vec<String>,
    vars: hcl::Map<String, hcl::Value>,
    sensitive_vars: BTreeSet<String>,
    locals: BTreeMap<String, hcl::Value>,
    sensitive_locals: BTreeSet<String>,
    entries: BTreeMap<ItemKey, Entry>,
    /// Items left out of this region by `regions = [...]`.
    inactive: BTreeSet<ItemKey>,
    /// Items that failed; whatever refers to them is skipped silently (already reported).
    failed: BTreeSet<ItemKey>,
    /// Dependencies every resource of the scope gets (a module call's `depends_on`).
    extra_dependencies: BTreeMap<Address, SourceLocation>,
    /// Every resource produced in this scope and the scopes it called.
    produced: Vec<Address>,
}

impl<'c> Scope<'c> {
    fn root(config: &'c Config) -> Scope<'c> {
        let module = &config.root;
        Scope {
            module,
            path: Vec::new(),
            vars: config
                .variables
                .iter()
                .map(|(name, value)| (name.clone(), from_model(value)))
                .collect(),
            sensitive_vars: module
                .variables
                .values()
                .filter(|variable| variable.sensitive)
                .map(|variable| variable.name.clone())
                .collect(),
            locals: BTreeMap::new(),
            sensitive_locals: BTreeSet::new(),
            entries: BTreeMap::new(),
            inactive: BTreeSet::new(),
            failed: BTreeSet::new(),
            extra_dependencies: BTreeMap::new(),
            produced: Vec::new(),
        }
    }

    /// `module.a.module.b.` in front of addresses.
    fn address_prefix(&self) -> String {
        self.path
            .iter()
            .map(|name| format!("module.{name}."))
            .collect()
    }

    /// Whether an expression reads a sensitive variable, local or module output.
    fn is_sensitive(&self, found: &[Traversal]) -> bool {
        found.iter().any(
            |traversal| match (traversal.root.as_str(), traversal.attr(0)) {
                ("var", Some(name)) => self.sensitive_vars.contains(name),
                ("local", Some(name)) => self.sensitive_locals.contains(name),
                ("module", Some(name)) => self
                    .entries
                    .get(&ItemKey::Call(name.to_string()))
                    .is_some_and(|entry| match traversal.attr(1) {
                        Some(output) => entry.sensitive_outputs.contains(output),
                        None => !entry.sensitive_outputs.is_empty(),
                    }),
                _ => false,
            },
        )
    }
}

struct Expander<'c> {
    config: &'c Config,
    /// The environment part of cloud names (`production`, `production-drill`).
    name_environment: String,
    environment: &'c Environment,
    env_value: hcl::Value,
    orders: BTreeMap<PathBuf, Vec<ItemKey>>,
    zone_map: BTreeMap<String, String>,
    resources: BTreeMap<Address, DesiredResource>,
    /// For each resource, what it depends on and where that was written.
    dependencies: BTreeMap<Address, BTreeMap<Address, SourceLocation>>,
    policies: BTreeMap<String, BackupPolicySpec>,
    rollouts: BTreeMap<Address, RolloutSpec>,
    diagnostics: Diagnostics,
}

/// A `for_each` key and the `each` value of one instance (both `None` without `for_each`).
type InstanceKey = (Option<String>, Option<hcl::Value>);

/// What every resource of one block shares.
struct BlockCommon<'a> {
    region: &'a str,
    static_dependencies: &'a BTreeMap<Address, SourceLocation>,
    tags: &'a crate::model::Tags,
    lifecycle: &'a Lifecycle,
}

/// Why an attribute has no value: a new problem, or one already reported elsewhere.
type Failure = Option<Diagnostic>;

impl<'c> Expander<'c> {
    fn run_scope(&mut self, scope: &mut Scope<'c>, placement: &Placement<'_>) {
        let Some(order) = self.orders.get(&scope.module.dir).cloned() else {
            self.diagnostics.push(Diagnostic::internal(format!(
                "module `{}` was not analysed",
                scope.module.dir.display()
            )));
            return;
        };
        for item in order {
            match &item {
                ItemKey::Local(name) => self.run_local(scope, placement, name),
                ItemKey::Resource(block_type, name) => {
                    if let Some(block) = scope.module.resource(block_type, name) {
                        self.run_block(scope, placement, block);
                    }
                }
                ItemKey::Call(name) => {
                    if let Some(call) = scope.module.calls.iter().find(|call| &call.name == name) {
                        self.run_call(scope, placement, call);
                    }
                }
            }
        }
    }

    /// The variables an expression reads, with only the blocks, locals and modules it names,
    /// so that building the context stays proportional to the expression.
    fn bindings(
        &self,
        scope: &Scope<'_>,
        placement: &Placement<'_>,
        found: &[Traversal],
        each: Option<&hcl::Value>,
    ) -> Result<Bindings, Failure> {
        let sources = &self.config.sources;
        let mut bindings: BTreeMap<String, hcl::Value> = BTreeMap::new();
        let mut objects: BTreeMap<String, hcl::Map<String, hcl::Value>> = BTreeMap::new();
        for traversal in found {
            let root = traversal.root.as_str();
            match root {
                "var" => {
                    bindings.insert("var".into(), hcl::Value::Object(scope.vars.clone()));
                }
                "env" => {
                    bindings.insert("env".into(), self.env_value.clone());
                }
                "region" => {
                    bindings.insert("region".into(), placement.region_value.clone());
                }
                "each" => {
                    if let Some(each) = each {
                        bindings.insert("each".into(), each.clone());
                    }
                }
                "local" => {
                    let object = objects.entry("local".into()).or_default();
                    match traversal.attr(0) {
                        Some(name) => {
                            if scope.failed.contains(&ItemKey::Local(name.to_string())) {
                                return Err(None);
                            }
                            if let Some(value) = scope.locals.get(name) {
                                object.insert(name.to_string(), value.clone());
                            }
                        }
                        None => {
                            object.extend(scope.locals.iter().map(|(k, v)| (k.clone(), v.clone())))
                        }
                    }
                }
                _ => {
                    let Some(name) = traversal.attr(0) else {
                        continue;
                    };
                    let key = if root == "module" {
                        ItemKey::Call(name.to_string())
                    } else if RESOURCE_TYPES.contains(&root) {
                        ItemKey::Resource(root.to_string(), name.to_string())
                    } else {
                        continue;
                    };
                    if scope.failed.contains(&key) {
                        return Err(None);
                    }
                    if scope.inactive.contains(&key) {
                        return Err(Some(
                            Diagnostic::at(
                                sources,
                                traversal.span_through(1),
                                format!("`{key}` is not instantiated in region `{}`", placement.region.name),
                            )
                            .hint("its `regions = [...]` leaves this region out; restrict this block the same way"),
                        ));
                    }
                    match scope.entries.get(&key) {
                        Some(entry) => {
                            objects
                                .entry(root.to_string())
                                .or_default()
                                .insert(name.to_string(), entry.value.clone());
                        }
                        None => {
                            return Err(Some(Diagnostic::internal(format!(
                                "`{key}` was used before it was evaluated"
                            ))));
                        }
                    }
                }
            }
        }
        for (root, object) in objects {
            bindings.insert(root, hcl::Value::Object(object));
        }
        Ok(bindings.into_iter().collect())
    }

    fn evaluate(
        &self,
        scope: &Scope<'_>,
        placement: &Placement<'_>,
        attr: &Attr,
        each: Option<&hcl::Value>,
    ) -> Result<Value, Failure> {
        let found = traversals(attr.file, &attr.edit);
        let bindings = self.bindings(scope, placement, &found, each)?;
        eval::evaluate(&self.config.sources, attr, bindings, &scope.module.dir).map_err(Some)
    }

    fn fail(&mut self, scope: &mut Scope<'_>, key: ItemKey, failure: Failure) {
        if let Some(diagnostic) = failure {
            self.diagnostics.push(diagnostic);
        }
        scope.failed.insert(key);
    }

    fn run_local(&mut self, scope: &mut Scope<'c>, placement: &Placement<'_>, name: &str) {
        let Some(attr) = scope.module.locals.get(name) else {
            return;
        };
        match self.evaluate(scope, placement, attr, None) {
            Ok(value) => {
                if scope.is_sensitive(&traversals(attr.file, &attr.edit)) {
                    scope.sensitive_locals.insert(name.to_string());
                }
                scope.locals.insert(name.to_string(), from_model(&value));
            }
            Err(failure) => self.fail(scope, ItemKey::Local(name.to_string()), failure),
        }
    }

    /// Whether a block or module call with `regions = [...]` is active in this placement.
    fn is_active(
        &mut self,
        scope: &Scope<'_>,
        placement: &Placement<'_>,
        block: &BlockDef,
    ) -> Result<bool, Failure> {
        let Some(attr) = block.attribute("regions") else {
            return Ok(true);
        };
        let value = self.evaluate(scope, placement, attr, None)?;
        let regions = eval::as_string_list(&self.config.sources, attr, &value).map_err(Some)?;
        Ok(regions.iter().any(|region| region == placement.active_name))
    }

    /// `for_each` keys and values: a map gives its entries, a set of strings gives each
    /// string as both key and value. Without `for_each`, one instance without a key.
    fn instances(
        &self,
        scope: &Scope<'_>,
        placement: &Placement<'_>,
        block: &BlockDef,
    ) -> Result<Vec<InstanceKey>, Failure> {
        let Some(attr) = block.attribute("for_each") else {
            return Ok(vec![(None, None)]);
        };
        let value = self.evaluate(scope, placement, attr, None)?;
        let entries: Vec<(String, Value)> = match &value {
            Value::Object(map) => map
                .iter()
                .map(|(key, item)| (key.clone(), item.clone()))
                .collect(),
            Value::Array(items) if items.iter().all(Value::is_string) => {
                let mut keys: Vec<String> = items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_string))
                    .collect();
                keys.sort();
                keys.dedup();
                keys.into_iter()
                    .map(|key| (key.clone(), Value::String(key)))
                    .collect()
            }
            _ => {
                return Err(Some(eval::wrong_type(
                    &self.config.sources,
                    attr,
                    &value,
                    "a map, or a set of strings",
                )));
            }
        };
        Ok(entries
            .into_iter()
            .map(|(key, item)| {
                let each = hcl::Value::Object(hcl::Map::from_iter([
                    ("key".to_string(), hcl::Value::String(key.clone())),
                    ("value".to_string(), from_model(&item)),
                ]));
                (Some(key), Some(each))
            })
            .collect())
    }

    /// Dependencies written in a block: every block or module it names (its main resources),
    /// and what `depends_on` lists (all of their resources), with where each was written.
    fn static_dependencies(
        &self,
        scope: &Scope<'_>,
        block: &BlockDef,
    ) -> BTreeMap<Address, SourceLocation> {
        let sources = &self.config.sources;
        let mut found = scope.extra_dependencies.clone();
        for attr in block_attributes(block) {
            let explicit = attr.name == "depends_on";
            for traversal in traversals(attr.file, &attr.edit) {
                let Some(name) = traversal.attr(0) else {
                    continue;
                };
                let key = match traversal.root.as_str() {
                    "module" => ItemKey::Call(name.to_string()),
                    root if RESOURCE_TYPES.contains(&root) => {
                        ItemKey::Resource(root.to_string(), name.to_string())
                    }
                    _ => continue,
                };
                let Some(entry) = scope.entries.get(&key) else {
                    continue;
                };
                let location = sources.location(traversal.span_through(1));
                let targets = if explicit || matches!(key, ItemKey::Call(_)) {
                    &entry.all
                } else {
                    &entry.primary
                };
                for target in targets {
                    found
                        .entry(target.clone())
                        .or_insert_with(|| location.clone());
                }
            }
        }
        found
    }

    fn lifecycle(
        &mut self,
        scope: &Scope<'_>,
        placement: &Placement<'_>,
        block: &BlockDef,
    ) -> Lifecycle {
        let mut lifecycle = Lifecycle::default();
        let Some(nested) = block.blocks_named("lifecycle").next() else {
            return lifecycle;
        };
        let config = self.config;
        let sources = &config.sources;
        for (name, target) in [
            (
                "create_before_destroy",
                &mut lifecycle.create_before_destroy,
            ),
            ("prevent_destroy", &mut lifecycle.prevent_destroy),
        ] {
            if let Some(attr) = nested.attribute(name) {
                match self.evaluate(scope, placement, attr, None) {
                    Ok(value) => match eval::as_bool(sources, attr, &value) {
                        Ok(flag) => *target = flag,
                        Err(diagnostic) => self.diagnostics.push(diagnostic),
                    },
                    Err(Some(diagnostic)) => self.diagnostics.push(diagnostic),
                    Err(None) => {}
                }
            }
        }
        if let Some(attr) = nested.attribute("ignore_changes") {
            // Terraform writes attribute names bare (`[tags]`); strings are accepted too.
            match &attr.expr {
                hcl::Expression::Array(items) => {
                    for item in items {
                        match item {
                            hcl::Expression::Variable(name) => {
                                lifecycle.ignore_changes.insert(name.as_str().to_string());
                            }
                            hcl::Expression::String(name) => {
                                lifecycle.ignore_changes.insert(name.clone());
                            }
                            _ => self.diagnostics.push(
                                Diagnostic::at(
                                    sources,
                                    attr.value_span,
                                    "`ignore_changes` lists attribute names",
                                )
                                .expected("names such as `[tags, desired]`"),
                            ),
                        }
                    }
                }
                _ => self.diagnostics.push(
                    Diagnostic::at(
                        sources,
                        attr.value_span,
                        "`ignore_changes` lists attribute names",
                    )
                    .expected("a list such as `[tags, desired]`"),
                ),
            }
        }
        lifecycle
    }

    fn run_block(&mut self, scope: &mut Scope<'c>, placement: &Placement<'_>, block: &BlockDef) {
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
            let mut name_parts = vec![self.config.stack.clone(), self.name_environment.clone()];
            if !module_names.is_empty() {
                name_parts.push(module_names.clone());
            }
            name_parts.push(block.name().to_string());
            if let Some(instance_key) = &instance_key {
                name_parts.push(instance_key.clone());
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
                block_path: format!("{prefix}{}.{}{key_part}", block.ident, block.name()),
                short_name: format!("{prefix}{}{key_part}", block.name()),
                zone_map: &self.zone_map,
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
            let attributes_value = Value::Object(
                produced
                    .attributes
                    .iter()
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect(),
            );
            let mut dependencies = common.static_dependencies.clone();
            for found in references_in(&attributes_value) {
                if found.address != produced.address {
                    dependencies
                        .entry(found.address)
                        .or_insert_with(|| source.clone());
                }
            }
            let mut tags = self.environment.tags.clone();
            tags.extend(
                common
                    .tags
                    .iter()
                    .map(|(key, value)| (key.clone(), value.clone())),
            );
            tags.insert("Name".to_string(), produced.display_name.clone());
            let resource = DesiredResource {
                address: produced.address.clone(),
                kind: produced.kind,
                region: common.region.to_string(),
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
        addresses
    }

    fn run_call(&mut self, scope: &mut Scope<'c>, placement: &Placement<'_>, call: &'c ModuleCall) {
        let key = ItemKey::Call(call.name.clone());
        match self.is_active(scope, placement, &call.block) {
            Ok(true) => {}
            Ok(false) => {
                scope.inactive.insert(key);
                return;
            }
            Err(failure) => return self.fail(scope, key, failure),
        }
        let config = self.config;
        let Some(module) = config.modules.get(&call.module_dir) else {
            // Loading reported the missing module already.
            scope.failed.insert(key);
            return;
        };
        let sources = &config.sources;
        let mut vars = hcl::Map::new();
        let mut sensitive_vars = BTreeSet::new();
        let mut failed = false;
        for variable in module.variables.values() {
            let (value, origin, sensitive) = match call.inputs.get(&variable.name) {
                Some(attr) => match self.evaluate(scope, placement, attr, None) {
                    Ok(value) => (
                        value,
                        Origin::Span(attr.value_span),
                        scope.is_sensitive(&traversals(attr.file, &attr.edit)),
                    ),
                    Err(failure) => {
                        if let Some(diagnostic) = failure {
                            self.diagnostics.push(diagnostic);
                        }
                        failed = true;
                        continue;
                    }
                },
                None => match &variable.default {
                    Some(default) => {
                        match eval::evaluate(sources, default, Vec::new(), &module.dir) {
                            Ok(value) => (value, Origin::Span(default.value_span), false),
                            Err(diagnostic) => {
                                self.diagnostics.push(diagnostic);
                                failed = true;
                                continue;
                            }
                        }
                    }
                    // Loading reported the missing input already.
                    None => {
                        failed = true;
                        continue;
                    }
                },
            };
            match check_value(sources, &module.dir, variable, &value, &origin) {
                Ok(value) => {
                    vars.insert(variable.name.clone(), from_model(&value));
                }
                Err(diagnostic) => {
                    self.diagnostics.push(diagnostic);
                    failed = true;
                    continue;
                }
            }
            if sensitive || variable.sensitive {
                sensitive_vars.insert(variable.name.clone());
            }
        }
        if failed {
            scope.failed.insert(key);
            return;
        }
        let mut path = scope.path.clone();
        path.push(call.name.clone());
        let mut child = Scope {
            module,
            path,
            vars,
            sensitive_vars,
            locals: BTreeMap::new(),
            sensitive_locals: BTreeSet::new(),
            entries: BTreeMap::new(),
            inactive: BTreeSet::new(),
            failed: BTreeSet::new(),
            extra_dependencies: self.static_dependencies(scope, &only_depends_on(&call.block)),
            produced: Vec::new(),
        };
        let before = self.diagnostics.len();
        self.run_scope(&mut child, placement);
        let mut outputs = hcl::Map::new();
        let mut sensitive_outputs = BTreeSet::new();
        for output in module.outputs.values() {
            match self.evaluate(&child, placement, &output.value, None) {
                Ok(value) => {
                    if output.sensitive
                        || child.is_sensitive(&traversals(output.value.file, &output.value.edit))
                    {
                        sensitive_outputs.insert(output.name.clone());
                    }
                    outputs.insert(output.name.clone(), from_model(&value));
                }
                Err(failure) => {
                    if let Some(diagnostic) = failure {
                        self.diagnostics.push(diagnostic);
                    }
                    failed = true;
                }
            }
        }
        if failed || self.diagnostics.len() > before && !child.failed.is_empty() {
            scope.failed.insert(key);
            scope.produced.extend(child.produced);
            return;
        }
        scope.produced.extend(child.produced.iter().cloned());
        scope.entries.insert(
            key,
            Entry {
                value: hcl::Value::Object(outputs),
                primary: child.produced.clone(),
                all: child.produced,
                sensitive_outputs,
            },
        );
    }

    fn outputs(
        &mut self,
        scope: &Scope<'_>,
        placement: &Placement<'_>,
    ) -> BTreeMap<String, OutputSpec> {
        let mut outputs = BTreeMap::new();
        for output in scope.module.outputs.values() {
            match self.evaluate(scope, placement, &output.value, None) {
                Ok(value) => {
                    let sensitive = output.sensitive
                        || scope.is_sensitive(&traversals(output.value.file, &output.value.edit));
                    outputs.insert(output.name.clone(), OutputSpec { value, sensitive });
                }
                Err(Some(diagnostic)) => self.diagnostics.push(diagnostic),
                Err(None) => {}
            }
        }
        outputs
    }
}

/// A copy of a block holding only its `depends_on`, for a module call's static dependencies.
fn only_depends_on(block: &BlockDef) -> BlockDef {
    let mut copy = block.clone();
    copy.attributes.retain(|name, _| name == "depends_on");
    copy.blocks.clear();
    copy
}

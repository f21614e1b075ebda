//! The expansion of one environment: [`expand`] is an ordered list of steps, each saying why
//! it comes where it does. The steps' parts live beside it:
//! - `placement.rs`: the regions blocks are instantiated in (a drill's override region);
//! - `scope.rs`: one module body in one region — what its expressions can see (bindings);
//! - `meta.rs`: the meta-arguments of a block (`regions`, `for_each`, `lifecycle`,
//!   `depends_on`);
//! - `block.rs`: one block's instances built into resources (see [`super::resources`]);
//! - `module_call.rs`: a module call, evaluated as a nested scope;
//! - `dns.rs`: DNS records linked to the zone they name by its domain name;
//! - `import.rs`: `import` blocks resolved to the resources they import into.

mod block;
mod dns;
mod import;
mod meta;
mod module_call;
mod placement;
mod scope;

use super::analysis::{ItemKey, evaluation_order};
use super::dag::Dag;
use super::resources::ZoneLookup;
use super::{BackupPolicySpec, Deployed, ExpandOptions, Expansion, OutputSpec, RolloutSpec};
use crate::config::diagnostics::{Diagnostic, Diagnostics, did_you_mean};
use crate::config::references::traversals;
use crate::config::value::from_model;
use crate::config::{Config, Environment};
use crate::model::{Address, DesiredResource, Moved, SourceLocation};
use placement::{Placement, placements};
use scope::{Failure, Scope};
use std::collections::BTreeMap;
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
        return Err(unknown_environment(config, environment).into());
    };

    // Step 2: placements. A region override replaces the primary region before any expression
    // reads `region.*`.
    let placed = placements(original, options)?;

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
        environment: &placed.environment,
        env_value: from_model(&placed.environment.to_value()),
        orders,
        zone_map: placed.zone_map.clone(),
        deployed: options.deployed(),
        zone_lookups: Vec::new(),
        resources: BTreeMap::new(),
        dependencies: BTreeMap::new(),
        policies: BTreeMap::new(),
        rollouts: BTreeMap::new(),
        moves: config.moves(),
        diagnostics,
    };
    let mut outputs = BTreeMap::new();
    let mut primary = None;
    for (index, (region, active_name)) in placed.regions.iter().enumerate() {
        let placement = Placement::new(region, active_name, index == 0);
        let mut scope = Scope::root(config);
        expander.run_scope(&mut scope, &placement);
        // Step 5: outputs from the primary placement only: an output names one value for
        // the environment, and the primary region is where users look for it.
        if index == 0 {
            outputs = expander.outputs(&scope, &placement);
            primary = Some((scope, placement));
        }
    }
    // Step 5b: imports, evaluated in the primary placement like outputs, but only now that
    // every placement is built: an `import` block may name an instance in another region.
    let imports = match &primary {
        Some((scope, placement)) => expander.imports(scope, placement),
        None => Vec::new(),
    };

    // Step 6: DNS records that name their zone by domain name get the id of the zone the
    // environment declares. Only now is every zone built, wherever its block came in the
    // evaluation order (a name is no reference, so it orders nothing).
    expander.link_zones();

    // Step 6b: the alarms rollouts abort on exist in the group's region. `abort_on` names
    // blocks without ordering anything, so only now is every alarm built.
    expander.check_gates();

    // Step 7: the DAG, from the dependencies gathered while producing resources. Each edge
    // keeps where its reference was written so that a cycle can be shown with its sources.
    let dag = expander.dependency_graph();

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
        environment: placed.environment.clone(),
        resources,
        outputs,
        backup_policies: policies.into_values().collect(),
        rollouts,
        imports,
        dag,
    })
}

/// No environment of that name: say which there are.
fn unknown_environment(config: &Config, environment: &str) -> Diagnostic {
    let names: Vec<&str> = config.environments.keys().map(String::as_str).collect();
    let diagnostic = Diagnostic::error(format!(
        "no environment `{environment}` in stack `{}`",
        config.stack
    ))
    .expected(format!("one of {}", crate::config::schema::list(&names)));
    match did_you_mean(environment, names.iter().copied()) {
        Some(hint) => diagnostic.hint(hint),
        None => diagnostic,
    }
}

/// What an expansion gathers while it walks every scope of every placement.
struct Expander<'c> {
    config: &'c Config,
    /// The environment part of cloud names (`production`, `production-drill`).
    name_environment: String,
    environment: &'c Environment,
    env_value: hcl::Value,
    orders: BTreeMap<PathBuf, Vec<ItemKey>>,
    zone_map: BTreeMap<String, String>,
    /// Which copy of the environment this is (where DNS names point).
    deployed: Deployed,
    /// Records waiting for the zone they name by domain name (step 6).
    zone_lookups: Vec<ZoneLookup>,
    resources: BTreeMap<Address, DesiredResource>,
    /// For each resource, what it depends on and where that was written.
    dependencies: BTreeMap<Address, BTreeMap<Address, SourceLocation>>,
    policies: BTreeMap<String, BackupPolicySpec>,
    rollouts: BTreeMap<Address, RolloutSpec>,
    /// Every `moved` block with stack-wide addresses: cloud names follow the path an object
    /// was created under.
    moves: Vec<Moved>,
    diagnostics: Diagnostics,
}

impl<'c> Expander<'c> {
    /// Evaluates every item of a module body — locals, blocks, module calls — in the order
    /// analysis gave, so that each is evaluated after everything it refers to.
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

    /// Records a failed item: whatever refers to it is skipped without a second report.
    fn fail(&mut self, scope: &mut Scope<'_>, key: ItemKey, failure: Failure) {
        if let Some(diagnostic) = failure {
            self.diagnostics.push(diagnostic);
        }
        scope.failed.insert(key);
    }

    /// Evaluates a `locals` entry.
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

    /// The root module's outputs, evaluated in `scope`.
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

    /// Reports each `abort_on` alarm that is not an alarm of the group's region (an alarm
    /// restricted to other `regions`, say).
    fn check_gates(&mut self) {
        for (group, rollout) in &self.rollouts {
            for gate in &rollout.abort_on {
                let found = self.resources.get(&gate.alarm);
                if found.is_some_and(|alarm| alarm.kind == crate::model::Kind::Alarm) {
                    continue;
                }
                self.diagnostics.push(
                    Diagnostic::error(format!(
                        "`abort_on` of `{group}` names `{}`, which is not an alarm of that region",
                        gate.alarm
                    ))
                    .note(format!("written at {}", gate.source))
                    .expected("an alarm block active in every region of the group"),
                );
            }
        }
    }

    /// Every resource, with an edge to each dependency that is itself a resource; a cycle is
    /// reported with where each of its references was written.
    fn dependency_graph(&mut self) -> Dag<Address, SourceLocation> {
        let mut dag: Dag<Address, SourceLocation> = Dag::new();
        for address in self.resources.keys() {
            dag.add_node(address.clone());
        }
        for (from, targets) in &self.dependencies {
            for (to, location) in targets {
                // Every resource is a node by now, and the graph finds a node by hash.
                if from != to && dag.contains(to) {
                    dag.add_edge(from, to, location.clone());
                }
            }
        }
        if let Some(cycle) = dag.find_cycle() {
            let mut diagnostic = Diagnostic::error(format!("dependency cycle: {}", cycle.path()));
            for (from, to, location) in &cycle.edges {
                diagnostic = diagnostic.note(format!("`{from}` depends on `{to}` at {location}"));
            }
            self.diagnostics.push(diagnostic);
        }
        dag
    }
}

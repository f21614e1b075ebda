//! A scope: one module body being evaluated in one region, and what its expressions can see.
//!
//! An expression is evaluated with only the variables it reads (`var`, `env`, `region`,
//! `each`, and the locals, blocks and modules it names), so building its context costs what
//! the expression costs, not what the module holds. Of a block it reads one attribute of
//! (`network.main.id`), it sees that attribute only: the value evaluates the same, and a
//! block's whole value (a network with its subnets and route tables) is not copied for every
//! expression that names its id (issue 14).

use super::Expander;
use super::placement::Placement;
use crate::config::diagnostics::Diagnostic;
use crate::config::eval::{self, Bindings};
use crate::config::references::{Traversal, traversals};
use crate::config::tree::Attr;
use crate::config::value::from_model;
use crate::config::{Config, Module};
use crate::graph::analysis::ItemKey;
use crate::graph::resources::RESOURCE_TYPES;
use crate::model::{Address, SourceLocation, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Why an attribute has no value: a new problem, or one already reported elsewhere.
pub(super) type Failure = Option<Diagnostic>;

/// A block's or module call's result in one scope and region.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// `TYPE.NAME` (or `module.NAME`) in expressions.
    pub value: hcl::Value,
    /// What a reference to it depends on.
    pub primary: Vec<Address>,
    /// Every resource it produced, for `depends_on`.
    pub all: Vec<Address>,
    /// Sensitive module outputs.
    pub sensitive_outputs: BTreeSet<String>,
}

/// One module body being evaluated in one region.
pub(super) struct Scope<'c> {
    pub module: &'c Module,
    /// Names of the module calls leading here.
    pub path: Vec<String>,
    pub vars: hcl::Map<String, hcl::Value>,
    pub sensitive_vars: BTreeSet<String>,
    pub locals: BTreeMap<String, hcl::Value>,
    pub sensitive_locals: BTreeSet<String>,
    pub entries: BTreeMap<ItemKey, Entry>,
    /// Items left out of this region by `regions = [...]`.
    pub inactive: BTreeSet<ItemKey>,
    /// Items that failed; whatever refers to them is skipped silently (already reported).
    pub failed: BTreeSet<ItemKey>,
    /// Dependencies every resource of the scope gets (a module call's `depends_on`).
    pub extra_dependencies: BTreeMap<Address, SourceLocation>,
    /// Every resource produced in this scope and the scopes it called.
    pub produced: Vec<Address>,
}

impl<'c> Scope<'c> {
    pub fn root(config: &'c Config) -> Scope<'c> {
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
    pub fn address_prefix(&self) -> String {
        self.path
            .iter()
            .map(|name| format!("module.{name}."))
            .collect()
    }

    /// Whether an expression reads a sensitive variable, local or module output.
    pub fn is_sensitive(&self, found: &[Traversal]) -> bool {
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

impl Expander<'_> {
    /// The variables an expression reads, with only the blocks, locals and modules it names,
    /// so that building the context stays proportional to the expression.
    pub(super) fn bindings(
        &self,
        scope: &Scope<'_>,
        placement: &Placement<'_>,
        found: &[Traversal],
        each: Option<&hcl::Value>,
    ) -> Result<Bindings, Failure> {
        let sources = &self.config.sources;
        let mut bindings: BTreeMap<String, hcl::Value> = BTreeMap::new();
        let mut objects: BTreeMap<String, hcl::Map<String, hcl::Value>> = BTreeMap::new();
        // The `(root, name)` bound to part of its value only (see `bind_part`).
        let mut partial: BTreeSet<(String, String)> = BTreeSet::new();
        for traversal in found {
            let root = traversal.root.as_str();
            match root {
                "var" => match traversal
                    .attr(0)
                    .and_then(|name| scope.vars.get_key_value(name))
                {
                    Some((name, value)) => {
                        objects
                            .entry("var".into())
                            .or_default()
                            .insert(name.clone(), value.clone());
                    }
                    // `var` as a whole, or a name hcl-rs will report missing from all of them.
                    None => {
                        bindings.insert("var".into(), hcl::Value::Object(scope.vars.clone()));
                    }
                },
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
                        Some(entry) => bind_part(
                            objects.entry(root.to_string()).or_default(),
                            &mut partial,
                            (root, name),
                            &entry.value,
                            traversal.attr(1),
                        ),
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
            // `var` read whole was bound whole above; the names read one by one are in it.
            bindings
                .entry(root)
                .or_insert_with(|| hcl::Value::Object(object));
        }
        Ok(bindings.into_iter().collect())
    }

    pub(super) fn evaluate(
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
}

/// Binds `name` (of `root`) in `object` to what one traversal reads of `value`: the attribute
/// `field` alone when the traversal reads one the value has, else the whole value. A name
/// bound in part grows by each attribute another traversal reads, and becomes whole when one
/// reads it whole; `partial` remembers which names are bound in part.
fn bind_part(
    object: &mut hcl::Map<String, hcl::Value>,
    partial: &mut BTreeSet<(String, String)>,
    (root, name): (&str, &str),
    value: &hcl::Value,
    field: Option<&str>,
) {
    let part = match (value, field) {
        (hcl::Value::Object(fields), Some(field)) => fields.get_key_value(field),
        _ => None,
    };
    let key = (root.to_string(), name.to_string());
    let bound_whole = object.contains_key(name) && !partial.contains(&key);
    if bound_whole {
        return;
    }
    match (part, object.get_mut(name)) {
        (Some((field, field_value)), Some(hcl::Value::Object(fields))) => {
            if !fields.contains_key(field) {
                fields.insert(field.clone(), field_value.clone());
            }
        }
        (Some((field, field_value)), _) => {
            let mut fields = hcl::Map::new();
            fields.insert(field.clone(), field_value.clone());
            object.insert(name.to_string(), hcl::Value::Object(fields));
            partial.insert(key);
        }
        (None, _) => {
            object.insert(name.to_string(), value.clone());
            partial.remove(&key);
        }
    }
}

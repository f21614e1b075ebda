//! A module call: its inputs checked against the module's variables, its body evaluated as a
//! nested scope, and its outputs made the value of `module.NAME`.

use super::Expander;
use super::meta::only_depends_on;
use super::placement::Placement;
use super::scope::{Entry, Scope};
use crate::config::eval;
use crate::config::module::ModuleCall;
use crate::config::references::traversals;
use crate::config::value::from_model;
use crate::config::variables::{Origin, check_value};
use crate::graph::analysis::ItemKey;
use std::collections::{BTreeMap, BTreeSet};

impl<'c> Expander<'c> {
    pub(super) fn run_call(
        &mut self,
        scope: &mut Scope<'c>,
        placement: &Placement<'_>,
        call: &'c ModuleCall,
    ) {
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
}

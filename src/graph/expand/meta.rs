//! The meta-arguments of a block or module call: `regions` (is it active here), `for_each`
//! (its instances), `lifecycle`, and the dependencies it names (`depends_on` and references).

use super::Expander;
use super::placement::Placement;
use super::scope::{Failure, Scope};
use crate::config::diagnostics::Diagnostic;
use crate::config::eval;
use crate::config::references::traversals;
use crate::config::tree::BlockDef;
use crate::config::value::from_model;
use crate::graph::analysis::{ItemKey, block_attributes};
use crate::graph::resources::RESOURCE_TYPES;
use crate::model::{Address, Lifecycle, SourceLocation, Value};
use std::collections::BTreeMap;

/// A `for_each` key and the `each` value of one instance (both `None` without `for_each`).
type InstanceKey = (Option<String>, Option<hcl::Value>);

impl Expander<'_> {
    /// Whether a block or module call with `regions = [...]` is active in this placement.
    pub(super) fn is_active(
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
        // A mistyped name would leave the block out of every environment without a word.
        for (position, region) in regions.iter().enumerate() {
            let span = crate::config::regions::element_span(attr, position);
            if let Some(unknown) =
                crate::config::regions::check_region(&self.config.sources, span, region)
            {
                return Err(Some(unknown));
            }
        }
        Ok(regions.iter().any(|region| region == placement.active_name))
    }

    /// `for_each` keys and values: a map gives its entries, a set of strings gives each
    /// string as both key and value. Without `for_each`, one instance without a key.
    pub(super) fn instances(
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
    pub(super) fn static_dependencies(
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

    pub(super) fn lifecycle(
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
}

/// A copy of a block holding only its `depends_on`, for a module call's static dependencies.
pub(super) fn only_depends_on(block: &BlockDef) -> BlockDef {
    let mut copy = block.clone();
    copy.attributes.retain(|name, _| name == "depends_on");
    copy.blocks.clear();
    copy
}

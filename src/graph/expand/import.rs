//! `import` blocks resolved against the expansion: each instance of a block (one per
//! `for_each` entry) names the desired resource it imports into and the id of the object,
//! evaluated in the primary placement once every placement is built.
//!
//! Promise: a `to` resolves to exactly one desired resource, or the block is refused at its
//! `to`: a plain path names the block's one instance in the primary region; a literal key
//! names a `for_each` instance there or, for a block without that key, the one instance in
//! that zone or region (a network's subnet in `us-east-1b`, a volume in a secondary region);
//! a second key names the zone or region after a `for_each` key. Two blocks that import into
//! one address are refused at the second.

use super::Expander;
use super::placement::Placement;
use super::scope::Scope;
use crate::config::diagnostics::Diagnostic;
use crate::config::eval;
use crate::config::import::{ImportBlock, ImportKey};
use crate::graph::ImportSpec;
use crate::model::{Address, SourceLocation};
use std::collections::BTreeMap;

impl Expander<'_> {
    /// What the root module's `import` blocks import, their expressions evaluated in the
    /// primary `placement`; every problem is reported and the import left out.
    pub(super) fn imports(
        &mut self,
        scope: &Scope<'_>,
        placement: &Placement<'_>,
    ) -> Vec<ImportSpec> {
        let mut imports = Vec::new();
        let mut imported_by: BTreeMap<Address, SourceLocation> = BTreeMap::new();
        let config = self.config;
        for block in &config.root.imports {
            let instances = match self.instances(scope, placement, &block.block) {
                Ok(instances) => instances,
                Err(failure) => {
                    if let Some(diagnostic) = failure {
                        self.diagnostics.push(diagnostic);
                    }
                    continue;
                }
            };
            for (key, each) in instances {
                let key = match (&block.key, &key) {
                    (None, _) => None,
                    (Some(ImportKey::Literal(key)), _) | (Some(ImportKey::EachKey), Some(key)) => {
                        Some(key.clone())
                    }
                    // Loading refused `each.key` without a `for_each`.
                    (Some(ImportKey::EachKey), None) => continue,
                };
                let Some(id_attr) = block.block.attribute("id") else {
                    continue;
                };
                let id = self
                    .evaluate(scope, placement, id_attr, each.as_ref())
                    .and_then(|value| {
                        eval::as_string(&self.config.sources, id_attr, &value).map_err(Some)
                    });
                let id = match id {
                    Ok(id) => id,
                    Err(failure) => {
                        if let Some(diagnostic) = failure {
                            self.diagnostics.push(diagnostic);
                        }
                        continue;
                    }
                };
                let target = self
                    .import_target(block, key.as_deref(), &placement.region.name)
                    .and_then(|address| match imported_by.get(&address) {
                        Some(first) => Err(self.at_to(
                            block,
                            format!(
                                "this `import` block imports into `{address}`, which the `import` block at {first} imports already"
                            ),
                        )
                        .hint("keep one `import` block per address")),
                        None => Ok(address),
                    });
                match target {
                    Ok(address) => {
                        imported_by.insert(address.clone(), block.source.clone());
                        imports.push(ImportSpec {
                            address,
                            id,
                            source: block.source.clone(),
                        });
                    }
                    Err(diagnostic) => self.diagnostics.push(diagnostic),
                }
            }
        }
        imports
    }

    /// The one desired resource `block` names with `key` (its `for_each` key, or a zone or
    /// region), `primary` being the primary region.
    fn import_target(
        &self,
        block: &ImportBlock,
        key: Option<&str>,
        primary: &str,
    ) -> Result<Address, Diagnostic> {
        let path = &block.to;
        let keyed = key.map(|key| format!("{path}[\"{key}\"]"));
        let instances = |block_path: &str| -> Vec<&Address> {
            self.resources
                .values()
                .filter(|resource| resource.address.block_path() == block_path)
                .map(|resource| &resource.address)
                .collect()
        };
        // The zone or region named, and the instances it is chosen among.
        let (placement, candidates, named) = match (&keyed, &block.placement) {
            (Some(keyed), Some(placement)) => (placement.as_str(), instances(keyed), keyed),
            (Some(keyed), None) if !instances(keyed).is_empty() => {
                (primary, instances(keyed), keyed)
            }
            // A key no `for_each` instance has names the zone or region of one.
            (Some(_), None) => (key.unwrap_or(primary), instances(path), path),
            (None, _) => (primary, instances(path), path),
        };
        // Global kinds (DNS) are declared once, from the primary placement.
        let in_region = |address: &&Address| {
            self.resources.get(*address).is_some_and(|resource| {
                resource.region == placement || (placement == primary && resource.kind.is_global())
            })
        };
        let matching: Vec<&Address> = match candidates
            .iter()
            .copied()
            .filter(|address| address.placement() == Some(placement))
            .collect::<Vec<_>>()
        {
            exact if !exact.is_empty() => exact,
            // Several instances per region (subnets, one per zone) are named by zone, so a
            // region name picks among them only when it has one.
            _ => candidates.iter().copied().filter(in_region).collect(),
        };
        match matching.as_slice() {
            [address] => Ok((*address).clone()),
            [] => Err(self
                .at_to(
                    block,
                    format!(
                        "this `import` block imports into `{named}`, which the configuration does not declare in `{placement}`"
                    ),
                )
                .hint("add the block the object is to be managed as, then import it")),
            several => {
                let placements: Vec<String> = several
                    .iter()
                    .filter_map(|address| address.placement())
                    .map(|placement| format!("`{named}[\"{placement}\"]`"))
                    .collect();
                Err(self
                    .at_to(
                        block,
                        format!(
                            "this `import` block imports into `{named}`, which has {} instances in `{placement}`",
                            several.len()
                        ),
                    )
                    .expected(format!("one of them: {}", placements.join(", "))))
            }
        }
    }

    /// A diagnostic at `block`'s `to`.
    fn at_to(&self, block: &ImportBlock, message: String) -> Diagnostic {
        let span = block
            .block
            .attribute("to")
            .map_or(block.block.ident_span, |attr| attr.value_span);
        Diagnostic::at(&self.config.sources, span, message)
    }
}

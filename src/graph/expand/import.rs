//! `import` blocks resolved against the expansion: each instance of a block (one per
//! `for_each` entry) names the desired resource it imports into and the id of the object,
//! evaluated in the primary placement.

use super::Expander;
use super::placement::Placement;
use super::scope::Scope;
use crate::config::diagnostics::Diagnostic;
use crate::config::eval;
use crate::config::import::{ImportBlock, ImportKey};
use crate::graph::ImportSpec;
use crate::model::Address;

impl Expander<'_> {
    /// What the root module's `import` blocks import in `placement`; every problem is
    /// reported and the import left out.
    pub(super) fn imports(
        &mut self,
        scope: &Scope<'_>,
        placement: &Placement<'_>,
    ) -> Vec<ImportSpec> {
        let mut imports = Vec::new();
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
                let path = match (&block.key, &key) {
                    (None, _) => block.to.clone(),
                    (Some(ImportKey::Literal(key)), _) | (Some(ImportKey::EachKey), Some(key)) => {
                        format!("{}[\"{key}\"]", block.to)
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
                match self.import_target(block, &path, &placement.region.name) {
                    Ok(address) => imports.push(ImportSpec {
                        address,
                        id,
                        source: block.source.clone(),
                    }),
                    Err(diagnostic) => self.diagnostics.push(diagnostic),
                }
            }
        }
        imports
    }

    /// The one desired resource of block path `path` in `region`.
    fn import_target(
        &self,
        block: &ImportBlock,
        path: &str,
        region: &str,
    ) -> Result<Address, Diagnostic> {
        let found: Vec<&Address> = self
            .resources
            .values()
            .filter(|resource| resource.address.block_path() == path && resource.region == region)
            .map(|resource| &resource.address)
            .collect();
        let sources = &self.config.sources;
        let span = block
            .block
            .attribute("to")
            .map_or(block.block.ident_span, |attr| attr.value_span);
        match found.as_slice() {
            [address] => Ok((*address).clone()),
            [] => Err(Diagnostic::at(
                sources,
                span,
                format!(
                    "this `import` block imports into `{path}`, which the configuration does not declare in region `{region}`"
                ),
            )
            .hint("add the block the object is to be managed as, then import it")),
            several => Err(Diagnostic::at(
                sources,
                span,
                format!(
                    "this `import` block imports into `{path}`, which has {} instances in region `{region}`",
                    several.len()
                ),
            )
            .expected("a block with one instance per region, such as a network, a firewall or a volume")),
        }
    }
}

//! DNS records linked to their zone: a record may name its zone by domain name
//! (`zone = "example.com"`) rather than by reference (`zone = dns_zone.main`). A name orders
//! nothing during evaluation, so the link is made once every block is built: the record gets
//! the id of the one `dns_zone` of the environment that declares the name, and comes after
//! it, as a reference would have made it.

use super::Expander;
use crate::config::diagnostics::Diagnostic;
use crate::model::{Address, Kind, Value, reference};
use std::collections::BTreeMap;

impl Expander<'_> {
    /// Links every record waiting for a zone by name (see the module documentation); a name
    /// that no zone or several zones declare is reported at the record's `zone`.
    pub(super) fn link_zones(&mut self) {
        let mut zones: BTreeMap<String, Vec<Address>> = BTreeMap::new();
        for resource in self.resources.values() {
            if resource.kind == Kind::DnsZone
                && let Some(Value::String(name)) = resource.attributes.get("name")
            {
                zones
                    .entry(name.clone())
                    .or_default()
                    .push(resource.address.clone());
            }
        }
        let sources = &self.config.sources;
        for lookup in std::mem::take(&mut self.zone_lookups) {
            let zone = match zones.get(&lookup.zone).map(Vec::as_slice) {
                Some([zone]) => zone.clone(),
                found => {
                    let diagnostic = match found {
                        Some(several) => Diagnostic::at(
                            sources,
                            lookup.span,
                            format!("several `dns_zone` blocks declare `{}`", lookup.zone),
                        )
                        .note(format!(
                            "declared by {}",
                            several
                                .iter()
                                .map(|address| format!("`{}`", address.block_path()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                        .hint("name the zone by reference, such as `zone = dns_zone.main`"),
                        None => Diagnostic::at(
                            sources,
                            lookup.span,
                            format!("no `dns_zone` of this stack declares `{}`", lookup.zone),
                        )
                        .expected("the domain name of a `dns_zone` block, or a reference such as `dns_zone.main`")
                        .hint(format!(
                            "declare it: `dns_zone \"main\" {{ name = \"{}\" }}` (Cairn manages records only in zones its stack declares: records carry no tags, so a record belongs to whoever owns its zone)",
                            lookup.zone
                        )),
                    };
                    self.diagnostics.push(diagnostic);
                    continue;
                }
            };
            let location = sources.location(lookup.span);
            for record in &lookup.records {
                if let Some(resource) = self.resources.get_mut(record) {
                    resource
                        .attributes
                        .insert("zone_id".to_string(), Value::String(reference(&zone, "id")));
                    resource.depends_on.insert(zone.clone());
                }
                self.dependencies
                    .entry(record.clone())
                    .or_default()
                    .entry(zone.clone())
                    .or_insert_with(|| location.clone());
            }
        }
    }
}

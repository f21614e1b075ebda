//! Reading a block's attributes while building it: each reader evaluates one attribute,
//! converts it to the type the builder wants, and records a diagnostic (marking the block
//! failed) when it cannot, so a builder reads every attribute and reports every problem at
//! once instead of stopping at the first.

use super::{Instance, Produced};
use crate::config::Sources;
use crate::config::diagnostics::Diagnostic;
use crate::config::eval;
use crate::config::tree::{Attr, BlockDef};
use crate::model::{Address, Kind, Value, references_in};
use std::collections::{BTreeMap, BTreeSet};

/// A block with `for_each` named without a key (`network.main`) is a map of its instances
/// by key, not one object: says so, naming one instance, where a plain wrong-type message
/// would print the map with the engine's reference markers in it.
fn unkeyed_instances(sources: &Sources, attr: &Attr, value: &Value) -> Option<Diagnostic> {
    let (key, first) = value.as_object()?.iter().next()?;
    let reference = references_in(first.get("id")?).into_iter().next()?;
    let instance = reference.address.block_path();
    let block = instance.strip_suffix(&format!("[{}]", Value::String(key.clone())))?;
    Some(
        Diagnostic::at(
            sources,
            attr.value_span,
            format!("`{block}` has `for_each`: it stands for one object per key, not one object"),
        )
        .hint(format!("name one instance, such as `{instance}`")),
    )
}

/// The block path of the network a network or subnet id refers to (`network.main`, or
/// `module.net.network.main`), when the id is a reference to one of the stack's own; `None`
/// for a literal id, about which nothing is known.
pub(super) fn network_of(id: &str) -> Option<String> {
    let found = references_in(&Value::String(id.to_string()));
    let [reference] = found.as_slice() else {
        return None;
    };
    let path = reference.address.block_path();
    let network = match path.rfind(".subnet.") {
        Some(index) => &path[..index],
        None => path,
    };
    let is_network = network
        .rsplit('.')
        .nth(1)
        .is_some_and(|block_type| block_type == "network");
    is_network.then(|| network.to_string())
}

impl Instance<'_> {
    /// The address of this block's main resource in `placement` (a region or zone).
    pub(super) fn at(&self, placement: &str) -> Address {
        Address::new(format!("{}[{placement}]", self.address_base))
    }

    /// Records a problem; the block then produces nothing.
    pub(super) fn problem(&self, diagnostic: Diagnostic) {
        self.problems.borrow_mut().push(diagnostic);
        *self.failed.borrow_mut() = true;
    }

    /// The evaluated value of `name` in `block`, or `None` when absent or failed.
    pub(super) fn value<'b>(&self, block: &'b BlockDef, name: &str) -> Option<(Value, &'b Attr)> {
        let attr = block.attribute(name)?;
        match (self.evaluate)(attr) {
            Ok(value) => Some((value, attr)),
            Err(diagnostic) => {
                match diagnostic {
                    Some(diagnostic) => self.problem(diagnostic),
                    None => *self.failed.borrow_mut() = true,
                }
                None
            }
        }
    }

    /// The value of `name` converted by `convert`.
    pub(super) fn typed<T>(
        &self,
        block: &BlockDef,
        name: &str,
        convert: impl Fn(&Sources, &Attr, &Value) -> Result<T, Diagnostic>,
    ) -> Option<T> {
        let (value, attr) = self.value(block, name)?;
        convert(self.sources, attr, &value)
            .map_err(|diagnostic| self.problem(diagnostic))
            .ok()
    }

    /// A string.
    pub(super) fn string(&self, block: &BlockDef, name: &str) -> Option<String> {
        self.typed(block, name, eval::as_string)
    }

    /// A whole number, zero or more.
    pub(super) fn count(&self, block: &BlockDef, name: &str) -> Option<u64> {
        self.typed(block, name, eval::as_count)
    }

    /// A boolean, `default` when absent (or when it fails).
    pub(super) fn flag(&self, block: &BlockDef, name: &str, default: bool) -> bool {
        if block.attribute(name).is_none() {
            return default;
        }
        self.typed(block, name, eval::as_bool).unwrap_or(default)
    }

    /// A string that may be absent or `null`: `None` then (and when it fails).
    pub(super) fn optional_string(&self, block: &BlockDef, name: &str) -> Option<String> {
        match self.value(block, name)? {
            (Value::Null, _) => None,
            (value, attr) => eval::as_string(self.sources, attr, &value)
                .map_err(|diagnostic| self.problem(diagnostic))
                .ok(),
        }
    }

    /// An id from a value that is either a block reference object (`firewall.web`) or an id
    /// string (`firewall.web.id`, or a literal id).
    pub(super) fn id_from(
        &self,
        attr: &Attr,
        value: &Value,
        whole: &Value,
        what: &str,
    ) -> Option<String> {
        match value {
            Value::String(text) => Some(text.clone()),
            Value::Object(map) => match map.get("id") {
                Some(Value::String(id)) => Some(id.clone()),
                _ => {
                    self.problem(
                        unkeyed_instances(self.sources, attr, value)
                            .unwrap_or_else(|| eval::wrong_type(self.sources, attr, whole, what)),
                    );
                    None
                }
            },
            _ => {
                self.problem(eval::wrong_type(self.sources, attr, whole, what));
                None
            }
        }
    }

    /// One id: a block reference (`network.main`) or an id string.
    pub(super) fn id(&self, block: &BlockDef, name: &str, what: &str) -> Option<String> {
        let (value, attr) = self.value(block, name)?;
        self.id_from(attr, &value, &value, what)
    }

    /// A list of ids (empty when absent): block references or id strings.
    pub(super) fn ids(&self, block: &BlockDef, name: &str, what: &str) -> Option<Vec<Value>> {
        let Some((value, attr)) = self.value(block, name) else {
            return if block.attribute(name).is_none() {
                Some(Vec::new())
            } else {
                None
            };
        };
        let Some(items) = value.as_array() else {
            self.problem(eval::wrong_type(self.sources, attr, &value, what));
            return None;
        };
        items
            .iter()
            .map(|item| self.id_from(attr, item, &value, what).map(Value::String))
            .collect()
    }

    /// Resource attribute names whose source attributes read a sensitive value.
    pub(super) fn sensitive(&self, mapping: &[(&str, &str)]) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for (source, target) in mapping {
            let hit = match self.block.attribute(source) {
                Some(attr) => (self.is_sensitive)(attr),
                None => self
                    .block
                    .blocks_named(source)
                    .flat_map(|nested| nested.attributes.values())
                    .any(|attr| (self.is_sensitive)(attr)),
            };
            if hit {
                found.insert((*target).to_string());
            }
        }
        found
    }

    /// One resource of this block.
    pub(super) fn produced(
        &self,
        address: Address,
        kind: Kind,
        attributes: BTreeMap<String, Value>,
        sensitive: BTreeSet<String>,
        display_name: String,
    ) -> Produced {
        Produced {
            address,
            kind,
            attributes,
            sensitive,
            display_name,
            after: BTreeSet::new(),
        }
    }

    /// A number (whole or not), for thresholds and the like.
    pub(super) fn number(&self, block: &BlockDef, name: &str, what: &str) -> Option<f64> {
        let (value, attr) = self.value(block, name)?;
        match value.as_f64() {
            Some(number) => Some(number),
            None => {
                self.problem(eval::wrong_type(self.sources, attr, &value, what));
                None
            }
        }
    }

    /// A whole number within `range`, `default` when absent.
    pub(super) fn bounded(
        &self,
        block: &BlockDef,
        name: &str,
        range: std::ops::RangeInclusive<u64>,
        default: u64,
    ) -> Option<u64> {
        if block.attribute(name).is_none() {
            return Some(default);
        }
        let value = self.count(block, name)?;
        if range.contains(&value) {
            return Some(value);
        }
        let attr = block.attribute(name)?;
        self.problem(
            Diagnostic::at(
                self.sources,
                attr.value_span,
                format!("`{name}` is out of range"),
            )
            .expected(format!(
                "a whole number from {} to {}, found {value}",
                range.start(),
                range.end()
            )),
        );
        None
    }

    /// A duration in whole seconds, written as text (`"15s"`, `"5m"`, `"24h"`); `None` when
    /// absent or wrong (reported).
    pub(super) fn duration(&self, block: &BlockDef, name: &str, example: &str) -> Option<u64> {
        match self.value(block, name)? {
            (Value::String(text), attr) => match humantime::parse_duration(&text) {
                Ok(duration) if duration.as_secs() > 0 && duration.subsec_nanos() == 0 => {
                    Some(duration.as_secs())
                }
                _ => {
                    self.problem(
                        Diagnostic::at(
                            self.sources,
                            attr.value_span,
                            format!("invalid duration `{text}`"),
                        )
                        .expected(format!("a duration such as {example}")),
                    );
                    None
                }
            },
            (value, attr) => {
                self.problem(eval::wrong_type(
                    self.sources,
                    attr,
                    &value,
                    &format!("a duration such as {example}"),
                ));
                None
            }
        }
    }

    /// The items of a list attribute when every one is an object (a block value such as
    /// `firewall.web`); `None` when it is absent or holds anything else, such as a literal
    /// id, about which nothing is known.
    pub(super) fn objects(
        &self,
        block: &BlockDef,
        name: &str,
    ) -> Option<Vec<serde_json::Map<String, Value>>> {
        let (value, _) = self.value(block, name)?;
        value
            .as_array()?
            .iter()
            .map(|item| item.as_object().cloned())
            .collect()
    }

    /// A whole-number percentage from `lowest` to 100.
    pub(super) fn percentage(&self, block: &BlockDef, name: &str, lowest: u64) -> Option<u64> {
        let value = self.count(block, name)?;
        if (lowest..=100).contains(&value) {
            return Some(value);
        }
        if let Some(attr) = block.attribute(name) {
            self.problem(
                Diagnostic::at(
                    self.sources,
                    attr.value_span,
                    format!("`{name}` is a percentage"),
                )
                .expected(format!("a number from {lowest} to 100, found {value}")),
            );
        }
        None
    }

    /// A zone value, mapped to the override region's zone at the same position during a drill.
    pub(super) fn zone(&self, block: &BlockDef, name: &str) -> Option<String> {
        let zone = self.string(block, name)?;
        let zone = self.zone_map.get(&zone).cloned().unwrap_or(zone);
        if self.region.zones.contains(&zone) {
            return Some(zone);
        }
        let attr = block.attribute(name)?;
        self.problem(
            Diagnostic::at(
                self.sources,
                attr.value_span,
                format!(
                    "zone `{zone}` is not a zone of region `{}`",
                    self.region.name
                ),
            )
            .expected(format!("one of {:?}", self.region.zones))
            .hint("use `region.zones[0]` to pick a zone of whichever region the block is in"),
        );
        None
    }
}

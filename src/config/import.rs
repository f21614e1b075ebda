//! `import { to = ADDRESS  id = "..." }` blocks: the configuration saying that an object that
//! exists already (made by hand or by another tool) is the one a block declares, so the plan
//! imports it instead of creating a new one. With `for_each` over a map of ids, one block
//! imports many: `to = network.legacy[each.key]`, `id = each.value`. A block with several
//! instances per region (a network's subnets, one per zone) or one outside the primary
//! region names the instance by its zone or region:
//! `to = network.legacy.subnet.public["us-east-1b"]`, `to = volume.data["us-west-2"]`, or
//! after a `for_each` key, `to = volume.data["logs"]["us-west-2"]`.
//!
//! Promise: `to` is checked here (a reference to a resource block, with a literal key or
//! `each.key`, and `each.key` exactly when there is a `for_each`); `id` and `for_each` are
//! expressions the expansion evaluates per environment ([`crate::graph`]), since the ids of
//! one stack's environments differ.

use super::diagnostics::{Diagnostic, Diagnostics};
use super::moved::{address_of, names_a_block};
use super::source::Sources;
use super::tree::BlockDef;
use crate::model::SourceLocation;
use hcl::expr::{Expression, TraversalOperator};

/// One `import` block.
#[derive(Debug, Clone)]
pub struct ImportBlock {
    /// The block path `to` names, without its `for_each` key (`network.legacy`).
    pub to: String,
    /// The `for_each` key `to` ends in, if any; a literal one may name a zone or region
    /// instead, for a block without `for_each` (see [`crate::graph`]'s import resolution).
    pub key: Option<ImportKey>,
    /// The zone or region a second index after the key names (`["logs"]["us-west-2"]`).
    pub placement: Option<String>,
    /// The block, whose `id` and `for_each` the expansion evaluates.
    pub block: BlockDef,
    pub source: SourceLocation,
}

/// The key part of an `import` block's `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportKey {
    /// `network.legacy["a"]`.
    Literal(String),
    /// `network.legacy[each.key]`: the key of each `for_each` entry.
    EachKey,
}

/// What an `import` block declares, or `None` after reporting what is wrong with it.
pub fn read_import(
    sources: &Sources,
    block: &BlockDef,
    diagnostics: &mut Diagnostics,
) -> Option<ImportBlock> {
    let attr = block.attribute("to")?;
    let parsed = split_key(&attr.expr).and_then(|(path, key, placement)| {
        let path = address_of(&path).filter(|path| {
            names_a_block(path) && !path.starts_with("module.") && !path.contains('[')
        })?;
        Some((path, key, placement))
    });
    let Some((to, key, placement)) = parsed else {
        diagnostics.push(
            Diagnostic::at(
                sources,
                attr.value_span,
                "`to` of an `import` block must name a resource block of the stack",
            )
            .expected(
                "a reference such as `network.legacy`, `volume.data[\"logs\"]`, `network.legacy.subnet.public[\"us-east-1b\"]` or, with `for_each`, `volume.data[each.key]`",
            ),
        );
        return None;
    };
    let has_for_each = block.attribute("for_each").is_some();
    if has_for_each != (key == Some(ImportKey::EachKey)) {
        let message = if has_for_each {
            "an `import` block with `for_each` imports one object per entry, so `to` must end in `[each.key]`"
        } else {
            "`each.key` in `to` needs a `for_each` on the `import` block"
        };
        diagnostics.push(Diagnostic::at(sources, attr.value_span, message));
        return None;
    }
    Some(ImportBlock {
        to,
        key,
        placement,
        block: block.clone(),
        source: sources.location(block.ident_span),
    })
}

/// `to` split into the reference without its indexes, the key of its first index (`None`
/// when it ends in an attribute name) and the placement a second, literal index names;
/// `None` for an index that is neither a string nor `each.key`, or more than two.
fn split_key(expression: &Expression) -> Option<(Expression, Option<ImportKey>, Option<String>)> {
    let Expression::Traversal(traversal) = expression else {
        return Some((expression.clone(), None, None));
    };
    let mut operators = traversal.operators.clone();
    let mut keys = Vec::new();
    while let Some(TraversalOperator::Index(index)) = operators.last() {
        let key = match index {
            Expression::String(key) => ImportKey::Literal(key.clone()),
            index if is_each_key(index) => ImportKey::EachKey,
            _ => return None,
        };
        keys.insert(0, key);
        operators.pop();
    }
    let (key, placement) = match keys.as_slice() {
        [] => (None, None),
        [key] => (Some(key.clone()), None),
        [key, ImportKey::Literal(placement)] => (Some(key.clone()), Some(placement.clone())),
        _ => return None,
    };
    let path = if operators.is_empty() {
        traversal.expr.clone()
    } else {
        Expression::Traversal(Box::new(hcl::expr::Traversal::new(
            traversal.expr.clone(),
            operators,
        )))
    };
    Some((path, key, placement))
}

/// Whether `expression` is `each.key`.
fn is_each_key(expression: &Expression) -> bool {
    let Expression::Traversal(traversal) = expression else {
        return false;
    };
    matches!(&traversal.expr, Expression::Variable(name) if name.as_str() == "each")
        && matches!(traversal.operators.as_slice(), [TraversalOperator::GetAttr(name)] if name.as_str() == "key")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Option<(String, Option<ImportKey>, Option<String>)> {
        let expression: Expression = text.parse().ok()?;
        let (path, key, placement) = split_key(&expression)?;
        Some((address_of(&path)?, key, placement))
    }

    #[test]
    fn keys_are_literal_strings_or_each_key() {
        assert_eq!(
            split("network.legacy"),
            Some(("network.legacy".into(), None, None))
        );
        assert_eq!(
            split("volume.data[\"logs\"]"),
            Some((
                "volume.data".into(),
                Some(ImportKey::Literal("logs".into())),
                None
            ))
        );
        assert_eq!(
            split("volume.data[each.key]"),
            Some(("volume.data".into(), Some(ImportKey::EachKey), None))
        );
        assert_eq!(split("volume.data[each.value]"), None);
    }

    #[test]
    fn a_second_literal_index_names_the_placement() {
        assert_eq!(
            split("volume.data[each.key][\"us-west-2\"]"),
            Some((
                "volume.data".into(),
                Some(ImportKey::EachKey),
                Some("us-west-2".into())
            ))
        );
        assert_eq!(split("volume.data[\"a\"][each.key]"), None);
        assert_eq!(split("volume.data[\"a\"][\"b\"][\"c\"]"), None);
    }
}

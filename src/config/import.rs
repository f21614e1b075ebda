//! `import { to = ADDRESS  id = "..." }` blocks: the configuration saying that an object that
//! exists already (made by hand or by another tool) is the one a block declares, so the plan
//! imports it instead of creating a new one. With `for_each` over a map of ids, one block
//! imports many: `to = network.legacy[each.key]`, `id = each.value`.
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
    /// The `for_each` key `to` ends in, if any.
    pub key: Option<ImportKey>,
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
    let parsed = split_key(&attr.expr).and_then(|(path, key)| {
        let path = address_of(&path).filter(|path| {
            names_a_block(path) && !path.starts_with("module.") && !path.contains('[')
        })?;
        Some((path, key))
    });
    let Some((to, key)) = parsed else {
        diagnostics.push(
            Diagnostic::at(
                sources,
                attr.value_span,
                "`to` of an `import` block must name a resource block of the stack",
            )
            .expected(
                "a reference such as `network.legacy`, `volume.data[\"logs\"]` or, with `for_each`, `volume.data[each.key]`",
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
        block: block.clone(),
        source: sources.location(block.ident_span),
    })
}

/// `to` split into the reference without its last index and that index as a key (`None` when
/// it ends in an attribute name); `None` for an index that is neither a string nor `each.key`.
fn split_key(expression: &Expression) -> Option<(Expression, Option<ImportKey>)> {
    let Expression::Traversal(traversal) = expression else {
        return Some((expression.clone(), None));
    };
    let mut operators = traversal.operators.clone();
    let key = match operators.last() {
        Some(TraversalOperator::Index(Expression::String(key))) => ImportKey::Literal(key.clone()),
        Some(TraversalOperator::Index(index)) if is_each_key(index) => ImportKey::EachKey,
        Some(TraversalOperator::Index(_)) => return None,
        _ => return Some((expression.clone(), None)),
    };
    operators.pop();
    let path = if operators.is_empty() {
        traversal.expr.clone()
    } else {
        Expression::Traversal(Box::new(hcl::expr::Traversal::new(
            traversal.expr.clone(),
            operators,
        )))
    };
    Some((path, Some(key)))
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

    fn split(text: &str) -> Option<(String, Option<ImportKey>)> {
        let expression: Expression = text.parse().ok()?;
        let (path, key) = split_key(&expression)?;
        Some((address_of(&path)?, key))
    }

    #[test]
    fn keys_are_literal_strings_or_each_key() {
        assert_eq!(
            split("network.legacy"),
            Some(("network.legacy".into(), None))
        );
        assert_eq!(
            split("volume.data[\"logs\"]"),
            Some((
                "volume.data".into(),
                Some(ImportKey::Literal("logs".into()))
            ))
        );
        assert_eq!(
            split("volume.data[each.key]"),
            Some(("volume.data".into(), Some(ImportKey::EachKey)))
        );
        assert_eq!(split("volume.data[each.value]"), None);
    }
}

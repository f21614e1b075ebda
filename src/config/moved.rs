//! `moved { from = ADDRESS  to = ADDRESS }` blocks: the configuration saying that what state
//! records at one address is now declared at another, so the plan moves it instead of
//! destroying and creating it.
//!
//! Promise: both ends are checked here, before any environment is chosen: each is a
//! reference to a resource block or a module (`network.main`, `firewall.web["admin"]`,
//! `module.web`, `module.web.autoscaling.app`), never a string or an expression, and the two
//! differ. What the move does is the plan's business ([`crate::model::resolve_moves`]).

use super::diagnostics::{Diagnostic, Diagnostics};
use super::schema::STACK_BLOCKS;
use super::source::Sources;
use super::tree::{Attr, BlockDef};
use crate::model::Moved;
use hcl::expr::{Expression, TraversalOperator};

/// The move a `moved` block declares, or `None` after reporting what is wrong with it.
pub fn read_moved(
    sources: &Sources,
    block: &BlockDef,
    diagnostics: &mut Diagnostics,
) -> Option<Moved> {
    let from = block_address(sources, block, block.attribute("from")?, diagnostics);
    let to = block_address(sources, block, block.attribute("to")?, diagnostics);
    let (from, to) = (from?, to?);
    if from == to {
        diagnostics.push(Diagnostic::at(
            sources,
            block.ident_span,
            format!("this `moved` block moves `{from}` onto itself"),
        ));
        return None;
    }
    Some(Moved {
        from,
        to,
        source: sources.location(block.ident_span),
    })
}

/// The address attribute `attr` of `block` (an end of a move, what a `removed` block
/// removes) names, checked.
pub(super) fn block_address(
    sources: &Sources,
    block: &BlockDef,
    attr: &Attr,
    diagnostics: &mut Diagnostics,
) -> Option<String> {
    let address = address_of(&attr.expr).filter(|address| names_a_block(address));
    if address.is_none() {
        diagnostics.push(
            Diagnostic::at(
                sources,
                attr.value_span,
                format!(
                    "`{}` of a `{}` block must name a resource or a module",
                    attr.name, block.ident
                ),
            )
            .expected(
                "a reference such as `network.main`, `firewall.web[\"admin\"]`, `module.web` or `module.web.autoscaling.app`",
            ),
        );
    }
    address
}

/// `network.main["key"]` as the address text Cairn writes for it, or `None` for anything but
/// a plain reference with attribute names and string keys.
pub(super) fn address_of(expression: &Expression) -> Option<String> {
    match expression {
        Expression::Variable(name) => Some(name.as_str().to_string()),
        Expression::Traversal(traversal) => {
            let mut text = address_of(&traversal.expr)?;
            for operator in &traversal.operators {
                match operator {
                    TraversalOperator::GetAttr(name) => {
                        text.push('.');
                        text.push_str(name.as_str());
                    }
                    TraversalOperator::Index(Expression::String(key)) => {
                        text.push_str(&format!("[\"{key}\"]"));
                    }
                    // A listener is named by its port: `load_balancer.web.listener.80`.
                    TraversalOperator::LegacyIndex(number) => {
                        text.push_str(&format!(".{number}"));
                    }
                    _ => return None,
                }
            }
            Some(text)
        }
        _ => None,
    }
}

/// Whether `address` starts with `module.NAME` or `TYPE.NAME` of a resource block.
pub(super) fn names_a_block(address: &str) -> bool {
    let mut parts = address.split(['.', '[']);
    let (Some(first), Some(second)) = (parts.next(), parts.next()) else {
        return false;
    };
    !second.is_empty()
        && (first == "module"
            || STACK_BLOCKS
                .iter()
                .any(|schema| schema.meta && schema.ident == first))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Option<String> {
        let expression: Expression = text.parse().ok()?;
        address_of(&expression).filter(|address| names_a_block(address))
    }

    #[test]
    fn references_become_addresses() {
        assert_eq!(parsed("network.main").as_deref(), Some("network.main"));
        assert_eq!(
            parsed("firewall.web[\"admin\"]").as_deref(),
            Some("firewall.web[\"admin\"]")
        );
        assert_eq!(
            parsed("module.web.autoscaling.app").as_deref(),
            Some("module.web.autoscaling.app")
        );
        assert_eq!(parsed("module.web").as_deref(), Some("module.web"));
        assert_eq!(
            parsed("load_balancer.web.listener.80").as_deref(),
            Some("load_balancer.web.listener.80")
        );
    }

    #[test]
    fn anything_else_is_refused() {
        assert_eq!(parsed("\"network.main\""), None);
        assert_eq!(parsed("var.name"), None);
        assert_eq!(parsed("network"), None);
        assert_eq!(parsed("network.main[0]"), None);
    }
}

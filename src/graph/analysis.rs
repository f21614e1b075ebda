//! Static analysis of one module body: which item (local, resource block, module call) refers
//! to which, checked against what is declared, and the order to evaluate them in.
//!
//! This runs once per module body, before any value is computed, so an undeclared name or a
//! cycle is reported with the exact reference in the source, whatever the environment.

use super::dag::Dag;
use super::resources::RESOURCE_TYPES;
use crate::config::diagnostics::{Diagnostic, Diagnostics, did_you_mean};
use crate::config::references::{Step, Traversal, traversals};
use crate::config::tree::{Attr, BlockDef};
use crate::config::{Config, Module, Span};
use std::fmt;

/// Roots every expression may read besides resource types.
const SCOPE_ROOTS: [&str; 6] = ["var", "local", "env", "region", "each", "module"];

/// One thing a module body evaluates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemKey {
    Local(String),
    /// `(block type, name)`
    Resource(String, String),
    Call(String),
}

impl fmt::Display for ItemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemKey::Local(name) => write!(f, "local.{name}"),
            ItemKey::Resource(block_type, name) => write!(f, "{block_type}.{name}"),
            ItemKey::Call(name) => write!(f, "module.{name}"),
        }
    }
}

/// Every attribute of a block that holds an expression, nested blocks included. `lifecycle`
/// is left out: its `ignore_changes` names attributes, it does not refer to anything.
pub fn block_attributes(block: &BlockDef) -> Vec<&Attr> {
    let mut found: Vec<&Attr> = block.attributes.values().collect();
    for nested in &block.blocks {
        match nested.ident.as_str() {
            "lifecycle" => {}
            // A rollout's `abort_on` names alarms that usually watch the group itself: it
            // orders nothing (the rollout runs once every resource of the apply exists), so
            // it is checked by `gate_attributes` and never evaluated.
            "rollout" => found.extend(
                nested
                    .attributes
                    .values()
                    .filter(|attr| attr.name != "abort_on"),
            ),
            _ => found.extend(block_attributes(nested)),
        }
    }
    found
}

/// Attributes whose references must name declared blocks but order nothing: a rollout's
/// `abort_on`.
fn gate_attributes(block: &BlockDef) -> Vec<&Attr> {
    block
        .blocks_named("rollout")
        .filter_map(|rollout| rollout.attribute("abort_on"))
        .collect()
}

/// The order to evaluate a module body's items in: every item after what it refers to.
///
/// # Errors
///
/// Undeclared variables, locals, blocks and modules, `each` outside `for_each`, and cycles,
/// all of them.
pub fn evaluation_order(config: &Config, module: &Module) -> Result<Vec<ItemKey>, Diagnostics> {
    let sources = &config.sources;
    let mut diagnostics = Diagnostics::new();
    let mut dag: Dag<ItemKey, Span> = Dag::new();

    let mut items: Vec<(ItemKey, Vec<&Attr>, bool)> = Vec::new();
    for (name, attr) in &module.locals {
        items.push((ItemKey::Local(name.clone()), vec![attr], false));
    }
    for block in &module.resources {
        let key = ItemKey::Resource(block.ident.clone(), block.name().to_string());
        items.push((
            key,
            block_attributes(block),
            block.attributes.contains_key("for_each"),
        ));
    }
    for call in &module.calls {
        items.push((
            ItemKey::Call(call.name.clone()),
            call.block.attributes.values().collect(),
            false,
        ));
    }

    for (key, attrs, has_for_each) in &items {
        dag.add_node(key.clone());
        for attr in attrs {
            for traversal in traversals(attr.file, &attr.edit) {
                match check_traversal(config, module, &traversal, *has_for_each) {
                    Ok(Some(target)) => {
                        if &target == key {
                            diagnostics.push(Diagnostic::at(
                                sources,
                                traversal.span_through(1),
                                format!("`{key}` refers to itself"),
                            ));
                        } else {
                            dag.add_edge(key, &target, traversal.span_through(1));
                        }
                    }
                    Ok(None) => {}
                    Err(diagnostic) => diagnostics.push(diagnostic),
                }
            }
        }
    }
    for block in &module.resources {
        for attr in gate_attributes(block) {
            for traversal in traversals(attr.file, &attr.edit) {
                if let Err(diagnostic) = check_traversal(config, module, &traversal, false) {
                    diagnostics.push(diagnostic);
                }
            }
        }
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    dag.topological_order().map_err(|cycle| {
        let Some((_, _, first)) = cycle.edges.first() else {
            return Diagnostic::internal(
                "a dependency cycle was found but its path could not be traced",
            )
            .into();
        };
        let first = *first;
        let mut diagnostic = Diagnostic::at(
            sources,
            first,
            format!("dependency cycle: {}", cycle.path()),
        );
        for (from, to, span) in &cycle.edges {
            diagnostic = diagnostic.note(format!(
                "`{from}` refers to `{to}` at {}",
                sources.location(*span)
            ));
        }
        diagnostic
            .hint("break the cycle: one of these references must go")
            .into()
    })
}

/// What a traversal refers to among the module's items, or `None` for names that are not
/// items (`var`, `env`, `region`, `each`).
fn check_traversal(
    config: &Config,
    module: &Module,
    traversal: &Traversal,
    has_for_each: bool,
) -> Result<Option<ItemKey>, Diagnostic> {
    let sources = &config.sources;
    let root = traversal.root.as_str();
    let name = traversal.attr(0);
    let undeclared = |what: String, candidates: Vec<&str>, name: &str| {
        let mut diagnostic = Diagnostic::at(sources, traversal.span_through(1), what);
        if let Some(candidate) = crate::config::diagnostics::closest(name, candidates) {
            diagnostic = diagnostic.hint(format!("did you mean `{root}.{candidate}`?"));
        }
        diagnostic
    };
    match root {
        "var" => match name {
            Some(name) if !module.variables.contains_key(name) => Err(undeclared(
                format!("undefined variable `var.{name}`"),
                module.variables.keys().map(String::as_str).collect(),
                name,
            )
            .expected("a variable declared with `variable \"NAME\" { ... }`")),
            _ => Ok(None),
        },
        "local" => match name {
            Some(name) if !module.locals.contains_key(name) => Err(undeclared(
                format!("undefined local `local.{name}`"),
                module.locals.keys().map(String::as_str).collect(),
                name,
            )),
            Some(name) => Ok(Some(ItemKey::Local(name.to_string()))),
            None => Ok(None),
        },
        "each" if !has_for_each => Err(Diagnostic::at(
            sources,
            traversal.span_through(0),
            "`each` is only available in a block with `for_each`",
        )),
        "env" | "region" | "each" => Ok(None),
        "module" => match name {
            Some(name) => {
                let Some(call) = module.calls.iter().find(|call| call.name == name) else {
                    return Err(undeclared(
                        format!("reference to undeclared module `module.{name}`"),
                        module.calls.iter().map(|call| call.name.as_str()).collect(),
                        name,
                    ));
                };
                if let (Some(output), Some(called)) =
                    (traversal.attr(1), config.modules.get(&call.module_dir))
                    && !called.outputs.contains_key(output)
                {
                    let mut diagnostic = Diagnostic::at(
                        sources,
                        traversal.span_through(2),
                        format!("module `{name}` has no output `{output}`"),
                    );
                    if let Some(hint) =
                        did_you_mean(output, called.outputs.keys().map(String::as_str))
                    {
                        diagnostic = diagnostic.hint(hint);
                    }
                    return Err(diagnostic);
                }
                Ok(Some(ItemKey::Call(name.to_string())))
            }
            None => Ok(None),
        },
        block_type if RESOURCE_TYPES.contains(&block_type) => match name {
            Some(name) => {
                if module.resource(block_type, name).is_some() {
                    Ok(Some(ItemKey::Resource(
                        block_type.to_string(),
                        name.to_string(),
                    )))
                } else {
                    let candidates: Vec<&str> = module
                        .resources
                        .iter()
                        .filter(|block| block.ident == block_type)
                        .map(BlockDef::name)
                        .collect();
                    Err(undeclared(
                        format!("reference to undeclared block `{block_type}.{name}`"),
                        candidates,
                        name,
                    )
                    .expected(format!(
                        "a `{block_type} \"{name}\" {{ ... }}` block in this module"
                    )))
                }
            }
            None => match traversal.steps.first() {
                Some(Step::Key(_) | Step::Dynamic) | None => Err(Diagnostic::at(
                    sources,
                    traversal.span_through(0),
                    format!(
                        "`{block_type}` must be followed by a block name, as in `{block_type}.NAME`"
                    ),
                )),
                Some(Step::Attr(_)) => Ok(None),
            },
        },
        other => {
            let candidates: Vec<&str> = SCOPE_ROOTS
                .iter()
                .chain(RESOURCE_TYPES.iter())
                .copied()
                .collect();
            let mut diagnostic = Diagnostic::at(
                sources,
                traversal.span_through(0),
                format!("unknown name `{other}`"),
            )
            .expected(format!(
                "one of {}",
                crate::config::schema::list(&candidates)
            ));
            if let Some(hint) = did_you_mean(other, candidates.iter().copied()) {
                diagnostic = diagnostic.hint(hint);
            }
            Err(diagnostic)
        }
    }
}

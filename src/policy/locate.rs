//! From a resource address back to the source: the block (or attribute, or nested block) that
//! made it, in whichever module, and the module calls that lead there.
//!
//! Addresses are the expansion's (`module.web.firewall.app["k"][us-east-1]`), so the block is
//! found by walking the module calls named in front and looking the block up in that module;
//! nothing is re-evaluated.

use super::finding::{CallSite, Finding, Located};
use crate::config::diagnostics::Diagnostic;
use crate::config::source::Span;
use crate::config::tree::BlockDef;
use crate::config::{Config, Module, ModuleCall};
use crate::model::{Address, SourceLocation};

/// Which part of a block a finding points at.
#[derive(Debug, Clone, Copy)]
pub enum Part<'a> {
    /// The block's labels (`firewall "web"`).
    Block,
    /// An attribute's key, or the block when the attribute is not written.
    Attribute(&'a str),
    /// The n-th nested block of a type (`volume`, `ingress`), or the block.
    Nested(&'a str, usize),
}

/// The block an address came from, with the module calls leading to it.
pub struct Origin<'c> {
    pub block: &'c BlockDef,
    /// The top-level block (the resource block itself, when `block` is a nested one such as a
    /// subnet): comment suppressions sit above it.
    pub top: &'c BlockDef,
    pub calls: Vec<&'c ModuleCall>,
}

/// Finds the source of addresses in one loaded configuration.
pub struct Locator<'c> {
    pub config: &'c Config,
}

impl<'c> Locator<'c> {
    pub fn new(config: &'c Config) -> Locator<'c> {
        Locator { config }
    }

    /// The block `address` was expanded from, if the configuration has it.
    pub fn origin(&self, address: &Address) -> Option<Origin<'c>> {
        let tokens = split_path(address.block_path());
        let mut module: &'c Module = &self.config.root;
        let mut calls = Vec::new();
        let mut position = 0;
        while tokens.get(position).map(|token| token.0) == Some("module") {
            let name = tokens.get(position + 1)?.0;
            let call = module.calls.iter().find(|call| call.name == name)?;
            module = self.config.modules.get(&call.module_dir)?;
            calls.push(call);
            position += 2;
        }
        let block_type = tokens.get(position)?.0;
        let name = tokens.get(position + 1)?.0;
        let top = module.resource(block_type, name)?;
        let mut block = top;
        // Sub-resources name the nested block they came from: `network.main.subnet.public`.
        for pair in tokens[position + 2..].chunks(2) {
            if let [(ident, _), (label, _)] = pair {
                match block
                    .blocks
                    .iter()
                    .find(|nested| nested.ident == *ident && nested.name() == *label)
                {
                    Some(nested) => block = nested,
                    None => break,
                }
            }
        }
        Some(Origin { block, top, calls })
    }

    /// Points `finding` at `part` of the block `address` came from, with its call sites and
    /// the blocks whose comments may suppress it.
    pub fn place(&self, mut finding: Finding, address: &Address, part: Part<'_>) -> Finding {
        let Some(origin) = self.origin(address) else {
            return finding;
        };
        let span = span_of(origin.block, part);
        finding.location = Some(self.located(span));
        finding.call_sites = self.call_sites(&origin.calls);
        finding.anchors.push(origin.top.span);
        finding
            .anchors
            .extend(origin.calls.iter().map(|call| call.block.span));
        finding
    }

    /// Points `finding` at `span` of a block that is not a resource (a variable, an output).
    pub fn place_span(&self, mut finding: Finding, span: Span, anchor: Span) -> Finding {
        finding.location = Some(self.located(span));
        finding.anchors.push(anchor);
        finding
    }

    /// Points `finding` at a location known only by file, line and column (an environment).
    pub fn place_location(&self, mut finding: Finding, location: &SourceLocation) -> Finding {
        let Some(file) = self.config.sources.find(&location.file) else {
            return finding;
        };
        let line_text = file.line_text(location.line).to_string();
        let width = line_text
            .chars()
            .skip(location.column.saturating_sub(1))
            .take_while(|character| !character.is_whitespace() && *character != '{')
            .count()
            .max(1);
        finding.location = Some(Located {
            location: location.clone(),
            line_text,
            lead: location.column.saturating_sub(1),
            width,
        });
        finding
    }

    /// The snippet of `span`, as configuration errors show it.
    pub fn located(&self, span: Span) -> Located {
        match Diagnostic::at(&self.config.sources, span, String::new()).snippet {
            Some(snippet) => Located::from(*snippet),
            None => Located {
                location: self.config.sources.location(span),
                line_text: String::new(),
                lead: 0,
                width: 1,
            },
        }
    }

    fn call_sites(&self, calls: &[&ModuleCall]) -> Vec<CallSite> {
        calls
            .iter()
            .map(|call| CallSite {
                call: call.block.display(),
                location: self.config.sources.location(call.block.label_span),
            })
            .collect()
    }
}

/// Where `part` of `block` is written, falling back to the block's labels.
pub fn span_of(block: &BlockDef, part: Part<'_>) -> Span {
    match part {
        Part::Block => block.label_span,
        Part::Attribute(name) => block
            .attribute(name)
            .map_or(block.label_span, |attr| attr.key_span),
        Part::Nested(ident, index) => block
            .blocks_named(ident)
            .nth(index)
            .map_or(block.label_span, |nested| nested.ident_span),
    }
}

/// `module.web.firewall.app["k"].subnet.public` → `module`, `web`, `firewall`, `app`, `subnet`,
/// `public`, each with its `["key"]` suffix (if any) kept apart. Keys may hold dots.
fn split_path(path: &str) -> Vec<(&str, &str)> {
    let mut tokens = Vec::new();
    let mut start = 0;
    let mut depth = 0usize;
    let mut in_string = false;
    let bytes = path.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'"' if depth > 0 => in_string = !in_string,
            b'\\' if in_string => index += 1,
            b'[' if !in_string => depth += 1,
            b']' if !in_string => depth = depth.saturating_sub(1),
            b'.' if depth == 0 && !in_string => {
                tokens.push(split_key(&path[start..index]));
                start = index + 1;
            }
            _ => {}
        }
        index += 1;
    }
    if start < path.len() {
        tokens.push(split_key(&path[start..]));
    }
    tokens
}

fn split_key(token: &str) -> (&str, &str) {
    match token.find('[') {
        Some(index) => (&token[..index], &token[index..]),
        None => (token, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_names_with_keys_apart() {
        assert_eq!(
            split_path("module.web.firewall.app[\"a.b\"].subnet.public"),
            [
                ("module", ""),
                ("web", ""),
                ("firewall", ""),
                ("app", "[\"a.b\"]"),
                ("subnet", ""),
                ("public", ""),
            ]
        );
    }
}

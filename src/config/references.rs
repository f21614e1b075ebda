//! Static reference analysis: every `root.attr[...]...` traversal in an expression, with its
//! span, found before anything is evaluated.
//!
//! The dependency graph, the checks for undeclared variables and blocks, and sensitivity
//! tracking all work from these traversals, so they can point at the exact reference in the
//! source even though hcl-rs evaluation keeps no positions.

use super::source::{FileId, Span};
use hcl_edit::Span as _;
use hcl_edit::expr::{Expression, TraversalOperator};
use hcl_edit::visit::{self, Visit};

/// One step after the root of a traversal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `.name`
    Attr(String),
    /// `["key"]` or `[0]` with a literal key.
    Key(String),
    /// An index computed at evaluation time, or a splat.
    Dynamic,
}

/// A traversal such as `network.main.subnet.public` or `var.image`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traversal {
    pub root: String,
    pub steps: Vec<Step>,
    /// The span of the root and of each step, in order (`spans.len() == steps.len() + 1`).
    pub spans: Vec<Span>,
}

impl Traversal {
    /// The span from the root through step `count` (0 = the root alone).
    pub fn span_through(&self, count: usize) -> Span {
        let first = self.spans[0];
        let last = self.spans[count.min(self.spans.len() - 1)];
        Span {
            file: first.file,
            start: first.start,
            end: last.end.max(first.end),
        }
    }

    /// The name after the root (`main` in `network.main`), if written as `.name`.
    pub fn attr(&self, index: usize) -> Option<&str> {
        match self.steps.get(index) {
            Some(Step::Attr(name)) => Some(name),
            _ => None,
        }
    }
}

/// Every traversal in `expression`, in source order. Names bound by `for` expressions are
/// not references and are left out.
pub fn traversals(file: FileId, expression: &Expression) -> Vec<Traversal> {
    let mut finder = Finder {
        file,
        found: Vec::new(),
        bound: Vec::new(),
        fallback: Span {
            file,
            start: 0,
            end: 0,
        },
    };
    finder.fallback = Span::from_range(file, expression.span(), finder.fallback);
    finder.visit_expr(expression);
    finder.found
}

struct Finder {
    file: FileId,
    found: Vec<Traversal>,
    /// Names bound by enclosing `for` expressions.
    bound: Vec<String>,
    fallback: Span,
}

impl Finder {
    fn span(&self, range: Option<std::ops::Range<usize>>) -> Span {
        Span::from_range(self.file, range, self.fallback)
    }

    fn record(
        &mut self,
        root: &str,
        root_span: Span,
        operators: &[&TraversalOperator],
        spans: Vec<Span>,
    ) {
        if self.bound.iter().any(|name| name == root) {
            return;
        }
        let mut steps = Vec::new();
        let mut all_spans = vec![root_span];
        for (operator, span) in operators.iter().zip(spans) {
            let step = match operator {
                TraversalOperator::GetAttr(name) => Step::Attr(name.as_str().to_string()),
                TraversalOperator::Index(Expression::String(key)) => {
                    Step::Key(key.as_str().to_string())
                }
                TraversalOperator::Index(Expression::Number(number)) => {
                    Step::Key(number.value().to_string())
                }
                TraversalOperator::LegacyIndex(index) => Step::Key(index.value().to_string()),
                _ => Step::Dynamic,
            };
            steps.push(step);
            all_spans.push(span);
        }
        self.found.push(Traversal {
            root: root.to_string(),
            steps,
            spans: all_spans,
        });
    }
}

impl Visit for Finder {
    fn visit_expr(&mut self, node: &Expression) {
        match node {
            Expression::Variable(variable) => {
                let span = self.span(variable.span());
                self.record(variable.as_str(), span, &[], Vec::new());
            }
            Expression::Traversal(traversal) => {
                if let Expression::Variable(variable) = &traversal.expr {
                    let root_span = self.span(variable.span());
                    let operators: Vec<&TraversalOperator> = traversal
                        .operators
                        .iter()
                        .map(|operator| operator.value())
                        .collect();
                    let spans = traversal
                        .operators
                        .iter()
                        .map(|operator| self.span(operator.span()))
                        .collect();
                    self.record(variable.as_str(), root_span, &operators, spans);
                } else {
                    self.visit_expr(&traversal.expr);
                }
                for operator in &traversal.operators {
                    if let TraversalOperator::Index(index) = operator.value() {
                        self.visit_expr(index);
                    }
                }
            }
            Expression::ForExpr(for_expr) => {
                self.visit_expr(&for_expr.intro.collection_expr);
                let before = self.bound.len();
                if let Some(key) = &for_expr.intro.key_var {
                    self.bound.push(key.as_str().to_string());
                }
                self.bound
                    .push(for_expr.intro.value_var.as_str().to_string());
                if let Some(key_expr) = &for_expr.key_expr {
                    self.visit_expr(key_expr);
                }
                self.visit_expr(&for_expr.value_expr);
                if let Some(condition) = &for_expr.cond {
                    self.visit_expr(&condition.expr);
                }
                self.bound.truncate(before);
            }
            other => visit::visit_expr(self, other),
        }
    }

    fn visit_object_key(&mut self, node: &hcl_edit::expr::ObjectKey) {
        // A bare identifier key (`{ tier = "data" }`) is a name, not a variable.
        if let hcl_edit::expr::ObjectKey::Expression(expression) = node {
            self.visit_expr(expression);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::Sources;

    fn find(text: &str) -> Vec<(String, Vec<Step>, String)> {
        let mut sources = Sources::default();
        let file = sources.add("x.hcl".into(), format!("a = {text}\n"));
        let Ok(body) = hcl_edit::parser::parse_body(&sources.file(file).text) else {
            panic!("test input parses");
        };
        let Some(attribute) = body.get_attribute("a") else {
            panic!("attribute a");
        };
        traversals(file, &attribute.value)
            .into_iter()
            .map(|traversal| {
                let text = sources
                    .text(traversal.span_through(traversal.steps.len()))
                    .to_string();
                (traversal.root, traversal.steps, text)
            })
            .collect()
    }

    #[test]
    fn finds_traversals_with_their_spans() {
        let found = find("format(\"%s\", network.main.subnet[\"a\"], var.x) ");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].0, "network");
        assert_eq!(
            found[0].1,
            [
                Step::Attr("main".into()),
                Step::Attr("subnet".into()),
                Step::Key("a".into())
            ]
        );
        assert_eq!(found[0].2, "network.main.subnet[\"a\"]");
        assert_eq!(found[1].2, "var.x");
    }

    #[test]
    fn skips_object_keys_and_for_bindings() {
        let found = find("{ tier = [for item in local.list : item.name] }");
        let roots: Vec<&str> = found.iter().map(|(root, _, _)| root.as_str()).collect();
        assert_eq!(roots, ["local"]);
    }

    #[test]
    fn finds_references_inside_templates() {
        let found = find("\"${var.prefix}-web\"");
        assert_eq!(found[0].2, "var.prefix");
    }
}

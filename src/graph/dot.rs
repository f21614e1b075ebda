//! DOT export of an expansion's dependency graph.

use super::Expansion;

/// The expansion's DAG in Graphviz DOT. Deterministic: nodes and edges sorted by address;
/// an edge points from the dependent to its dependency, for example
/// `"autoscaling.web[us-east-1]" -> "launch_template.web[us-east-1]"`.
pub fn to_dot(expansion: &Expansion) -> String {
    expansion.dag.to_dot(&format!(
        "{}-{}",
        expansion.stack, expansion.environment.name
    ))
}

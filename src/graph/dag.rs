//! A small generic directed acyclic graph over petgraph: nodes are ordered keys, edges carry a
//! label (for Cairn, where in the source the dependency was written). It knows nothing about
//! clouds or HCL (Terraform's `internal/dag`), and it is the one topological sort of the
//! engine: the graph of blocks, of resources and of a plan's steps are all ordered here.
//!
//! An edge `from → to` means "`from` depends on `to`": `to` must come first. Every iteration
//! order is by node key, so results never depend on insertion order.
//!
//! Nodes are found by hash, not by comparison: a graph of 10,000 resources is built from
//! addresses that share long prefixes (`autoscaling.a1234[eu-west-1]`), and ordered-map
//! lookups compared them a dozen times each (issue 14). Key order is restored wherever it is
//! observable (nodes, edges, neighbours, the topological order, the cycle reported).

use fnv::FnvHashMap;
use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::hash::Hash;

/// A dependency graph.
#[derive(Debug, Clone)]
pub struct Dag<N, E> {
    graph: DiGraph<N, E>,
    index: FnvHashMap<N, NodeIndex>,
}

impl<N: Ord + Hash + Clone, E: Clone> Default for Dag<N, E> {
    fn default() -> Self {
        Dag {
            graph: DiGraph::new(),
            index: FnvHashMap::default(),
        }
    }
}

/// A cycle: each node with the label of the edge leading to the next one; the last edge leads
/// back to the first node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle<N, E> {
    pub edges: Vec<(N, N, E)>,
}

impl<N, E> Cycle<N, E> {
    /// The nodes of the cycle in order, each once.
    pub fn nodes(&self) -> impl Iterator<Item = &N> {
        self.edges.iter().map(|(from, _, _)| from)
    }
}

impl<N: Display, E> Cycle<N, E> {
    /// `a -> b -> c -> a`: the cycle as a path back to its first node.
    pub fn path(&self) -> String {
        let names: Vec<String> = self
            .nodes()
            .chain(self.nodes().take(1))
            .map(ToString::to_string)
            .collect();
        names.join(" -> ")
    }
}

impl<N: Ord + Hash + Clone, E: Clone> Dag<N, E> {
    pub fn new() -> Self {
        Dag::default()
    }

    /// Adds a node (once; adding it again does nothing).
    pub fn add_node(&mut self, node: N) {
        if let Entry::Vacant(vacant) = self.index.entry(node) {
            let index = self.graph.add_node(vacant.key().clone());
            vacant.insert(index);
        }
    }

    /// Adds `from → to` ("`from` depends on `to`"), adding missing nodes. The first label
    /// given for a pair is kept. Nodes are borrowed: a node already in the graph (every
    /// dependency of a resource, say) is not copied again.
    pub fn add_edge(&mut self, from: &N, to: &N, label: E) {
        let (from, to) = (self.node_index(from), self.node_index(to));
        if self.graph.find_edge(from, to).is_none() {
            self.graph.add_edge(from, to, label);
        }
    }

    /// The index of `node`, added if missing.
    fn node_index(&mut self, node: &N) -> NodeIndex {
        if let Some(&index) = self.index.get(node) {
            return index;
        }
        let index = self.graph.add_node(node.clone());
        self.index.insert(node.clone(), index);
        index
    }

    pub fn contains(&self, node: &N) -> bool {
        self.index.contains_key(node)
    }

    pub fn node_count(&self) -> usize {
        self.index.len()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Every node, in key order.
    pub fn nodes(&self) -> impl Iterator<Item = &N> {
        let mut nodes: Vec<&N> = self.index.keys().collect();
        nodes.sort_unstable();
        nodes.into_iter()
    }

    /// Every edge as `(from, to, label)`, sorted by `(from, to)`.
    pub fn edges(&self) -> Vec<(&N, &N, &E)> {
        let mut edges: Vec<(&N, &N, &E)> = self
            .graph
            .edge_indices()
            .filter_map(|edge| {
                let (from, to) = self.graph.edge_endpoints(edge)?;
                Some((&self.graph[from], &self.graph[to], &self.graph[edge]))
            })
            .collect();
        edges.sort_by(|left, right| (left.0, left.1).cmp(&(right.0, right.1)));
        edges
    }

    /// What `node` depends on, in key order.
    pub fn dependencies(&self, node: &N) -> Vec<&N> {
        self.neighbours(node, Direction::Outgoing)
    }

    /// What depends on `node`, in key order.
    pub fn dependents(&self, node: &N) -> Vec<&N> {
        self.neighbours(node, Direction::Incoming)
    }

    fn neighbours(&self, node: &N, direction: Direction) -> Vec<&N> {
        let Some(&index) = self.index.get(node) else {
            return Vec::new();
        };
        let mut found: Vec<&N> = self
            .graph
            .neighbors_directed(index, direction)
            .map(|neighbour| &self.graph[neighbour])
            .collect();
        found.sort();
        found.dedup();
        found
    }

    /// Nodes with dependencies before their dependents; among nodes that are ready at the same
    /// time, the smallest key first (Kahn's algorithm over an ordered ready set).
    ///
    /// # Errors
    ///
    /// A cycle, when there is one.
    pub fn topological_order(&self) -> Result<Vec<N>, Cycle<N, E>> {
        // Nodes are never removed, so node indices run from 0; and `add_edge` never adds a
        // pair twice, so counting edges counts distinct dependencies.
        let mut remaining: Vec<usize> = self
            .graph
            .node_indices()
            .map(|index| {
                self.graph
                    .neighbors_directed(index, Direction::Outgoing)
                    .count()
            })
            .collect();
        // Ordered by key; the index rides along so that no lookup by key is needed.
        let mut ready: BTreeSet<(&N, NodeIndex)> = self
            .graph
            .node_indices()
            .filter(|index| remaining[index.index()] == 0)
            .map(|index| (&self.graph[index], index))
            .collect();
        let mut order = Vec::with_capacity(self.index.len());
        while let Some((node, index)) = ready.pop_first() {
            order.push(node.clone());
            for dependent in self.graph.neighbors_directed(index, Direction::Incoming) {
                let count = &mut remaining[dependent.index()];
                *count -= 1;
                if *count == 0 {
                    ready.insert((&self.graph[dependent], dependent));
                }
            }
        }
        if order.len() == self.index.len() {
            return Ok(order);
        }
        let placed: BTreeSet<&N> = order.iter().collect();
        let cycle = self
            .index
            .keys()
            .filter(|node| !placed.contains(node))
            .min()
            .and_then(|start| self.find_cycle_from(start, &placed));
        Err(cycle.unwrap_or(Cycle { edges: Vec::new() }))
    }

    /// A cycle, if the graph has one (the one through the smallest key that lies on a cycle).
    pub fn find_cycle(&self) -> Option<Cycle<N, E>> {
        self.topological_order().err()
    }

    /// Walks dependencies from `start` (a node the topological sort could not place, so it
    /// is on or behind a cycle) until a node repeats; the repeated stretch is the cycle.
    fn find_cycle_from(&self, start: &N, placed: &BTreeSet<&N>) -> Option<Cycle<N, E>> {
        // Every node the sort could not place has a dependency it could not place either, so
        // following the smallest such dependency must eventually revisit a node.
        let mut path: Vec<N> = vec![start.clone()];
        let mut seen: BTreeMap<N, usize> = BTreeMap::from([(start.clone(), 0)]);
        loop {
            let current = path.last()?.clone();
            let next = self
                .dependencies(&current)
                .into_iter()
                .find(|candidate| !placed.contains(candidate))?
                .clone();
            if let Some(&position) = seen.get(&next) {
                let mut nodes: Vec<N> = path[position..].to_vec();
                nodes.push(next);
                let edges = nodes
                    .windows(2)
                    .filter_map(|pair| {
                        let from = self.index.get(&pair[0])?;
                        let to = self.index.get(&pair[1])?;
                        let edge = self.graph.find_edge(*from, *to)?;
                        Some((pair[0].clone(), pair[1].clone(), self.graph[edge].clone()))
                    })
                    .collect();
                return Some(Cycle { edges });
            }
            seen.insert(next.clone(), path.len());
            path.push(next);
        }
    }
}

impl<N: Ord + Hash + Clone + Display, E: Clone> Dag<N, E> {
    /// The graph in Graphviz DOT, nodes and edges sorted, edges from dependent to dependency.
    pub fn to_dot(&self, name: &str) -> String {
        let mut out = format!("digraph \"{}\" {{\n", escape(name));
        out.push_str("  rankdir = \"RL\";\n");
        out.push_str("  node [shape = \"box\"];\n");
        for node in self.nodes() {
            out.push_str(&format!("  \"{}\";\n", escape(&node.to_string())));
        }
        for (from, to, _) in self.edges() {
            out.push_str(&format!(
                "  \"{}\" -> \"{}\";\n",
                escape(&from.to_string()),
                escape(&to.to_string())
            ));
        }
        out.push_str("}\n");
        out
    }
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_dependencies_first_and_breaks_ties_by_key() {
        let mut dag: Dag<&str, u32> = Dag::new();
        dag.add_edge(&"c", &"a", 1);
        dag.add_edge(&"b", &"a", 2);
        dag.add_edge(&"d", &"c", 3);
        dag.add_node("e");
        assert_eq!(dag.topological_order(), Ok(vec!["a", "b", "c", "d", "e"]));
        // Found by hash, listed by key, whatever the order they were added in.
        let nodes: Vec<&&str> = dag.nodes().collect();
        assert_eq!(nodes, [&"a", &"b", &"c", &"d", &"e"]);
        assert_eq!(dag.dependents(&"a"), [&"b", &"c"]);
        assert_eq!(dag.dependencies(&"d"), [&"c"]);
    }

    #[test]
    fn reports_the_cycle_with_its_labels() {
        let mut dag: Dag<&str, &str> = Dag::new();
        dag.add_edge(&"x", &"a", "x→a");
        dag.add_edge(&"a", &"b", "a→b");
        dag.add_edge(&"b", &"c", "b→c");
        dag.add_edge(&"c", &"a", "c→a");
        let Err(cycle) = dag.topological_order() else {
            panic!("the graph has a cycle");
        };
        let labels: Vec<&str> = cycle.edges.iter().map(|(_, _, label)| *label).collect();
        assert_eq!(labels, ["a→b", "b→c", "c→a"]);
        assert_eq!(cycle.path(), "a -> b -> c -> a");
        assert_eq!(cycle.nodes().collect::<Vec<_>>(), [&"a", &"b", &"c"]);
    }

    #[test]
    fn dot_is_sorted_and_escaped() {
        let mut dag: Dag<String, ()> = Dag::new();
        let (from, to) = ("b[\"k\"]".to_string(), "a".to_string());
        dag.add_edge(&from, &to, ());
        dag.add_edge(&from, &to, ());
        assert_eq!(dag.edge_count(), 1);
        assert_eq!(
            dag.to_dot("g"),
            "digraph \"g\" {\n  rankdir = \"RL\";\n  node [shape = \"box\"];\n  \"a\";\n  \"b[\\\"k\\\"]\";\n  \"b[\\\"k\\\"]\" -> \"a\";\n}\n"
        );
    }
}

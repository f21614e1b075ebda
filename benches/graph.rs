//! Benchmark: a generated stack of 10,000 blocks, timed through parse (load), evaluate and
//! expand, graph build, and a first plan (every resource created, ordered into steps), with
//! the total. Prints numbers; asserts nothing about speed.

// A benchmark prints its figures for whoever runs it; the CLI's closed-pipe printing
// (`cairn::cli::output`) is for the program, not for this.
#![allow(clippy::disallowed_macros)]

use cairn::config::{LoadOptions, load};
use cairn::graph::{ExpandOptions, expand, to_dot};
use cairn::plan::{Observed, PlanOptions, plan};
use cairn::state::StateDocument;
use std::collections::BTreeMap;
use std::time::Instant;

mod stack;

use stack::generate;

fn main() {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => {
            eprintln!("cannot create a temp dir: {error}");
            std::process::exit(1);
        }
    };
    let blocks = match generate(dir.path()) {
        Ok(blocks) => blocks,
        Err(error) => {
            eprintln!("cannot write the stack: {error}");
            std::process::exit(1);
        }
    };

    let start = Instant::now();
    let config = match load(dir.path(), &LoadOptions::default()) {
        Ok(config) => config,
        Err(diagnostics) => {
            eprintln!("{diagnostics}");
            std::process::exit(1);
        }
    };
    let parsed = start.elapsed();

    let expand_start = Instant::now();
    let expansion = match expand(&config, "load", &ExpandOptions::default()) {
        Ok(expansion) => expansion,
        Err(diagnostics) => {
            eprintln!("{diagnostics}");
            std::process::exit(1);
        }
    };
    let expanded = expand_start.elapsed();

    let graph_start = Instant::now();
    let order = expansion
        .dag
        .topological_order()
        .map(|order| order.len())
        .unwrap_or(0);
    let dot = to_dot(&expansion);
    let graphed = graph_start.elapsed();

    let plan_start = Instant::now();
    let state = StateDocument::new("bench", "load");
    let steps = match plan(
        &expansion.resources,
        &BTreeMap::new(),
        &state,
        Observed::not_refreshed(),
        &PlanOptions::default(),
    ) {
        Ok(planned) => planned.steps.len(),
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(1);
        }
    };
    let planned = plan_start.elapsed();
    let total = start.elapsed();

    println!(
        "graph benchmark: {blocks} blocks, {} resources, {} edges",
        expansion.resources.len(),
        expansion.dag.edge_count()
    );
    println!("  parse (load, schema, variables): {parsed:>10.2?}");
    println!("  evaluate + expand (incl. DAG):   {expanded:>10.2?}");
    println!(
        "  graph (topological order + DOT): {graphed:>10.2?}  ({order} nodes ordered, {} bytes of DOT)",
        dot.len()
    );
    println!("  plan (decide + order steps):     {planned:>10.2?}  ({steps} steps)");
    println!("  total:                           {total:>10.2?}");
}

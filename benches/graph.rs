//! Benchmark: a generated stack of 10,000 blocks, timed through parse (load), evaluate and
//! expand, graph build, and a first plan (every resource created, ordered into steps), with
//! the total. Prints numbers; asserts nothing about speed.

use cairn::config::{LoadOptions, load};
use cairn::graph::{ExpandOptions, expand, to_dot};
use cairn::plan::{Observed, PlanOptions, plan};
use cairn::state::StateDocument;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

const BLOCKS: usize = 10_000;

/// One network, then groups of firewall → launch template → autoscaling → volume, with each
/// firewall admitting the previous one so the graph has long chains as well as fan-in.
fn generate(dir: &std::path::Path) -> std::io::Result<usize> {
    let mut text = String::from(
        "stack \"bench\" {}\n\nenvironment \"load\" {\n  cloud = \"sim\"\n  region \"us-east-1\" {\n    zones = [\"us-east-1a\", \"us-east-1b\"]\n  }\n}\n\nnetwork \"main\" {\n  cidr = \"10.0.0.0/8\"\n  subnet \"public\" {\n    newbits = 8\n    public  = true\n  }\n}\n\n",
    );
    let mut blocks = 3;
    let mut group = 0;
    while blocks + 4 <= BLOCKS {
        let previous = if group == 0 {
            "\"10.0.0.0/8\"".to_string()
        } else {
            format!("firewall.f{}", group - 1)
        };
        let _ = write!(
            text,
            "firewall \"f{group}\" {{\n  network = network.main\n  ingress {{\n    protocol = \"tcp\"\n    ports    = {port}\n    from     = [{previous}]\n  }}\n}}\n\n\
launch_template \"t{group}\" {{\n  image         = \"ami-12c6146b\"\n  instance_type = \"t3.micro\"\n  firewalls     = [firewall.f{group}]\n}}\n\n\
autoscaling \"a{group}\" {{\n  template = launch_template.t{group}\n  subnets  = network.main.subnet.public\n  min      = 1\n  max      = 3\n}}\n\n\
volume \"v{group}\" {{\n  zone    = region.zones[{zone}]\n  size_gb = {size}\n}}\n\n",
            port = 1000 + group % 50_000,
            zone = group % 2,
            size = 10 + group % 100,
        );
        blocks += 4;
        group += 1;
        // Several files, as real stacks have.
        if group % 250 == 0 {
            std::fs::write(
                dir.join(format!("part{:03}.hcl", group / 250)),
                std::mem::take(&mut text),
            )?;
        }
    }
    text.push_str("output \"network_id\" {\n  value = network.main.id\n}\n");
    blocks += 1;
    std::fs::write(dir.join("rest.hcl"), text)?;
    Ok(blocks)
}

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
        &Observed::not_refreshed(),
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

//! How long a wide apply takes against the simulated cloud with 50 ms of latency per call,
//! next to the two lower bounds it is computed to have (not measured): graph depth × latency
//! (the critical path) and resources × latency / 10 (the default parallelism of 10). It
//! applies three times, each into a cloud of its own whatever `CAIRN_SIM_*` the shell holds:
//! without latency (the fixed overhead), at parallelism 10 and at parallelism 256. Prints
//! numbers; asserts nothing.
//!
//! Run with `cargo bench --no-default-features --bench apply`.

// A benchmark prints its figures for whoever runs it; the CLI's closed-pipe printing
// (`cairn::cli::output`) is for the program, not for this.
#![allow(clippy::disallowed_macros)]

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

const VOLUMES: usize = 200;
const LATENCY_MS: u64 = 50;
const PARALLELISM: u64 = 10;
/// Wider than the graph: only the dependency chain and refresh reads limit the apply.
const WIDE: u64 = 256;

/// 200 independent volumes beside a chain network → firewall → firewall → launch template →
/// autoscaling group → scaling policy (with subnets, gateway and route table on the side).
fn stack_text() -> String {
    let mut volumes = String::new();
    for index in 0..VOLUMES {
        let _ = write!(volumes, "\"v{index:03}\", ");
    }
    format!(
        r#"
stack "bench" {{
  backend "local" {{
    path = ".cairn"
  }}
}}

environment "bench" {{
  cloud = "sim"
  region "us-east-1" {{
    zones = ["us-east-1a", "us-east-1b"]
  }}
}}

network "main" {{
  cidr = "10.0.0.0/16"
  subnet "public" {{
    newbits = 8
    public  = true
  }}
}}

firewall "web" {{
  network = network.main
  ingress {{
    protocol = "tcp"
    ports    = 443
    from     = ["0.0.0.0/0"]
  }}
}}

firewall "app" {{
  network = network.main
  ingress {{
    protocol = "tcp"
    ports    = 8080
    from     = [firewall.web]
  }}
}}

launch_template "web" {{
  image         = "ami-12c6146b"
  instance_type = "t3.micro"
  firewalls     = [firewall.app]
}}

autoscaling "web" {{
  template = launch_template.web
  subnets  = network.main.subnet.public
  min      = 1
  max      = 2
  desired  = 1
  scaling "cpu" {{
    target_cpu = 70
  }}
}}

volume "disk" {{
  for_each  = toset([{volumes}])
  zone      = region.zones[0]
  size_gb   = 10
  encrypted = true
}}
"#
    )
}

/// The longest chain of dependencies, counted in resources, from the state's `dependencies`.
fn depth(resources: &serde_json::Map<String, Value>) -> usize {
    fn visit(
        address: &str,
        resources: &serde_json::Map<String, Value>,
        memo: &mut BTreeMap<String, usize>,
    ) -> usize {
        if let Some(depth) = memo.get(address) {
            return *depth;
        }
        let below = resources
            .get(address)
            .and_then(|resource| resource["dependencies"].as_array())
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|dependency| visit(dependency, resources, memo))
            .max()
            .unwrap_or(0);
        memo.insert(address.to_string(), below + 1);
        below + 1
    }
    let mut memo = BTreeMap::new();
    resources
        .keys()
        .map(|address| visit(address, resources, &mut memo))
        .max()
        .unwrap_or(0)
}

/// Applies the stack in a fresh directory; returns the wall time and the recorded state.
fn run(
    latency_ms: u64,
    parallelism: u64,
) -> Result<(std::time::Duration, Value), Box<dyn std::error::Error>> {
    let directory = tempfile::tempdir()?;
    std::fs::write(directory.path().join("main.hcl"), stack_text())?;
    let start = Instant::now();
    let output = common::cairn()
        .current_dir(directory.path())
        .args(["apply", "-e", "bench", "--auto-approve", "."])
        .args(["--parallelism", &parallelism.to_string()])
        .env("CAIRN_SIM_LATENCY_MS", latency_ms.to_string())
        .output()?;
    let wall = start.elapsed();
    if !output.status.success() {
        return Err(format!("apply failed: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    let state: Value = serde_json::from_slice(&std::fs::read(
        directory.path().join(".cairn/state/bench.json"),
    )?)?;
    Ok((wall, state))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Without latency: what the engine, process start and the sim's file writes cost alone.
    let (baseline, _) = run(0, WIDE)?;
    let (narrow, _) = run(LATENCY_MS, PARALLELISM)?;
    let (wide, state) = run(LATENCY_MS, WIDE)?;

    let resources = state["resources"]
        .as_object()
        .ok_or("state has no resources")?;
    let depth = depth(resources);
    let count = resources.len() as u64;
    println!("resources:                              {count}");
    println!("graph depth:                            {depth}");
    println!("latency per call:                       {LATENCY_MS} ms");
    println!(
        "lower bound, computed: depth × latency:  {} ms",
        depth as u64 * LATENCY_MS
    );
    println!(
        "lower bound, computed: resources × latency / {PARALLELISM}: {} ms",
        count * LATENCY_MS / PARALLELISM
    );
    println!(
        "measured: apply, no latency (overhead):  {} ms",
        baseline.as_millis()
    );
    println!(
        "measured: apply, parallelism {PARALLELISM}:        {} ms",
        narrow.as_millis()
    );
    println!(
        "measured: apply, parallelism {WIDE}:       {} ms",
        wide.as_millis()
    );
    Ok(())
}

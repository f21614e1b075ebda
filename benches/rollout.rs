//! How long a canary rollout of ten instances with three checkpoints (`[10, 50, 100]`: 1, 5
//! and 10 instances on the new version) takes on the simulated cloud with 20 ms of latency
//! per call and the wall clock, next to the sum of its bake times: the difference is the
//! engine's own overhead (launching, health polling, terminations, state saves). Prints
//! numbers; asserts nothing.
//!
//! Run with `cargo bench --no-default-features --bench rollout`.

// A benchmark prints its figures for whoever runs it; the CLI's closed-pipe printing
// (`cairn::cli::output`) is for the program, not for this.
#![allow(clippy::disallowed_macros)]

mod common;

use std::time::{Duration, Instant};

const LATENCY_MS: u64 = 20;
const BAKE_SECONDS: u64 = 3;
const CHECKPOINTS: u64 = 3;

fn stack_text() -> String {
    format!(
        r#"
stack "bench" {{}}

variable "image" {{
  type    = string
  default = "ami-12c6146b"
}}

environment "bench" {{
  cloud = "sim"
  region "us-east-1" {{
    zones = ["us-east-1a", "us-east-1b"]
  }}
}}

network "main" {{
  cidr = "10.0.0.0/16"
  subnet "app" {{
    newbits = 8
  }}
}}

launch_template "app" {{
  image         = var.image
  instance_type = "t3.small"
}}

autoscaling "app" {{
  template = launch_template.app
  subnets  = network.main.subnet.app
  min      = 10
  max      = 20
  rollout {{
    strategy    = "canary"
    checkpoints = [10, 50, 100]
    bake        = "{BAKE_SECONDS}s"
  }}
}}
"#
    )
}

/// Runs `cairn ARGS` in `directory` with the latency; returns its standard output.
fn cairn(directory: &std::path::Path, args: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let output = common::cairn()
        .current_dir(directory)
        .args(args)
        .env("CAIRN_SIM_LATENCY_MS", LATENCY_MS.to_string())
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "`cairn {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let directory = tempfile::tempdir()?;
    std::fs::write(directory.path().join("main.hcl"), stack_text())?;
    cairn(
        directory.path(),
        &["apply", "-e", "bench", "--auto-approve"],
    )?;
    let start = Instant::now();
    let printed = cairn(
        directory.path(),
        &[
            "apply",
            "-e",
            "bench",
            "--auto-approve",
            "--var",
            "image=ami-03cf127a",
        ],
    )?;
    let apply = start.elapsed();
    // The rollout's own time, as the apply reports it.
    let rollout = printed
        .lines()
        .find_map(|line| {
            let (_, after) = line.split_once("rollout complete after ")?;
            after.trim_end_matches('s').parse::<f64>().ok()
        })
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("no completed rollout in:\n{printed}"))?;
    let bakes = Duration::from_secs(BAKE_SECONDS * CHECKPOINTS);
    println!("instances:                          10");
    println!("checkpoints:                        [10, 50, 100] (1, 5, 10 new)");
    println!("latency per call:                   {LATENCY_MS} ms");
    println!(
        "sum of bake times:                  {} ms",
        bakes.as_millis()
    );
    println!(
        "measured: rollout:                  {} ms",
        rollout.as_millis()
    );
    println!(
        "measured: overhead (rollout - bakes): {} ms",
        rollout.saturating_sub(bakes).as_millis()
    );
    println!(
        "measured: whole apply (process):    {} ms",
        apply.as_millis()
    );
    Ok(())
}

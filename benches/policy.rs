//! Benchmark: `cairn check` on the generated stack of 10,000 blocks (over 10,000 resources),
//! in a production environment so that every rule runs, with thousands of findings to place
//! and merge. Prints the time of the whole check (load, expand, rules) and of the rules
//! alone; asserts nothing about speed (the goal is under a second).

// A benchmark prints its figures for whoever runs it; the CLI's closed-pipe printing
// (`cairn::cli::output`) is for the program, not for this.
#![allow(clippy::disallowed_macros)]

use cairn::config::{LoadOptions, load};
use cairn::graph::{ExpandOptions, expand};
use cairn::ops::{CheckRequest, check};
use std::time::Instant;

mod stack;

/// A production environment beside the generated one: production rules apply to it.
const PRODUCTION: &str = r#"environment "production" {
  cloud = "sim"
  region "us-east-1" {
    zones = ["us-east-1a", "us-east-1b"]
  }
  dr {
    region = "us-west-2"
    zones  = ["us-west-2a", "us-west-2b"]
  }
  protect = true
}
"#;

fn fail(what: &str, error: impl std::fmt::Display) -> ! {
    eprintln!("{what}: {error}");
    std::process::exit(1);
}

fn main() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| fail("cannot create a temp dir", error));
    let blocks =
        stack::generate(dir.path()).unwrap_or_else(|error| fail("cannot write the stack", error));
    std::fs::write(dir.path().join("production.hcl"), PRODUCTION)
        .unwrap_or_else(|error| fail("cannot write the environment", error));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|error| fail("cannot start a runtime", error));

    let request = CheckRequest {
        dir: dir.path().to_path_buf(),
        environments: vec!["production".to_string()],
        ..CheckRequest::default()
    };
    let start = Instant::now();
    let outcome = runtime
        .block_on(check(&request))
        .unwrap_or_else(|error| fail("check failed", error));
    let whole = start.elapsed();

    // The rules alone, on an expansion made beforehand.
    let config = load(dir.path(), &LoadOptions::default())
        .unwrap_or_else(|diagnostics| fail("load failed", diagnostics));
    let expansion = expand(&config, "production", &ExpandOptions::default())
        .unwrap_or_else(|diagnostics| fail("expand failed", diagnostics));
    let rules_start = Instant::now();
    let report = cairn::policy::check(&config, &expansion)
        .unwrap_or_else(|diagnostics| fail("policy failed", diagnostics));
    let rules = rules_start.elapsed();

    let addresses: usize = report
        .findings
        .iter()
        .map(|finding| finding.addresses.len())
        .sum();
    println!(
        "policy benchmark: {blocks} blocks, {} resources, {} findings over {addresses} instances",
        expansion.resources.len(),
        outcome.findings().count(),
    );
    println!("  cairn check -e production (load, expand, rules): {whole:>10.2?}");
    println!("  rules alone:                                     {rules:>10.2?}");
}

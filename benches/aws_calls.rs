//! How many API calls a no-op plan makes against AWS (moto).
//!
//! 1. A synthetic stack with N volumes and N firewalls (N = 2, then 20), applied through the
//!    CLI, then `cairn plan --json`: its `refresh_calls` must not grow with N, since refresh
//!    reads each (region, kind) in one batch.
//! 2. `examples/webapp`'s `aws` environment (two regions, every kind the example uses),
//!    applied through a counting proxy that sends the calls into a moto account of their own
//!    (so a listing holds the webapp's resources only), then a no-op plan: its reads printed
//!    per region and kind, by operation.
//!
//! Prints numbers; asserts nothing about time. Needs a moto server:
//! `eval "$(scripts/moto start)"`, then `cargo bench --bench aws_calls`.

// A benchmark prints its figures for whoever runs it; the CLI's closed-pipe printing
// (`cairn::cli::output`) is for the program, not for this.
#![allow(clippy::disallowed_macros)]

mod common;
// The AWS tests' helpers: the webapp copy, the counting proxy, the table of which kind's
// read each call is.
#[path = "../tests/moto/mod.rs"]
mod moto;

use serde_json::Value;
use std::path::Path;
use std::process::ExitCode;

const SIZES: [usize; 2] = [2, 20];

/// A stack of `size` volumes and `size` firewalls in one network.
fn stack(size: usize) -> String {
    let keys = |prefix: &str| {
        (0..size)
            .map(|index| format!("\"{prefix}{index}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        r#"stack "bench-{run}" {{
  backend "local" {{
    path = ".cairn"
  }}
}}

environment "aws" {{
  cloud = "aws"
  region "us-east-1" {{
    zones = ["us-east-1a"]
  }}
}}

network "main" {{
  cidr = "10.0.0.0/16"
}}

volume "data" {{
  for_each = [{volumes}]
  zone      = region.zones[0]
  size_gb   = 1
  encrypted = true
}}

firewall "edge" {{
  for_each = [{firewalls}]
  network  = network.main
  ingress {{
    protocol = "tcp"
    ports    = 443
    from     = ["0.0.0.0/0"]
  }}
}}
"#,
        run = &uuid::Uuid::new_v4().simple().to_string()[..10],
        volumes = keys("v"),
        firewalls = keys("f"),
    )
}

/// Runs the CLI on `dir` with the aws environment; stdout on success.
fn cairn(endpoint: &str, dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = common::cairn()
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(args)
        .args(["-e", "aws"])
        .arg(dir)
        .output()
        .map_err(|error| format!("cannot run cairn: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "cairn {args:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn measure(endpoint: &str, size: usize) -> Result<(Value, usize), String> {
    let directory = tempfile::tempdir().map_err(|error| error.to_string())?;
    fs_err::write(directory.path().join("main.hcl"), stack(size))
        .map_err(|error| error.to_string())?;
    cairn(endpoint, directory.path(), &["apply", "--auto-approve"])?;
    let plan: Value =
        serde_json::from_str(&cairn(endpoint, directory.path(), &["plan", "--json"])?)
            .map_err(|error| format!("plan --json printed no JSON: {error}"))?;
    let changes = plan["changes"].as_array().map_or(0, Vec::len);
    cairn(endpoint, directory.path(), &["destroy", "--auto-approve"])?;
    Ok((plan["refresh_calls"].clone(), changes))
}

/// The reads of a no-op plan of the webapp's `aws` environment, by (region, kind) and
/// operation, and the plan's own count of its refresh reads.
fn measure_webapp(endpoint: &str) -> Result<(moto::ReadCounts, Value), String> {
    let account = format!("9{:011}", fastrand::u64(..100_000_000_000));
    let proxy = moto::proxy::FaultProxy::counting_in_account(endpoint, &account);
    let webapp = moto::copy_webapp();
    cairn(&proxy.url, &webapp.dir, &["apply", "--auto-approve"])?;
    proxy.take_calls();
    let plan: Value = serde_json::from_str(&cairn(&proxy.url, &webapp.dir, &["plan", "--json"])?)
        .map_err(|error| format!("plan --json printed no JSON: {error}"))?;
    let calls = proxy.take_calls();
    if plan["changes"]
        .as_array()
        .is_some_and(|changes| !changes.is_empty())
    {
        return Err(format!("the webapp's second plan is not empty: {plan}"));
    }
    cairn(&proxy.url, &webapp.dir, &["destroy", "--auto-approve"])?;
    Ok((moto::count_reads(&calls), plan["refresh_calls"].clone()))
}

fn main() -> ExitCode {
    let Ok(endpoint) = std::env::var("CAIRN_TEST_AWS_ENDPOINT") else {
        eprintln!(
            "aws_calls: CAIRN_TEST_AWS_ENDPOINT is not set; this benchmark needs a moto server.\n\
             hint: eval \"$(scripts/moto start)\" && cargo bench --bench aws_calls"
        );
        return ExitCode::FAILURE;
    };
    println!("no-op plan against moto at {endpoint}");
    println!(
        "{:>10} {:>10} {:>12} {:>10}",
        "per kind", "resources", "reads", "mutations"
    );
    println!(
        "(resources is computed from the stack, 2 × per kind + 1; reads and mutations are \
         measured)"
    );
    for size in SIZES {
        match measure(&endpoint, size) {
            Ok((calls, changes)) => println!(
                "{size:>10} {:>10} {:>12} {:>10}{}",
                2 * size + 1,
                calls["reads"].as_u64().unwrap_or_default(),
                calls["mutations"].as_u64().unwrap_or_default(),
                if changes == 0 {
                    ""
                } else {
                    "  (plan not empty!)"
                }
            ),
            Err(error) => {
                eprintln!("aws_calls: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!();
    println!("no-op plan of examples/webapp -e aws, reads by region and kind (counted by a proxy)");
    let (counts, refresh_calls) = match measure_webapp(&endpoint) {
        Ok(measured) => measured,
        Err(error) => {
            eprintln!("aws_calls: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("{:<10} {:<18} {:>5}  operations", "region", "kind", "reads");
    let mut total = 0;
    for ((region, kind), operations) in &counts {
        let reads: usize = operations.values().sum();
        total += reads;
        let operations = operations
            .iter()
            .map(|(operation, count)| format!("{operation} {count}"))
            .collect::<Vec<_>>()
            .join(", ");
        println!("{region:<10} {kind:<18} {reads:>5}  {operations}");
    }
    println!(
        "{:<29} {total:>5}  (the plan counted {} refresh reads)",
        "total",
        refresh_calls["reads"].as_u64().unwrap_or_default()
    );
    ExitCode::SUCCESS
}

//! How Cairn's own costs grow with the size of a stack (issue 14), measured through the whole
//! `cairn` process as a user runs it: a generated two-region stack on the simulated cloud
//! (firewall chains, launch templates, groups with scaling policies, volumes) of about 1,000
//! and 10,000 resources (and 100,000 when asked), applied from nothing, then planned again
//! with nothing to change. For each size it prints the apply's wall time, the no-op plan's
//! wall time and peak memory (the child's maximum resident set, from `getrusage`), the reads
//! the no-op plan's refresh made (from the sim's call log), and the time of `cairn check`.
//! Prints numbers; asserts nothing.
//!
//! Run with `cargo bench --no-default-features --bench scale` (sizes 1000 and 10000), or name
//! the sizes: `cargo bench --no-default-features --bench scale -- 1000 100000`. To measure
//! another build of `cairn` (an older one, for a before/after table), name its binary in
//! `CAIRN_BENCH_BINARY`.

// A benchmark prints its figures for whoever runs it; the CLI's closed-pipe printing
// (`cairn::cli::output`) is for the program, not for this.
#![allow(clippy::disallowed_macros)]

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

/// Resources one group of blocks makes: security group, launch template, autoscaling group,
/// scaling policy and volume, in each of the two regions.
const RESOURCES_PER_GROUP: usize = 10;
/// Resources the shared network makes: a network, two subnets, a gateway and a route table
/// (and its associations) in each region.
const RESOURCES_OF_NETWORK: usize = 14;
/// The argument that makes this binary measure one command instead of running the benchmark.
const MEASURE: &str = "--measure-child";

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The stack of about `resources` resources: one network, then groups of firewall → launch
/// template → autoscaling (with a scaling policy) → volume, each firewall admitting the
/// previous one so the graph has long chains as well as fan-in; in 250-group files.
fn generate(dir: &Path, resources: usize) -> std::io::Result<()> {
    let groups = resources.saturating_sub(RESOURCES_OF_NETWORK) / RESOURCES_PER_GROUP;
    let mut text = String::from(
        r#"stack "scale" {
  backend "local" {
    path = ".cairn"
  }
}

environment "bench" {
  cloud = "sim"
  region "us-east-1" {
    zones = ["us-east-1a", "us-east-1b"]
  }
  region "us-west-2" {
    zones = ["us-west-2a", "us-west-2b"]
  }
}

network "main" {
  cidr = "10.0.0.0/16"
  subnet "public" {
    newbits = 4
    public  = true
  }
}

"#,
    );
    for group in 0..groups {
        let previous = if group == 0 {
            "\"10.0.0.0/16\"".to_string()
        } else {
            format!("firewall.f{}", group - 1)
        };
        let _ = write!(
            text,
            r#"firewall "f{group}" {{
  network = network.main
  ingress {{
    protocol = "tcp"
    ports    = {port}
    from     = [{previous}]
  }}
}}

launch_template "t{group}" {{
  image         = "ami-12c6146b"
  instance_type = "t3.micro"
  firewalls     = [firewall.f{group}]
}}

autoscaling "a{group}" {{
  template = launch_template.t{group}
  subnets  = network.main.subnet.public
  min      = 1
  max      = 3
  scaling "cpu" {{
    target_cpu = 70
  }}
}}

volume "v{group}" {{
  zone      = region.zones[{zone}]
  size_gb   = {size}
  encrypted = true
}}

"#,
            port = 1000 + group % 50_000,
            zone = group % 2,
            size = 10 + group % 100,
        );
        if (group + 1) % 250 == 0 {
            std::fs::write(
                dir.join(format!("part{:04}.hcl", group / 250)),
                std::mem::take(&mut text),
            )?;
        }
    }
    std::fs::write(dir.join("rest.hcl"), text)
}

/// What one measured run of `cairn` cost.
struct Run {
    wall: Duration,
    peak_kib: u64,
    status: ExitStatus,
    stderr: String,
}

/// The `cairn` measured: `$CAIRN_BENCH_BINARY`, else this build's.
fn cairn_binary() -> std::ffi::OsString {
    std::env::var_os("CAIRN_BENCH_BINARY").unwrap_or_else(|| env!("CARGO_BIN_EXE_cairn").into())
}

/// Runs `cairn args…` in `dir` through a fresh copy of this binary (see [`measure_child`]), so
/// the peak memory read is that one command's alone.
fn run(dir: &Path, args: &[&str]) -> BenchResult<Run> {
    let start = Instant::now();
    let output = Command::new(std::env::current_exe()?)
        .arg(MEASURE)
        .arg(cairn_binary())
        .args(args)
        .current_dir(dir)
        .output()?;
    let wall = start.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let peak_kib = stdout
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("peak_kib="))
        .ok_or_else(|| format!("the measuring child printed no peak: {stdout}"))?
        .trim()
        .parse()?;
    let code = stdout
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("code="))
        .and_then(|code| code.trim().parse::<i32>().ok());
    let status = child_status(code);
    Ok(Run {
        wall,
        peak_kib,
        status,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

#[cfg(unix)]
fn child_status(code: Option<i32>) -> ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    // An exit code in the wait status's second byte; a child killed by a signal is reported
    // as code 255 by the measuring process.
    ExitStatus::from_raw(code.unwrap_or(255) << 8)
}

/// The measuring process: runs the command given after [`MEASURE`] with its own cloud
/// settings removed, waits, and prints the exit code and the largest resident set of its
/// children, the command being the only one.
fn measure_child(command: &[String]) -> BenchResult<()> {
    let (program, args) = command.split_first().ok_or("nothing to measure")?;
    let mut child = Command::new(program);
    common::isolate(&mut child, std::env::vars_os().map(|(name, _)| name));
    let status = child
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .status()?;
    // SAFETY: getrusage writes into the zeroed struct it is given and reads nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    println!("code={}", status.code().unwrap_or(255));
    println!("peak_kib={}", usage.ru_maxrss);
    Ok(())
}

/// Reads the no-op plan's refresh made: the non-mutating calls the sim logged after `before`.
fn reads_since(log: &Path, before: usize) -> BenchResult<usize> {
    let text = std::fs::read_to_string(log)?;
    Ok(text
        .lines()
        .skip(before)
        .filter(|line| line.contains("\"mutating\":false"))
        .count())
}

fn line_count(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|text| text.lines().count())
        .unwrap_or(0)
}

fn checked(what: &str, run: Run, expected: i32) -> BenchResult<Run> {
    if run.status.code() == Some(expected) {
        Ok(run)
    } else {
        Err(format!("{what} exited {:?}: {}", run.status.code(), run.stderr).into())
    }
}

/// One row of the table.
fn measure(resources: usize) -> BenchResult<String> {
    let directory = tempfile::tempdir()?;
    let dir = directory.path();
    generate(dir, resources)?;
    let apply = checked(
        "apply",
        run(dir, &["apply", "-e", "bench", "--auto-approve", "."])?,
        0,
    )?;
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(".cairn/state/bench.json"))?)?;
    let count = state["resources"].as_object().map_or(0, |map| map.len());
    let log = dir.join(".cairn/sim/calls.jsonl");
    let before = line_count(&log);
    let plan = checked(
        "no-op plan",
        run(dir, &["plan", "-e", "bench", "--detailed-exitcode", "."])?,
        0,
    )?;
    let reads = reads_since(&log, before)?;
    let check = checked("check", run(dir, &["check", "-e", "bench", "."])?, 0)?;
    Ok(format!(
        "| {count:>9} | {:>10.2?} | {:>10.2?} | {:>7} MB | {reads:>6} | {:>10.2?} | {:>7} MB |",
        apply.wall,
        plan.wall,
        plan.peak_kib / 1024,
        check.wall,
        apply.peak_kib / 1024,
    ))
}

fn main() -> BenchResult<()> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    if arguments.first().map(String::as_str) == Some(MEASURE) {
        return measure_child(&arguments[1..]);
    }
    let mut sizes: Vec<usize> = arguments
        .iter()
        .filter_map(|argument| argument.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![1_000, 10_000];
    }
    println!(
        "| resources | apply      | no-op plan | plan peak | reads  | check      | apply peak |"
    );
    println!(
        "|-----------|------------|------------|-----------|--------|------------|------------|"
    );
    for size in sizes {
        println!("{}", measure(size)?);
    }
    Ok(())
}

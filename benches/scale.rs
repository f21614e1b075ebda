//! How Cairn's own costs grow with the size of a stack (issue 14), measured through the whole
//! `cairn` process as a user runs it: a generated two-region stack on the simulated cloud
//! (firewall chains, launch templates, groups with scaling policies, volumes) of about 1,000
//! and 10,000 resources (and 100,000 when asked), applied from nothing, then planned again
//! with nothing to change. For each size it prints the apply's wall time, the no-op plan's
//! wall time and peak memory (the child's maximum resident set, from `getrusage`), the reads
//! the no-op plan's refresh made (from the sim's call log), the time of `cairn check`, and
//! the time and peak memory of destroying the whole stack.
//! Prints numbers; asserts nothing.
//!
//! Run with `cargo bench --no-default-features --bench scale` (sizes 1000 and 10000), or name
//! the sizes: `cargo bench --no-default-features --bench scale -- 1000 100000`. Each size
//! below 50,000 resources is measured three times, each in a new directory (`runs=N` says how
//! often, for every size), a row per run; after the table, the median apply of each size and
//! how it grew against the resources, since a single sub-second apply varies by a third from
//! run to run on this machine. With `paced`
//! (`-- paced 1000`) it measures instead how an apply and a no-op plan fare under AWS's API
//! rate limits as the simulated cloud emulates them (see [`paced`]); `-- paced timeline 1000`
//! adds each mutating bucket's admitted calls second by second. To measure
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
/// The argument that measures the pacing figures instead (see [`paced`]).
const PACED: &str = "paced";
/// With [`PACED`]: also print each mutating bucket's admitted calls second by second.
const TIMELINE: &str = "timeline";

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The stack of about `resources` resources: one network, then groups of firewall → launch
/// template → autoscaling (with a scaling policy) → volume, each firewall admitting the
/// previous one so the graph has long chains as well as fan-in; in 250-group files.
///
/// Every group's instance lands in the first subnet of its region (a group of one instance
/// starts in its first zone), so the subnets are /18s (16,379 addresses each, inside the
/// network's /16, the largest AWS allows): the 10,000 instances per region of a 100,000
/// resource stack fit, where /20s stopped it at about 41,000 resources.
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
    newbits = 2
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

/// Sizes from this many resources are measured once unless `runs=N` says otherwise: a
/// 100,000-resource run takes minutes, and varies less.
const LARGE: usize = 50_000;
/// How often a smaller size is measured unless `runs=N` says otherwise.
const RUNS: usize = 3;

/// One measured run of a size: its row of the table, and what the summary needs of it.
struct Row {
    text: String,
    resources: usize,
    apply: Duration,
}

/// One row of the table.
fn measure(resources: usize) -> BenchResult<Row> {
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
    let destroy = checked(
        "destroy",
        run(dir, &["destroy", "-e", "bench", "--auto-approve", "."])?,
        0,
    )?;
    let text = format!(
        "| {count:>9} | {:>10.2?} | {:>10.2?} | {:>7} MB | {reads:>6} | {:>10.2?} | {:>7} MB | {:>10.2?} | {:>7} MB |",
        apply.wall,
        plan.wall,
        plan.peak_kib / 1024,
        check.wall,
        apply.peak_kib / 1024,
        destroy.wall,
        destroy.peak_kib / 1024,
    );
    Ok(Row {
        text,
        resources: count,
        apply: apply.wall,
    })
}

/// The lines after the table: each size's median apply over its runs, and from the second
/// size on, how many times the previous size's median it took against how many times the
/// resources.
fn summary(sizes: &[Vec<Row>]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut previous: Option<(usize, Duration)> = None;
    for runs in sizes {
        let Some(first) = runs.first() else {
            continue;
        };
        let mut applies: Vec<Duration> = runs.iter().map(|row| row.apply).collect();
        applies.sort();
        let median = applies[applies.len() / 2];
        let mut line = format!(
            "apply of {} resources: median {median:.2?} of {} run(s)",
            first.resources,
            runs.len()
        );
        if let Some((resources, apply)) = previous {
            let _ = write!(
                line,
                ", {:.1}x the median of {resources} for {:.1}x the resources",
                median.as_secs_f64() / apply.as_secs_f64(),
                first.resources as f64 / resources as f64
            );
        }
        lines.push(line);
        previous = Some((first.resources, median));
    }
    lines
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
    if arguments.iter().any(|argument| argument == PACED) {
        let timeline = arguments.iter().any(|argument| argument == TIMELINE);
        for size in if sizes.is_empty() { vec![1_000] } else { sizes } {
            println!("{}", paced::measure(size, timeline)?);
        }
        return Ok(());
    }
    if sizes.is_empty() {
        sizes = vec![1_000, 10_000];
    }
    let runs: Option<usize> = arguments
        .iter()
        .find_map(|argument| argument.strip_prefix("runs="))
        .map(str::parse)
        .transpose()?;
    println!(
        "| resources | apply      | no-op plan | plan peak | reads  | check      | apply peak | destroy    | destroy peak |"
    );
    println!(
        "|-----------|------------|------------|-----------|--------|------------|------------|------------|--------------|"
    );
    let mut measured = Vec::new();
    for size in sizes {
        let times = runs.unwrap_or(if size < LARGE { RUNS } else { 1 });
        let mut rows = Vec::new();
        for _ in 0..times {
            let row = measure(size)?;
            println!("{}", row.text);
            rows.push(row);
        }
        measured.push(rows);
    }
    println!();
    for line in summary(&measured) {
        println!("{line}");
    }
    Ok(())
}

/// The pacing figures (issue 14): the same stack applied and planned again with the simulated
/// cloud emulating AWS's API token buckets (`CAIRN_SIM_RATE_LIMITS=aws`) on its clock, which
/// is set, so the seconds the buckets make the client wait pass on that clock at once.
///
/// Printed: the throttling errors that reached the user (none expected) and the calls the
/// cloud throttled; for each mutating bucket, its calls against what the bucket allowed in the
/// apply's time on the cloud's clock (its burst plus its refill rate times that time), as a
/// percentage; and the bucket time of the no-op plan's refresh (its reads over the refill rate
/// of the bucket each drew on) against one read per resource, the Terraform model, computed
/// the same way on EC2's describe bucket.
mod paced {
    use super::{BenchResult, generate};
    use cairn::provider::rate_limits::{Bucket, Call};
    use cairn::provider::sim::{CallOutcome, CallRecord, SimCloud, read_call_log};
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    use std::path::Path;
    use std::time::Instant;

    fn cairn(dir: &Path, args: &[&str]) -> BenchResult<std::process::Output> {
        // `$CAIRN_BENCH_BINARY` too, for a before/after table of the pacer.
        let mut command = std::process::Command::new(super::cairn_binary());
        super::common::isolate(&mut command, std::env::vars_os().map(|(name, _)| name));
        let output = command
            .env("NO_COLOR", "1")
            .args(args)
            .current_dir(dir)
            .env("CAIRN_SIM_RATE_LIMITS", "aws")
            .output()?;
        if !output.status.success() && output.status.code() != Some(2) {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(format!("`cairn {}` failed: {stderr}", args.join(" ")).into());
        }
        Ok(output)
    }

    fn bucket_of(call: &CallRecord) -> Bucket {
        let create = call.operation == "RunInstances";
        Bucket::of(call.kind, Call::of(call.kind, call.mutating, create))
    }

    /// The lines of `output` that report throttling as an error: any but a retry notice.
    fn surfaced(output: &std::process::Output) -> usize {
        [&output.stdout, &output.stderr]
            .iter()
            .flat_map(|text| {
                String::from_utf8_lossy(text)
                    .lines()
                    .map(str::to_lowercase)
                    .collect::<Vec<_>>()
            })
            .filter(|line| line.contains("throttl") || line.contains("limitexceeded"))
            .filter(|line| !line.contains(": retrying (attempt"))
            .count()
    }

    /// Seconds on the cloud's clock.
    fn clock(cloud: &SimCloud) -> BenchResult<chrono::DateTime<chrono::Utc>> {
        Ok(cloud.clock()?.ok_or("the cloud's clock is not set")?)
    }

    /// Each mutating bucket's calls second by second on the cloud's clock from `started`: the
    /// admitted count of each second (a throttled call adds a `!`), twenty seconds a line, and
    /// when its first and last call came. Where a bucket falls behind its rate shows here.
    fn timeline(
        calls: &[CallRecord],
        started: chrono::DateTime<chrono::Utc>,
        seconds: f64,
    ) -> String {
        let mut rows: BTreeMap<(String, Bucket), Vec<(usize, usize)>> = BTreeMap::new();
        let width = seconds.ceil() as usize + 1;
        for call in calls.iter().filter(|call| call.mutating) {
            let bucket = bucket_of(call);
            let row = rows
                .entry((bucket.scope(&call.region).to_string(), bucket))
                .or_insert_with(|| vec![(0, 0); width]);
            let second = ((call.time - started).as_seconds_f64().max(0.0) as usize).min(width - 1);
            if call.outcome == CallOutcome::Throttled {
                row[second].1 += 1;
            } else {
                row[second].0 += 1;
            }
        }
        let mut text = String::new();
        for ((region, bucket), row) in &rows {
            let first = row.iter().position(|&(admitted, _)| admitted > 0);
            let last = row.iter().rposition(|&(admitted, _)| admitted > 0);
            let _ = writeln!(
                text,
                "{region} {bucket}: {} a second allowed; calls from second {} to {}",
                bucket.limit().per_second,
                first.unwrap_or(0),
                last.unwrap_or(0)
            );
            for (line, chunk) in row.chunks(20).enumerate() {
                let cells: Vec<String> = chunk
                    .iter()
                    .map(|&(admitted, throttled)| {
                        format!("{admitted:>3}{:<2}", "!".repeat(throttled.min(2)))
                    })
                    .collect();
                let _ = writeln!(text, "  {:>4}s {}", line * 20, cells.join(""));
            }
        }
        text
    }

    pub fn measure(resources: usize, show_timeline: bool) -> BenchResult<String> {
        let directory = tempfile::tempdir()?;
        let dir = directory.path();
        generate(dir, resources)?;
        cairn(dir, &["sim", "clock", "--set", "2030-01-01T00:00:00Z"])?;
        let cloud = SimCloud::open(&dir.join(".cairn/sim/cloud.json"))?;
        let log = dir.join(".cairn/sim/calls.jsonl");

        let started = clock(&cloud)?;
        let wall = Instant::now();
        let apply = cairn(dir, &["apply", "-e", "bench", "--auto-approve", "."])?;
        let wall = wall.elapsed();
        let seconds = (clock(&cloud)? - started).as_seconds_f64();
        let calls = read_call_log(&log)?;
        let throttled = calls
            .iter()
            .filter(|call| call.outcome == CallOutcome::Throttled)
            .count();
        let mut per_bucket: BTreeMap<(String, Bucket), usize> = BTreeMap::new();
        // The calls the cloud let through: a throttled one took no token.
        let admitted = calls
            .iter()
            .filter(|call| call.mutating && call.outcome != CallOutcome::Throttled);
        for call in admitted {
            let bucket = bucket_of(call);
            *per_bucket
                .entry((bucket.scope(&call.region).to_string(), bucket))
                .or_default() += 1;
        }
        let mut text = String::new();
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(".cairn/state/bench.json"))?)?;
        let count = state["resources"].as_object().map_or(0, |map| map.len());
        let _ = writeln!(
            text,
            "paced apply of {count} resources: {seconds:.1} s on the cloud's clock ({wall:.1?} wall), \
             {} throttling errors surfaced, {throttled} calls throttled by the cloud",
            surfaced(&apply)
        );
        let _ = writeln!(
            text,
            "| region    | bucket            | calls | bucket seconds | allowed | percent |"
        );
        for ((region, bucket), made) in &per_bucket {
            let limit = bucket.limit();
            let allowed = f64::from(limit.burst) + f64::from(limit.per_second) * seconds;
            let _ = writeln!(
                text,
                "| {region:<9} | {bucket:<17} | {made:>5} | {seconds:>14.1} | {allowed:>7.0} | {:>6.1}% |",
                100.0 * *made as f64 / allowed
            );
        }

        if show_timeline {
            text.push_str(&timeline(&calls, started, seconds));
        }

        let before = calls.len();
        let started = clock(&cloud)?;
        let plan = cairn(dir, &["plan", "-e", "bench", "--detailed-exitcode", "."])?;
        let waited = (clock(&cloud)? - started).as_seconds_f64();
        let calls = read_call_log(&log)?;
        let reads: Vec<&CallRecord> = calls[before..]
            .iter()
            .filter(|call| !call.mutating)
            .collect();
        let bucket_time: f64 = reads
            .iter()
            .map(|call| 1.0 / f64::from(bucket_of(call).limit().per_second))
            .sum();
        let describe = Bucket::Ec2Read.limit();
        let per_resource = count as f64 / f64::from(describe.per_second);
        let past_burst =
            count.saturating_sub(describe.burst as usize) as f64 / f64::from(describe.per_second);
        let _ = writeln!(
            text,
            "no-op refresh: {} reads, {bucket_time:.2} s of bucket time ({waited:.2} s waited on \
             the cloud's clock, {} throttling errors surfaced); one read per resource (Terraform \
             model, computed): {count} reads, {per_resource:.1} s of bucket time ({past_burst:.1} s \
             past a full bucket)",
            reads.len(),
            surfaced(&plan)
        );
        Ok(text)
    }
}

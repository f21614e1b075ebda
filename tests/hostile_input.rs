//! Bad input through the CLI ends in a clear error and exit code 1: never a panic (exit 101),
//! a stack overflow (killed by a signal), a hang or an unbounded allocation. Each case is one
//! a fuzzer or a careless file system produces (issue 9, "Fuzzing"); the fuzz targets in
//! `fuzz/` search for more, and what they found is pinned here by name.

use assert_cmd::Command;
use std::path::Path;

const ENVIRONMENT: &str = r#"stack "hostile" {}

environment "dev" {
  cloud = "sim"
  region "us-east-1" {
    zones = ["us-east-1a", "us-east-1b"]
  }
}
"#;

/// A stack directory holding `main.hcl` = the environment above plus `body`.
fn stack(body: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("no temporary directory: {error}"));
    write(
        dir.path(),
        "main.hcl",
        format!("{ENVIRONMENT}\n{body}").as_bytes(),
    );
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|error| panic!("mkdir {parent:?}: {error}"));
    }
    std::fs::write(&path, bytes).unwrap_or_else(|error| panic!("write {path:?}: {error}"));
}

/// Runs `cairn validate DIR`, checks it exits 1 with a message (not a panic), returns stderr.
fn validate_fails(dir: &Path) -> String {
    let output = Command::cargo_bin("cairn")
        .map(|mut command| command.arg("validate").arg(dir).output())
        .unwrap_or_else(|error| panic!("cannot find the cairn binary: {error}"))
        .unwrap_or_else(|error| panic!("cannot run cairn: {error}"));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(1),
        "validate must fail with exit code 1 (a signal shows as None, a panic as 101):\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("error"), "{stderr}");
    stderr
}

#[test]
fn deeply_nested_parentheses_lists_and_objects_are_a_nesting_error() {
    for (open, close) in [("(", ")"), ("[", "]"), ("{ a = ", " }"), ("upper(", ")")] {
        let depth = 50_000;
        let expression = format!("{}\"x\"{}", open.repeat(depth), close.repeat(depth));
        let dir = stack(&format!("locals {{\n  deep = {expression}\n}}\n"));
        let stderr = validate_fails(dir.path());
        assert!(stderr.contains("main.hcl:11:"), "{open}: {stderr}");
        assert!(stderr.contains("nest"), "{open}: {stderr}");
        assert!(stderr.len() < 2000, "the snippet is cut: {}", stderr.len());
    }
}

#[test]
fn deeply_nested_interpolations_and_blocks_are_a_nesting_error() {
    let depth = 20_000;
    let template = format!("{}x{}", "\"${".repeat(depth), "}\"".repeat(depth));
    let dir = stack(&format!("locals {{\n  deep = {template}\n}}\n"));
    validate_fails(dir.path());

    let blocks = format!("{}{}", "a {\n".repeat(depth), "}\n".repeat(depth));
    let dir = stack(&blocks);
    validate_fails(dir.path());
}

#[test]
fn a_long_chain_of_operators_is_an_error_not_a_stack_overflow() {
    let chain = vec!["1"; 100_000].join(" + ");
    let dir = stack(&format!("locals {{\n  sum = {chain}\n}}\n"));
    validate_fails(dir.path());
}

#[test]
fn very_long_strings_and_names_are_reported_without_trouble() {
    let long = "x".repeat(4 * 1024 * 1024);
    let dir = stack(&format!(
        "network \"{long}\" {{\n  cidr = \"10.0.0.0/16\"\n}}\n\nvolume \"data\" {{\n  zone    = \"{long}\"\n  size_gb = 10\n}}\n"
    ));
    let stderr = validate_fails(dir.path());
    assert!(
        stderr.contains("is not a zone of region `us-east-1`"),
        "{}",
        &stderr[..200.min(stderr.len())]
    );
}

#[test]
fn huge_numbers_are_range_errors_not_overflows() {
    let dir = stack(
        r#"network "main" {
  cidr = "10.0.0.0/16"
  subnet "a" {
    newbits = 99999999999999999999999
  }
  subnet "b" {
    newbits = 8
    offset  = 18446744073709551615
  }
}

locals {
  subnet = cidrsubnet("10.0.0.0/16", 1e300, 0)
}

volume "data" {
  zone    = "us-east-1a"
  size_gb = 1e300
}

firewall "web" {
  network = network.main
  ingress {
    protocol = "tcp"
    ports    = 99999999999999999999999
    from     = ["0.0.0.0/0"]
  }
}
"#,
    );
    let stderr = validate_fails(dir.path());
    assert!(stderr.contains("cidrsubnet"), "{stderr}");
}

#[test]
fn invalid_utf8_names_the_file_and_line() {
    let dir = stack("");
    write(
        dir.path(),
        "broken.hcl",
        b"network \"main\" {\n  cidr = \"\xff\xfe\"\n}\n",
    );
    let stderr = validate_fails(dir.path());
    assert!(stderr.contains("broken.hcl` is not UTF-8 text"), "{stderr}");
    assert!(stderr.contains("line 2"), "{stderr}");
}

#[test]
fn a_directory_named_like_a_configuration_file_is_an_error() {
    let dir = stack("");
    std::fs::create_dir(dir.path().join("x.hcl"))
        .unwrap_or_else(|error| panic!("mkdir x.hcl: {error}"));
    let stderr = validate_fails(dir.path());
    assert!(stderr.contains("x.hcl` is a directory"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_in_modules_is_a_cycle_error() {
    // `modules/loop` points back at the stack directory, whose `main.hcl` calls it again.
    let dir = stack("module \"again\" {\n  source = \"./modules/loop\"\n}\n");
    std::fs::create_dir(dir.path().join("modules"))
        .unwrap_or_else(|error| panic!("mkdir modules: {error}"));
    std::os::unix::fs::symlink("..", dir.path().join("modules/loop"))
        .unwrap_or_else(|error| panic!("symlink: {error}"));
    let stderr = validate_fails(dir.path());
    assert!(stderr.contains("calls itself"), "{stderr}");

    // A link to itself cannot be resolved at all.
    let dir = stack("module \"knot\" {\n  source = \"./knot\"\n}\n");
    std::os::unix::fs::symlink("knot", dir.path().join("knot"))
        .unwrap_or_else(|error| panic!("symlink: {error}"));
    let stderr = validate_fails(dir.path());
    assert!(stderr.contains("module `knot`: cannot load"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn file_refuses_devices_instead_of_reading_forever() {
    let dir = stack(
        "launch_template \"web\" {\n  image         = \"ami-12c6146b\"\n  instance_type = \"t3.small\"\n  user_data     = file(\"/dev/zero\")\n}\n",
    );
    let stderr = validate_fails(dir.path());
    assert!(stderr.contains("not a regular file"), "{stderr}");
}

/// Found by reasoning about what the fuzzer could reach: each local doubles the one before,
/// so 30 of them ask for 2^30 values; evaluation now stops at the value limit.
#[test]
fn locals_that_double_each_step_stop_at_the_value_limit() {
    let mut locals = String::from("locals {\n  l0 = [\"x\", \"y\"]\n  s0 = \"xy\"\n");
    for step in 1..=40 {
        let before = step - 1;
        locals.push_str(&format!(
            "  l{step} = [local.l{before}, local.l{before}]\n  s{step} = \"${{local.s{before}}}${{local.s{before}}}\"\n"
        ));
    }
    locals.push_str("}\n\noutput \"all\" {\n  value = [local.l40, local.s40]\n}\n");
    let dir = stack(&locals);
    let stderr = validate_fails(dir.path());
    assert!(stderr.contains("is too large: more than"), "{stderr}");
}

/// Each local nests the one before one level deeper: without a limit the depth grows with the
/// number of locals, and the code that converts and drops values recurses on it.
#[test]
fn locals_that_nest_one_level_per_step_stop_at_the_depth_limit() {
    let mut locals = String::from("locals {\n  l0 = \"x\"\n");
    for step in 1..=5000 {
        locals.push_str(&format!("  l{step} = [local.l{}]\n", step - 1));
    }
    locals.push_str("}\n\noutput \"deep\" {\n  value = local.l5000\n}\n");
    let dir = stack(&locals);
    let stderr = validate_fails(dir.path());
    assert!(
        stderr.contains("nested more than 128 levels deep"),
        "{stderr}"
    );
}

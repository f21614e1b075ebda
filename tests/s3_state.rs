//! Team state on S3 (moto), end to end through the CLI, checked from outside with boto3.
//!
//! Each test creates its own bucket and writes "checkouts" of the quickstart whose `stack`
//! block names that bucket: two checkouts are two engineers with the same stack. The stack
//! runs on the simulated cloud (the backend and the cloud are independent); both checkouts
//! share one simulated cloud file, as two engineers share one AWS account.
//!
//! Needs `CAIRN_TEST_AWS_ENDPOINT` (set by `scripts/test` / `scripts/moto start`); without it
//! the tests fail, they are never skipped.
#![cfg(feature = "aws")]

mod moto;

use moto::{aws_env, boto3, endpoint};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

/// Reads, writes and lists objects of the test's bucket; every script prints one JSON value.
const S3_SCRIPT: &str = r#"
import boto3, json, sys
s3 = boto3.client("s3")
action, bucket = sys.argv[1], sys.argv[2]
if action == "create":
    s3.create_bucket(Bucket=bucket)
    print(json.dumps(True))
elif action == "get":
    try:
        body = s3.get_object(Bucket=bucket, Key=sys.argv[3])["Body"].read()
        print(json.dumps(body.decode("utf-8")))
    except s3.exceptions.NoSuchKey:
        print(json.dumps(None))
elif action == "put":
    s3.put_object(Bucket=bucket, Key=sys.argv[3], Body=sys.argv[4].encode("utf-8"))
    print(json.dumps(True))
elif action == "all":
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            objects[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode("utf-8", "replace")
    print(json.dumps(objects))
"#;

/// The key prefix every checkout's backend uses.
const PREFIX: &str = "teams/quickstart";

/// A bucket of its own and the directory the checkouts live in.
struct Team {
    root: tempfile::TempDir,
    bucket: String,
}

impl Team {
    fn new() -> Team {
        let run = uuid::Uuid::new_v4().simple().to_string();
        let bucket = format!("cairn-state-{}", &run[..12]);
        boto3(S3_SCRIPT, &["create", &bucket]);
        Team {
            root: tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}")),
            bucket,
        }
    }

    /// A checkout named `name` of the quickstart with this team's S3 backend; `extra` is
    /// inserted in the `stack` block (an `encryption` block).
    fn checkout(&self, name: &str, extra: &str) -> PathBuf {
        let backend = format!(
            "stack \"quickstart\" {{\n  backend \"s3\" {{\n    bucket           = \"{}\"\n    key              = \"{PREFIX}\"\n    region           = \"us-east-1\"\n    endpoint         = \"{}\"\n    lock_stale_after = \"3s\"\n  }}\n{extra}}}",
            self.bucket,
            endpoint()
        );
        self.write_checkout(name, &backend)
    }

    /// A checkout named `name` of the quickstart with its usual local backend.
    fn local_checkout(&self, name: &str) -> PathBuf {
        self.write_checkout(
            name,
            "stack \"quickstart\" {\n  backend \"local\" {\n    path = \".cairn\"\n  }\n}",
        )
    }

    fn write_checkout(&self, name: &str, stack_block: &str) -> PathBuf {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart/main.hcl");
        let text = fs_err::read_to_string(source).unwrap_or_else(|error| panic!("{error}"));
        let start = text
            .find("stack \"quickstart\"")
            .unwrap_or_else(|| panic!("no stack"));
        let end = start
            + text[start..]
                .find("\n}\n")
                .unwrap_or_else(|| panic!("no end of the stack block"))
            + 2;
        let text = format!("{}{stack_block}{}", &text[..start], &text[end..]);
        let dir = self.root.path().join(name);
        fs_err::create_dir_all(&dir).unwrap_or_else(|error| panic!("{error}"));
        fs_err::write(dir.join("main.hcl"), text).unwrap_or_else(|error| panic!("{error}"));
        dir
    }

    /// The simulated cloud both checkouts work on.
    fn cloud_file(&self) -> PathBuf {
        self.root.path().join("cloud.json")
    }

    /// `cairn ARGS DIR` with the moto credentials, the shared simulated cloud and `env`;
    /// `cairn apply FILE` (a saved plan names its own state, and takes no directory) runs in
    /// DIR instead.
    fn command(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Command {
        let binary = assert_cmd::cargo::cargo_bin("cairn");
        let mut command = std::process::Command::new(binary);
        command.args(args);
        if let ["apply", file] = args
            && !file.starts_with('-')
        {
            command.current_dir(dir);
        } else {
            command.arg(dir);
        }
        command
            .envs(aws_env(&endpoint()))
            .env("NO_COLOR", "1")
            .env("CAIRN_SIM_FILE", self.cloud_file())
            .env_remove("CAIRN_STATE_KEY")
            .env_remove("CAIRN_SIM_LATENCY_MS")
            .envs(env.iter().copied())
            .stdin(Stdio::null());
        command
    }

    fn cairn(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(dir, args, env)
            .output()
            .unwrap_or_else(|error| panic!("cannot run cairn: {error}"))
    }

    /// Runs cairn and asserts it succeeded; returns its stdout.
    fn ok(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
        let output = self.cairn(dir, args, env);
        assert!(
            output.status.success(),
            "cairn {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn spawn(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Child {
        self.command(dir, args, env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run cairn: {error}"))
    }

    /// The object `name` under the prefix, read with boto3; `None` when it does not exist.
    fn object(&self, name: &str) -> Option<String> {
        let key = format!("{PREFIX}/{name}");
        match boto3(S3_SCRIPT, &["get", &self.bucket, &key]) {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    fn put(&self, name: &str, text: &str) {
        let key = format!("{PREFIX}/{name}");
        boto3(S3_SCRIPT, &["put", &self.bucket, &key, text]);
    }

    /// The state document of `dev`, read with boto3.
    fn state(&self) -> Value {
        let text = self
            .object("dev.json")
            .unwrap_or_else(|| panic!("no state object in the bucket"));
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("state is not JSON: {error}"))
    }

    /// Every object of the bucket with its content.
    fn everything(&self) -> Value {
        boto3(S3_SCRIPT, &["all", &self.bucket])
    }

    /// Waits (at most 60 s) until the lock object of `dev` exists.
    fn wait_for_lock(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.object("dev.lock").is_none() {
            assert!(Instant::now() < deadline, "the run never took the lock");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The quickstart has twelve resources.
const QUICKSTART_RESOURCES: usize = 12;

/// Slows every simulated call so that a run holds the lock long enough to be raced.
const SLOW: (&str, &str) = ("CAIRN_SIM_LATENCY_MS", "150");

#[test]
fn two_checkouts_applying_at_once_exactly_one_proceeds_and_the_other_names_the_holder() {
    let team = Team::new();
    let alice = team.checkout("alice", "");
    let bob = team.checkout("bob", "");
    let apply = ["apply", "-e", "dev", "--auto-approve"];
    let first = team.spawn(&alice, &apply, &[SLOW]);
    let second = team.spawn(&bob, &apply, &[SLOW]);
    let outputs = [first, second].map(|child| {
        child
            .wait_with_output()
            .unwrap_or_else(|error| panic!("{error}"))
    });
    let succeeded: Vec<_> = outputs
        .iter()
        .filter(|output| output.status.success())
        .collect();
    let refused: Vec<_> = outputs
        .iter()
        .filter(|output| !output.status.success())
        .collect();
    assert_eq!(
        (succeeded.len(), refused.len()),
        (1, 1),
        "{:?}",
        outputs
            .iter()
            .map(|output| text(&output.stderr))
            .collect::<Vec<_>>()
    );
    let error = text(&refused[0].stderr);
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".to_string());
    assert!(error.contains("state is locked by"), "{error}");
    assert!(error.contains(&format!("{user}@")), "{error}");
    assert!(error.contains("for apply since"), "{error}");
    assert!(
        error.contains(&format!("s3://{}/{PREFIX}/dev.lock", team.bucket)),
        "{error}"
    );

    // The state holds every change of the run that proceeded, read from outside.
    let state = team.state();
    let resources = state["resources"].as_object().map(|map| map.len());
    assert_eq!(resources, Some(QUICKSTART_RESOURCES), "{state}");
    assert_eq!(state["outputs"]["web_group"]["value"], "quickstart-dev-web");
    // Released: no lock object is left.
    assert_eq!(team.object("dev.lock"), None);

    // The refused checkout sees everything the other applied.
    let plan = team.cairn(&bob, &["plan", "-e", "dev", "--detailed-exitcode"], &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));
}

#[test]
fn sequential_applies_from_two_checkouts_see_each_others_changes() {
    let team = Team::new();
    let alice = team.checkout("alice", "");
    let bob = team.checkout("bob", "");
    team.ok(&alice, &["apply", "-e", "dev", "--auto-approve"], &[]);
    let serial = team.state()["serial"].as_u64();

    let plan = team.cairn(&bob, &["plan", "-e", "dev", "--detailed-exitcode"], &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));

    let change = ["--var", "admin_cidr=10.30.0.0/16"];
    let mut apply = vec!["apply", "-e", "dev", "--auto-approve"];
    apply.extend(change);
    let output = team.ok(&bob, &apply, &[]);
    assert!(output.contains("1 changed"), "{output}");
    assert!(team.state()["serial"].as_u64() > serial);

    let mut plan = vec!["plan", "-e", "dev", "--detailed-exitcode"];
    plan.extend(change);
    let plan = team.cairn(&alice, &plan, &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));
    // The history of both runs is in the one state.
    let history = team.state()["history"].as_array().map(Vec::len);
    assert_eq!(history, Some(2));
}

#[test]
fn a_state_replaced_between_plan_and_apply_is_refused_and_nothing_is_overwritten() {
    let team = Team::new();
    let alice = team.checkout("alice", "");
    team.ok(&alice, &["apply", "-e", "dev", "--auto-approve"], &[]);
    let plan_file = team.root.path().join("change.plan");
    let plan_file = plan_file.to_string_lossy().into_owned();
    team.ok(
        &alice,
        &[
            "plan",
            "-e",
            "dev",
            "--var",
            "admin_cidr=10.30.0.0/16",
            "--out",
            &plan_file,
        ],
        &[],
    );

    // Someone restores or edits the state object behind Cairn's back: same serial, other
    // content.
    let mut replaced = team.state();
    replaced["outputs"]["network_id"]["value"] = Value::from("vpc-restored");
    let replaced = serde_json::to_string_pretty(&replaced).unwrap_or_default();
    team.put("dev.json", &replaced);

    let output = team.cairn(&alice, &["apply", &plan_file], &[]);
    let error = text(&output.stderr);
    assert!(!output.status.success());
    assert!(
        error.contains("was replaced since this plan was made"),
        "{error}"
    );
    assert_eq!(team.object("dev.json").as_deref(), Some(replaced.as_str()));

    // Replaced by a newer version: refused as stale, still not overwritten.
    let mut newer: Value = serde_json::from_str(&replaced).unwrap_or_default();
    newer["serial"] = Value::from(newer["serial"].as_u64().unwrap_or(0) + 5);
    let newer = serde_json::to_string_pretty(&newer).unwrap_or_default();
    team.put("dev.json", &newer);
    let output = team.cairn(&alice, &["apply", &plan_file], &[]);
    let error = text(&output.stderr);
    assert!(error.contains("the saved plan is stale"), "{error}");
    assert_eq!(team.object("dev.json").as_deref(), Some(newer.as_str()));
    assert_eq!(team.object("dev.lock"), None);
}

#[test]
fn a_state_replaced_while_an_apply_runs_stops_its_writes_and_is_not_overwritten() {
    let team = Team::new();
    let alice = team.checkout("alice", "");
    let run = team.spawn(
        &alice,
        &["apply", "-e", "dev", "--auto-approve"],
        // Slow enough that the run is still writing when the object is replaced, however
        // long python takes to start on a loaded machine.
        &[("CAIRN_SIM_LATENCY_MS", "1000")],
    );
    // Once the run has written its first changes, the object is replaced by hand (the lock
    // ignored, as a person with bucket access can).
    let deadline = Instant::now() + Duration::from_secs(60);
    let written = loop {
        if let Some(text) = team.object("dev.json") {
            break text;
        }
        assert!(Instant::now() < deadline, "the run never wrote its state");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut replaced: Value = serde_json::from_str(&written).unwrap_or_default();
    replaced["history"] = Value::from(vec![Value::from("edited by hand")]);
    let replaced = serde_json::to_string_pretty(&replaced).unwrap_or_default();
    team.put("dev.json", &replaced);

    let output = run
        .wait_with_output()
        .unwrap_or_else(|error| panic!("{error}"));
    let everything = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(!output.status.success(), "{everything}");
    assert!(everything.contains("changed under you"), "{everything}");
    assert_eq!(team.object("dev.json").as_deref(), Some(replaced.as_str()));
    assert_eq!(team.object("dev.lock"), None, "{everything}");
}

#[test]
fn a_killed_run_leaves_a_lock_reported_as_stale_with_the_force_unlock_command() {
    let team = Team::new();
    let alice = team.checkout("alice", "");
    let mut run = team.spawn(
        &alice,
        &["apply", "-e", "dev", "--auto-approve"],
        &[("CAIRN_SIM_LATENCY_MS", "500")],
    );
    team.wait_for_lock();
    // kill -9: nothing of the run gets to clean up.
    run.kill().unwrap_or_else(|error| panic!("{error}"));
    let _ = run.wait();
    let holder: Value =
        serde_json::from_str(&team.object("dev.lock").unwrap_or_default()).unwrap_or_default();
    let id = holder["id"].as_str().unwrap_or_default().to_string();
    assert!(!id.is_empty(), "{holder}");

    // Right away the lock is only "locked"; once its heartbeat has stopped for longer than
    // the backend's `lock_stale_after` (3 s), it is reported as stale.
    let apply = ["apply", "-e", "dev", "--auto-approve"];
    let first = text(&team.cairn(&alice, &apply, &[]).stderr);
    assert!(first.contains("state is locked by"), "{first}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let stale = loop {
        let output = team.cairn(&alice, &apply, &[]);
        assert!(!output.status.success());
        let error = text(&output.stderr);
        if error.contains("heartbeat stopped") {
            break error;
        }
        assert!(
            Instant::now() < deadline,
            "never reported as stale: {error}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let command = format!("cairn force-unlock -e dev {id}");
    assert!(stale.contains(&command), "{stale}");
    assert!(stale.contains("probably gone"), "{stale}");

    let unlocked = team.ok(&alice, &["force-unlock", "-e", "dev", &id], &[]);
    assert!(unlocked.contains(&id), "{unlocked}");
    assert_eq!(team.object("dev.lock"), None);
    // The next run proceeds and converges, adopting what the killed run created.
    team.ok(&alice, &apply, &[]);
    let plan = team.cairn(&alice, &["plan", "-e", "dev", "--detailed-exitcode"], &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));
}

#[test]
fn an_interrupted_apply_releases_its_lock() {
    let team = Team::new();
    let alice = team.checkout("alice", "");
    let run = team.spawn(
        &alice,
        &["apply", "-e", "dev", "--auto-approve"],
        // Slow enough that the apply is still running when the signals arrive, even on a
        // loaded machine where this thread may be scheduled late (each call takes 2 s).
        &[("CAIRN_SIM_LATENCY_MS", "2000")],
    );
    team.wait_for_lock();
    let pid = run.id().to_string();
    // Ctrl-C twice: the first asks the apply to finish what is in flight, the second stops
    // it at once. Either way the lock goes. (Half a second apart: two signals closer than
    // the process is scheduled are one signal to it.)
    for _ in 0..2 {
        let status = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(status.success());
        std::thread::sleep(Duration::from_millis(500));
    }
    let output = run
        .wait_with_output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(!output.status.success(), "{}", text(&output.stdout));
    assert_eq!(team.object("dev.lock"), None, "{}", text(&output.stderr));
}

/// A checkout whose launch template carries a sensitive variable in its user data.
fn with_secret(team: &Team, name: &str, extra: &str) -> PathBuf {
    let dir = team.checkout(name, extra);
    let main = dir.join("main.hcl");
    let text = fs_err::read_to_string(&main).unwrap_or_else(|error| panic!("{error}"));
    let text = text.replace(
        "  firewalls     = [firewall.web, firewall.app]\n",
        "  firewalls     = [firewall.web, firewall.app]\n  user_data     = \"password=${var.db_password}\"\n",
    ) + "\nvariable \"db_password\" {\n  type      = string\n  sensitive = true\n}\n";
    fs_err::write(&main, text).unwrap_or_else(|error| panic!("{error}"));
    dir
}

const SECRET: &str = "s3cr3t-Tr0ub4dor";

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in walk(dir) {
        if fs_err::read(&entry)
            .map(|bytes| text(&bytes).contains(needle))
            .unwrap_or(false)
        {
            found.push(entry);
        }
    }
    found
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
    }
    files
}

#[test]
fn with_a_key_a_sensitive_value_is_in_no_object_and_no_local_file_and_a_wrong_key_is_refused() {
    let team = Team::new();
    let encryption = "  encryption {\n    key_env = \"CAIRN_STATE_KEY\"\n  }\n";
    let alice = with_secret(&team, "alice", encryption);
    let key = ("CAIRN_STATE_KEY", "correct horse battery staple");
    let secret = ("CAIRN_VAR_db_password", SECRET);
    team.ok(
        &alice,
        &["apply", "-e", "dev", "--auto-approve"],
        &[key, secret],
    );
    let plan_file = alice.join("change.plan");
    let plan_file = plan_file.to_string_lossy().into_owned();
    team.ok(
        &alice,
        &[
            "plan",
            "-e",
            "dev",
            "--var",
            "admin_cidr=10.30.0.0/16",
            "--out",
            &plan_file,
        ],
        &[key, secret],
    );
    team.ok(&alice, &["apply", &plan_file], &[key]);

    let objects = team.everything();
    let objects = objects.as_object().cloned().unwrap_or_default();
    assert!(
        objects.contains_key(&format!("{PREFIX}/dev.json")),
        "{objects:?}"
    );
    assert!(
        objects.contains_key(&format!("{PREFIX}/dev.json.backup")),
        "{objects:?}"
    );
    for (key, content) in &objects {
        assert!(
            !content.to_string().contains(SECRET),
            "{key} holds the secret"
        );
    }
    // The local stack directory holds the plan file and nothing with the secret; the
    // simulated cloud is the cloud (it holds the user data, as EC2 does) and lives apart.
    assert!(std::path::Path::new(&plan_file).is_file());
    assert_eq!(files_containing(&alice, SECRET), Vec::<PathBuf>::new());
    // The cloud's file, or the journal of what changed since it was written whole.
    let cloud = team.cloud_file();
    let in_cloud = [cloud.clone(), cloud.with_extension("json.journal")]
        .iter()
        .any(|path| fs_err::read_to_string(path).is_ok_and(|text| text.contains(SECRET)));
    assert!(in_cloud, "the control: the value did reach the cloud");

    // A wrong key is refused naming the variable, and changes nothing.
    let before = team.object("dev.json");
    let wrong = ("CAIRN_STATE_KEY", "Tr0ub4dor&3");
    let output = team.cairn(
        &alice,
        &["apply", "-e", "dev", "--auto-approve"],
        &[wrong, secret],
    );
    let error = text(&output.stderr);
    assert!(!output.status.success());
    assert!(
        error.contains("the key in `CAIRN_STATE_KEY` does not open it"),
        "{error}"
    );
    // No key at all: the `encryption` block makes it an error before anything is read.
    let output = team.cairn(&alice, &["plan", "-e", "dev"], &[secret]);
    let error = text(&output.stderr);
    assert!(error.contains("`CAIRN_STATE_KEY` is not set"), "{error}");
    assert_eq!(team.object("dev.json"), before);
    assert_eq!(team.object("dev.lock"), None);
}

#[test]
fn migration_local_to_s3_to_local_keeps_lineage_and_serial() {
    let team = Team::new();
    let alice = team.local_checkout("alice");
    team.ok(&alice, &["apply", "-e", "dev", "--auto-approve"], &[]);
    team.ok(
        &alice,
        &[
            "apply",
            "-e",
            "dev",
            "--auto-approve",
            "--var",
            "admin_cidr=10.30.0.0/16",
        ],
        &[],
    );
    let local_state = alice.join(".cairn/state/dev.json");
    let original: Value = serde_json::from_str(
        &fs_err::read_to_string(&local_state).unwrap_or_else(|error| panic!("{error}")),
    )
    .unwrap_or_default();
    let endpoint = endpoint();
    let report = team.ok(
        &alice,
        &[
            "state",
            "migrate",
            "-e",
            "dev",
            "--to",
            "s3",
            "--bucket",
            &team.bucket,
            "--key",
            PREFIX,
            "--endpoint",
            &endpoint,
        ],
        &[],
    );
    assert!(report.contains("Migrated the state of `dev`"), "{report}");
    let copied = team.state();
    assert_eq!(copied["lineage"], original["lineage"]);
    assert_eq!(copied["serial"], original["serial"]);
    assert!(team.object("dev.json.backup").is_some());

    // The local copy is marked and refused until the stack points at the bucket.
    let output = team.cairn(&alice, &["plan", "-e", "dev"], &[]);
    let error = text(&output.stderr);
    assert!(error.contains("was migrated to"), "{error}");
    assert!(
        error.contains(&format!("s3://{}/{PREFIX}/dev.json", team.bucket)),
        "{error}"
    );

    // Pointed at the bucket, the stack works on the migrated state; then back to local.
    let moved = team.checkout("alice", "");
    assert_eq!(moved, alice);
    let plan = team.cairn(
        &alice,
        &[
            "plan",
            "-e",
            "dev",
            "--detailed-exitcode",
            "--var",
            "admin_cidr=10.30.0.0/16",
        ],
        &[],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stderr));
    team.ok(
        &alice,
        &["state", "migrate", "-e", "dev", "--to", "local"],
        &[],
    );
    let output = team.cairn(&alice, &["plan", "-e", "dev"], &[]);
    assert!(text(&output.stderr).contains("was migrated to"));

    team.local_checkout("alice");
    let back: Value = serde_json::from_str(
        &fs_err::read_to_string(&local_state).unwrap_or_else(|error| panic!("{error}")),
    )
    .unwrap_or_default();
    assert_eq!(back["lineage"], original["lineage"]);
    assert_eq!(back["serial"], original["serial"]);
    assert_eq!(back, original);
    let plan = team.cairn(
        &alice,
        &[
            "plan",
            "-e",
            "dev",
            "--detailed-exitcode",
            "--var",
            "admin_cidr=10.30.0.0/16",
        ],
        &[],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stderr));
}

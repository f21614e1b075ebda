//! Helpers shared by the end-to-end tests: a stack fixture copied into a tempdir, the `cairn`
//! binary run in it against the simulated cloud, and readers for the sim and the state.

#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;
pub type Error = Box<dyn std::error::Error>;

/// The fault variables the sim reads; cleared so the caller's environment cannot leak in.
pub const SIM_VARIABLES: [&str; 10] = [
    "CAIRN_SIM_LATENCY_MS",
    "CAIRN_SIM_READ_LAG_MS",
    "CAIRN_CONSISTENCY_WINDOW",
    "CAIRN_SIM_THROTTLE_RATE",
    "CAIRN_SIM_ERROR_RATE",
    "CAIRN_SIM_SEED",
    "CAIRN_SIM_CRASH_AFTER",
    "CAIRN_SIM_OUTAGE",
    "CAIRN_SIM_FILE",
    "CAIRN_SIM_RATE_LIMITS",
];

/// A stack directory in a tempdir.
pub struct Stack {
    pub directory: tempfile::TempDir,
    /// Where the stack is inside the tempdir, when not at its root.
    pub subdirectory: Option<PathBuf>,
}

impl Stack {
    /// Copies `tests/fixtures/<case>/` into a fresh tempdir.
    pub fn fixture(case: &str) -> Result<Stack, Error> {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(case);
        let directory = tempfile::tempdir()?;
        for entry in std::fs::read_dir(&source)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                std::fs::copy(entry.path(), directory.path().join(entry.file_name()))?;
            }
        }
        Ok(Stack {
            directory,
            subdirectory: None,
        })
    }

    /// A copy of `examples/webapp` with the modules it sources, laid out as in the
    /// repository (`examples/webapp`, `modules/…`); [`Stack::path`] is the example's
    /// directory.
    pub fn webapp() -> Result<Stack, Error> {
        fn copy_tree(from: &Path, to: &Path) -> Result<(), Error> {
            std::fs::create_dir_all(to)?;
            for entry in std::fs::read_dir(from)? {
                let entry = entry?;
                let target = to.join(entry.file_name());
                if entry.file_type()?.is_dir() {
                    if entry.file_name() != ".cairn" {
                        copy_tree(&entry.path(), &target)?;
                    }
                } else {
                    std::fs::copy(entry.path(), target)?;
                }
            }
            Ok(())
        }
        let source = Path::new(env!("CARGO_MANIFEST_DIR"));
        let directory = tempfile::tempdir()?;
        copy_tree(&source.join("modules"), &directory.path().join("modules"))?;
        copy_tree(
            &source.join("examples/webapp"),
            &directory.path().join("examples/webapp"),
        )?;
        Ok(Stack {
            directory,
            subdirectory: Some(PathBuf::from("examples/webapp")),
        })
    }

    /// A stack whose only file is `main.hcl` with `text`.
    pub fn from_text(text: &str) -> Result<Stack, Error> {
        let directory = tempfile::tempdir()?;
        std::fs::write(directory.path().join("main.hcl"), text)?;
        Ok(Stack {
            directory,
            subdirectory: None,
        })
    }

    pub fn path(&self) -> PathBuf {
        match &self.subdirectory {
            Some(subdirectory) => self.directory.path().join(subdirectory),
            None => self.directory.path().to_path_buf(),
        }
    }

    /// `cairn ARGS…` in the stack directory, with no fault or variable settings from the caller's
    /// environment and no colour.
    pub fn cairn(&self, args: &[&str]) -> Result<Command, Error> {
        Ok(Command::from_std(self.cairn_std(args)?))
    }

    /// [`Stack::cairn`] as a standard library command, for tests that choose where its output
    /// goes.
    pub fn cairn_std(&self, args: &[&str]) -> Result<std::process::Command, Error> {
        let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("cairn"));
        command.current_dir(self.path()).env("NO_COLOR", "1");
        for variable in SIM_VARIABLES {
            command.env_remove(variable);
        }
        // A developer's own state passphrase must not encrypt the test's state.
        command.env_remove("CAIRN_STATE_KEY");
        // Variables set for the developer's own stacks must not reach the test's.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("CAIRN_VAR_") {
                command.env_remove(name);
            }
        }
        command.args(args);
        Ok(command)
    }

    pub fn state_path(&self, environment: &str) -> PathBuf {
        self.path().join(format!(".cairn/state/{environment}.json"))
    }

    pub fn lock_path(&self, environment: &str) -> PathBuf {
        self.path().join(format!(".cairn/state/{environment}.lock"))
    }

    pub fn cloud_path(&self) -> PathBuf {
        self.path().join(".cairn/sim/cloud.json")
    }

    pub fn call_log_path(&self) -> PathBuf {
        self.path().join(".cairn/sim/calls.jsonl")
    }

    /// The state document of `environment` as JSON.
    pub fn state(&self, environment: &str) -> Result<Value, Error> {
        Ok(serde_json::from_slice(&std::fs::read(
            self.state_path(environment),
        )?)?)
    }

    /// The addresses recorded in the state of `environment`, with their ids.
    pub fn state_resources(&self, environment: &str) -> Result<BTreeMap<String, String>, Error> {
        let state = self.state(environment)?;
        let mut resources = BTreeMap::new();
        if let Some(map) = state["resources"].as_object() {
            for (address, resource) in map {
                resources.insert(
                    address.clone(),
                    resource["id"].as_str().unwrap_or_default().to_string(),
                );
            }
        }
        Ok(resources)
    }

    /// Every resource in the sim carrying the ownership tags of `environment`, as
    /// `(address, id, attributes)`, via `cairn sim show --json`.
    pub fn owned(&self, environment: &str) -> Result<Vec<Owned>, Error> {
        let output = self.cairn(&["sim", "show", "--json"])?.output()?;
        if !output.status.success() {
            return Err(format!(
                "sim show failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        let inventory: Value = serde_json::from_slice(&output.stdout)?;
        // Scaling policies cannot hold tags of their own (as in AWS): they carry only their
        // group's stack and environment tags and are known by the id state recorded.
        let recorded_by_id: BTreeMap<String, String> = match self.state(environment) {
            Ok(_) => self
                .state_resources(environment)?
                .into_iter()
                .map(|(address, id)| (id, address))
                .collect(),
            Err(_) => BTreeMap::new(),
        };
        let mut owned = Vec::new();
        for kinds in inventory["regions"]
            .as_object()
            .into_iter()
            .flat_map(|r| r.values())
        {
            for (kind, resources) in kinds.as_object().into_iter().flatten() {
                for resource in resources.as_array().into_iter().flatten() {
                    let tags = &resource["tags"];
                    if tags["cairn:env"].as_str() != Some(environment) {
                        continue;
                    }
                    let id = resource["id"].as_str().unwrap_or_default().to_string();
                    let address = match tags["cairn:address"].as_str() {
                        Some(address) => address.to_string(),
                        None => recorded_by_id.get(&id).cloned().unwrap_or_default(),
                    };
                    owned.push(Owned {
                        kind: kind.clone(),
                        address,
                        id,
                        attributes: resource["attributes"].clone(),
                    });
                }
            }
        }
        owned.sort_by(|a, b| (&a.address, &a.id).cmp(&(&b.address, &b.id)));
        Ok(owned)
    }

    /// The number of resources in the sim carrying any `cairn:stack` tag.
    pub fn cairn_tagged_count(&self) -> Result<usize, Error> {
        let output = self.cairn(&["sim", "show", "--json"])?.output()?;
        let inventory: Value = serde_json::from_slice(&output.stdout)?;
        Ok(inventory["regions"]
            .as_object()
            .into_iter()
            .flat_map(|regions| regions.values())
            .flat_map(|kinds| kinds.as_object().into_iter().flat_map(|k| k.values()))
            .flat_map(|list| list.as_array().into_iter().flatten())
            .filter(|resource| resource["tags"].get("cairn:stack").is_some())
            .count())
    }
}

/// One owned resource as the sim shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Owned {
    pub kind: String,
    pub address: String,
    pub id: String,
    pub attributes: Value,
}

/// Text with all whitespace and miette's gutter removed, so an assertion does not depend on
/// where the report wrapped its lines.
pub fn squeeze(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '│')
        .collect()
}

pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The stdout of `cairn ARGS`, asserting it succeeded.
pub fn succeeded(args: &[&str], output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "cairn {args:?} failed:\n{}{}",
        stdout_of(output),
        stderr_of(output)
    );
    stdout_of(output)
}

/// The stderr of `cairn ARGS`, asserting it failed with exit code 1.
pub fn refused_with(args: &[&str], output: &std::process::Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "cairn {args:?} should fail:\n{}{}",
        stdout_of(output),
        stderr_of(output)
    );
    stderr_of(output)
}

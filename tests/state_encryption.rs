//! Encrypted state on the local backend, through the CLI on the simulated cloud: with a key,
//! a sensitive value is in no file Cairn writes under the stack (state, backup, saved plan);
//! without the key, or with a wrong one, nothing is read or overwritten; a rotated key opens
//! the old state through the fallback variable.

mod common;

use common::{Stack, TestResult, squeeze};
use std::path::{Path, PathBuf};

const SECRET: &str = "s3cr3t-Tr0ub4dor";
const KEY: &str = "correct horse battery staple";

/// The quickstart with `encryption` in its stack block and a sensitive variable in the
/// launch template's user data.
fn stack(encryption: &str) -> Result<Stack, common::Error> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart/main.hcl");
    let text = std::fs::read_to_string(source)?
        .replace(
            "  backend \"local\" {\n    path = \".cairn\"\n  }\n",
            &format!("  backend \"local\" {{\n    path = \".cairn\"\n  }}\n{encryption}"),
        )
        .replace(
            "  firewalls     = [firewall.web, firewall.app]\n",
            "  firewalls     = [firewall.web, firewall.app]\n  user_data     = \"password=${var.db_password}\"\n",
        )
        + "\nvariable \"db_password\" {\n  type      = string\n  sensitive = true\n}\n";
    Stack::from_text(&text)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The files under `dir` holding `needle`, the simulated cloud's own files left out (the
/// cloud keeps user data, as EC2 does).
fn holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|path| !path.components().any(|part| part.as_os_str() == "sim"))
        .filter(|path| {
            std::fs::read(path)
                .map(|bytes| String::from_utf8_lossy(&bytes).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

#[test]
fn with_a_key_no_file_cairn_writes_holds_a_sensitive_value() -> TestResult {
    let stack = stack("  encryption {\n    key_env = \"TEAM_STATE_KEY\"\n  }\n")?;
    let env = [("TEAM_STATE_KEY", KEY), ("CAIRN_VAR_db_password", SECRET)];
    stack
        .cairn(&["apply", "-e", "dev", "--auto-approve"])?
        .envs(env)
        .assert()
        .success();
    stack
        .cairn(&[
            "plan",
            "-e",
            "dev",
            "--var",
            "admin_cidr=10.30.0.0/16",
            "--out",
            "change.plan",
        ])?
        .envs(env)
        .assert()
        .success();
    stack
        .cairn(&["apply", "change.plan"])?
        .env("TEAM_STATE_KEY", KEY)
        .assert()
        .success();
    assert!(stack.path().join(".cairn/state/dev.json.backup").is_file());
    assert!(stack.path().join("change.plan").is_file());
    assert_eq!(holding(&stack.path(), SECRET), Vec::<PathBuf>::new());
    // The control: the value is there to be found, in the cloud (its file, or the journal of
    // what changed since the file was written whole).
    let cloud = stack.cloud_path();
    let journal = cloud.with_extension("json.journal");
    let in_cloud = [cloud, journal]
        .iter()
        .any(|path| std::fs::read_to_string(path).is_ok_and(|text| text.contains(SECRET)));
    assert!(in_cloud);

    // Read back with the key, the state is whole.
    let output = stack
        .cairn(&["output", "-e", "dev", "--name", "web_group"])?
        .envs(env)
        .output()?;
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "quickstart-dev-web"
    );
    Ok(())
}

#[test]
fn without_encryption_the_same_value_is_in_the_state_file() -> TestResult {
    // The control of the test above: the check finds the value when nothing seals it.
    let stack = stack("")?;
    stack
        .cairn(&["apply", "-e", "dev", "--auto-approve"])?
        .env("CAIRN_VAR_db_password", SECRET)
        .assert()
        .success();
    let found = holding(&stack.path(), SECRET);
    // The first apply's saves are journaled and folded into the state file at its end; the
    // backup is the state from before the run, of which there was none.
    assert_eq!(found, vec![stack.state_path("dev")]);
    Ok(())
}

#[test]
fn a_wrong_or_missing_key_is_refused_and_the_state_is_left_as_it_was() -> TestResult {
    let stack = stack("")?;
    let secret = ("CAIRN_VAR_db_password", SECRET);
    stack
        .cairn(&["apply", "-e", "dev", "--auto-approve"])?
        .envs([("CAIRN_STATE_KEY", KEY), secret])
        .assert()
        .success();
    let before = std::fs::read(stack.state_path("dev"))?;

    let output = stack
        .cairn(&["apply", "-e", "dev", "--auto-approve"])?
        .envs([("CAIRN_STATE_KEY", "Tr0ub4dor&3"), secret])
        .output()?;
    let error = squeeze(&String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success());
    assert!(
        error.contains(&squeeze("the key in `CAIRN_STATE_KEY` does not open it")),
        "{error}"
    );

    let output = stack
        .cairn(&["plan", "-e", "dev"])?
        .env_remove("CAIRN_STATE_KEY")
        .env(secret.0, secret.1)
        .output()?;
    let error = squeeze(&String::from_utf8_lossy(&output.stderr));
    assert!(
        error.contains(&squeeze(
            "no key is set: `CAIRN_STATE_KEY` is not in the environment"
        )),
        "{error}"
    );

    assert_eq!(std::fs::read(stack.state_path("dev"))?, before);
    assert!(!stack.lock_path("dev").exists());
    Ok(())
}

#[test]
fn after_a_rotation_the_fallback_key_opens_the_state_and_the_next_write_uses_the_new_key()
-> TestResult {
    let stack = stack(
        "  encryption {\n    key_env          = \"CAIRN_STATE_KEY\"\n    fallback_key_env = \"CAIRN_STATE_KEY_OLD\"\n  }\n",
    )?;
    let secret = ("CAIRN_VAR_db_password", SECRET);
    stack
        .cairn(&["apply", "-e", "dev", "--auto-approve"])?
        .envs([("CAIRN_STATE_KEY", "old passphrase"), secret])
        .assert()
        .success();
    let rotated = [
        ("CAIRN_STATE_KEY", "new passphrase"),
        ("CAIRN_STATE_KEY_OLD", "old passphrase"),
        secret,
    ];
    stack
        .cairn(&[
            "apply",
            "-e",
            "dev",
            "--auto-approve",
            "--var",
            "admin_cidr=10.30.0.0/16",
        ])?
        .envs(rotated)
        .assert()
        .success();
    // Written with the new key: the old one alone no longer opens it.
    let output = stack
        .cairn(&["show", "-e", "dev"])?
        .envs([("CAIRN_STATE_KEY", "old passphrase"), secret])
        .output()?;
    assert!(!output.status.success());
    let error = squeeze(&String::from_utf8_lossy(&output.stderr));
    assert!(
        error.contains(&squeeze("the key in `CAIRN_STATE_KEY` does not open it")),
        "{error}"
    );
    stack
        .cairn(&["show", "-e", "dev"])?
        .envs([("CAIRN_STATE_KEY", "new passphrase"), secret])
        .assert()
        .success();
    Ok(())
}

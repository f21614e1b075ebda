//! The ownership rules of issue 16 through the CLI on AWS (moto), checked from outside with
//! boto3: a state document of another environment is refused on load naming both; `state rm`
//! removes Cairn's ownership tags from the object and leaves it alive, so no plan adopts it
//! again; `import` of an id that does not exist says so; `import` tags and records an
//! unmanaged object; `import` of an object another environment manages is refused naming the
//! owner unless `--take-over`. `tests/state_cli.rs` runs the same stories on the simulated
//! cloud.
//!
//! Needs `CAIRN_TEST_AWS_ENDPOINT` (set by `scripts/test` / `scripts/moto start`); without it
//! the tests fail. Each test gets its own stack name, so runs share one moto without resets.
#![cfg(feature = "aws")]

mod common;
mod moto;

use common::{Error, Stack, TestResult};
use serde_json::{Value, json};

/// The `ownership` fixture on AWS under a stack name unique to the test, applied to each of
/// `environments`. Returns the stack and its name.
fn applied(environments: &[&str]) -> Result<(Stack, String), Error> {
    let fixture = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ownership/main.hcl"),
    )?;
    let name = format!(
        "ownership-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    assert!(fixture.contains("stack \"ownership\"") && fixture.contains("cloud = \"sim\""));
    let text = fixture
        .replace("stack \"ownership\"", &format!("stack \"{name}\""))
        .replace("cloud = \"sim\"", "cloud = \"aws\"");
    let stack = Stack::from_text(&text)?;
    for environment in environments {
        run(&stack, &["apply", "-e", environment, "--auto-approve"])?;
    }
    Ok((stack, name))
}

fn cairn(stack: &Stack, args: &[&str]) -> Result<std::process::Output, Error> {
    Ok(stack
        .cairn(args)?
        .envs(moto::aws_env(&moto::endpoint()))
        .output()?)
}

/// Runs `cairn ARGS` on moto and returns its stdout, asserting it succeeded.
fn run(stack: &Stack, args: &[&str]) -> Result<String, Error> {
    Ok(common::succeeded(args, &cairn(stack, args)?))
}

/// Runs `cairn ARGS` on moto, asserting it failed with exit code 1, and returns its stderr.
fn refused(stack: &Stack, args: &[&str]) -> Result<String, Error> {
    Ok(common::refused_with(args, &cairn(stack, args)?))
}

/// The tags moto holds on volume `id`, read with boto3; `None` once the volume is gone.
fn volume_tags(id: &str) -> Option<Value> {
    let found = moto::boto3(
        r#"
import boto3, json, sys
ec2 = boto3.client("ec2", region_name="us-east-1")
try:
    volumes = ec2.describe_volumes(VolumeIds=[sys.argv[1]])["Volumes"]
except ec2.exceptions.ClientError:
    volumes = []
print(json.dumps([{tag["Key"]: tag["Value"] for tag in volume.get("Tags", [])} for volume in volumes]))
"#,
        &[id],
    );
    found
        .as_array()
        .and_then(|volumes| volumes.first())
        .cloned()
}

fn plan_json(stack: &Stack, environment: &str) -> Result<Value, Error> {
    Ok(serde_json::from_str(&run(
        stack,
        &["plan", "-e", environment, "--json"],
    )?)?)
}

/// Deletes volume `id` behind Cairn's back, with boto3.
fn delete_volume(id: &str) {
    moto::boto3(
        r#"
import boto3, sys
boto3.client("ec2", region_name="us-east-1").delete_volume(VolumeId=sys.argv[1])
print("{}")
"#,
        &[id],
    );
}

/// Leaves nothing of the test's in moto: the protected volume is released, then deleted with
/// boto3, and everything else destroyed.
fn clean_up(stack: &Stack, environment: &str) -> TestResult {
    let volume = stack
        .state_resources(environment)?
        .get("volume.data[us-east-1]")
        .cloned();
    if let Some(volume) = &volume {
        run(stack, &["state", "rm", "-e", environment, "volume.data"])?;
        delete_volume(volume);
    }
    run(stack, &["destroy", "-e", environment, "--auto-approve"])?;
    Ok(())
}

/// Issue 16: copying `staging.json` over `production.json` made `plan -e production` propose
/// to re-tag every production resource as staging's.
#[test]
fn on_aws_a_state_of_another_environment_is_refused_naming_both() -> TestResult {
    let (stack, name) = applied(&["staging", "production"])?;
    let production = std::fs::read(stack.state_path("production"))?;
    std::fs::copy(stack.state_path("staging"), stack.state_path("production"))?;
    for args in [
        &["plan", "-e", "production"][..],
        &["apply", "-e", "production", "--auto-approve"],
        &["state", "list", "-e", "production"],
    ] {
        let error = refused(&stack, args)?;
        assert!(
            error.contains(&format!("belongs to environment `staging` of stack `{name}`, not to environment `production` of stack `{name}`")),
            "{args:?}: {error}"
        );
    }
    std::fs::write(stack.state_path("production"), production)?;
    let plan = run(&stack, &["plan", "-e", "production"])?;
    assert!(plan.contains("No changes."), "{plan}");
    clean_up(&stack, "production")?;
    clean_up(&stack, "staging")
}

/// Issue 16: after `state rm` the next plan adopted the object straight back; an id that did
/// not exist was "cannot reach the cloud"; an imported object kept no ownership tags.
#[test]
fn on_aws_state_rm_releases_and_import_takes_back_what_exists() -> TestResult {
    let (stack, name) = applied(&["staging"])?;
    let address = "volume.data[us-east-1]";
    let volume = stack.state_resources("staging")?[address].clone();

    let removed = run(&stack, &["state", "rm", "-e", "staging", "volume.data"])?;
    assert!(
        removed.contains(&format!("Removed {address} ({volume}): released")),
        "{removed}"
    );
    let tags = volume_tags(&volume).ok_or("the released volume is gone")?;
    for key in ["cairn:stack", "cairn:env", "cairn:address"] {
        assert!(tags.get(key).is_none(), "{key} left on {tags}");
    }
    assert_eq!(tags["Name"], format!("{name}-staging-data"), "{tags}");
    let plan = plan_json(&stack, "staging")?;
    assert_eq!(plan["adopted"], json!([]), "{plan}");
    assert_eq!(plan["summary"]["create"], 1, "{plan}");

    let error = refused(
        &stack,
        &["import", "-e", "staging", address, "vol-0123456789abcdef0"],
    )?;
    assert!(
        error.contains(
            "volume `vol-0123456789abcdef0` does not exist in us-east-1: there is nothing to import"
        ),
        "{error}"
    );

    let imported = run(&stack, &["import", "-e", "staging", address, &volume])?;
    assert!(
        imported.starts_with(&format!("{address}: imported {volume}\n")),
        "{imported}"
    );
    let tags = volume_tags(&volume).ok_or("the imported volume is gone")?;
    assert_eq!(tags["cairn:stack"], name.as_str());
    assert_eq!(tags["cairn:env"], "staging");
    assert_eq!(tags["cairn:address"], address);
    let plan = run(&stack, &["plan", "-e", "staging"])?;
    assert!(plan.contains("No changes."), "{plan}");
    clean_up(&stack, "staging")
}

/// Issue 16: an object tagged by another environment was imported without a word.
#[test]
fn on_aws_import_of_an_object_another_environment_manages_is_refused_unless_taken_over()
-> TestResult {
    let (stack, name) = applied(&["staging", "production"])?;
    let address = "volume.data[us-east-1]";
    let production_volume = stack.state_resources("production")?[address].clone();
    let staging_volume = stack.state_resources("staging")?[address].clone();
    run(&stack, &["state", "rm", "-e", "staging", address])?;

    let error = refused(
        &stack,
        &["import", "-e", "staging", address, &production_volume],
    )?;
    assert!(
        error.contains(&format!(
            "volume `{production_volume}` is managed by environment `production` of stack `{name}` as `{address}`; refusing to import it"
        )),
        "{error}"
    );
    assert_eq!(
        volume_tags(&production_volume).ok_or("gone")?["cairn:env"],
        "production"
    );

    let taken = run(
        &stack,
        &[
            "import",
            "-e",
            "staging",
            "--take-over",
            address,
            &production_volume,
        ],
    )?;
    assert!(
        taken.contains(&format!(
            "Taken over from environment `production` of stack `{name}`"
        )),
        "{taken}"
    );
    assert_eq!(
        volume_tags(&production_volume).ok_or("gone")?["cairn:env"],
        "staging"
    );
    run(&stack, &["state", "rm", "-e", "production", address])?;
    assert_eq!(
        volume_tags(&production_volume).ok_or("gone")?["cairn:env"],
        "staging",
        "state rm of a taken-over object leaves the new owner's tags"
    );

    delete_volume(&staging_volume);
    run(&stack, &["destroy", "-e", "production", "--auto-approve"])?;
    clean_up(&stack, "staging")
}

//! `cairn sim show/set/delete/reset/fault/outage` against a cloud populated through the
//! provider API, as a drift test would use them.

use assert_cmd::Command;
use cairn::model::{Address, Kind, Owner};
use cairn::provider::sim::{FaultConfig, SimCloud, SimProvider};
use cairn::provider::{CreateRequest, Provider};
use predicates::str::contains;
use serde_json::{Value, json};
use std::path::Path;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn cairn(dir: &Path) -> Result<Command, Box<dyn std::error::Error>> {
    let mut command = Command::cargo_bin("cairn")?;
    command
        .current_dir(dir)
        .env_remove("CAIRN_SIM_FILE")
        .env("NO_COLOR", "1");
    Ok(command)
}

/// A network and a subnet created the way the engine would.
async fn populate(stack: &Path) -> Result<(String, String), Box<dyn std::error::Error>> {
    let provider = SimProvider::open_with_faults(
        &stack.join(".cairn/sim/cloud.json"),
        FaultConfig::default(),
    )?;
    let owner = Owner {
        stack: "shop".to_string(),
        env: "staging".to_string(),
    };
    let create = |kind, address: &str, attributes: Value| CreateRequest {
        kind,
        region: "us-east-1".to_string(),
        attributes: match attributes {
            Value::Object(map) => map.into_iter().collect(),
            _ => Default::default(),
        },
        tags: owner.tags_for(&Address::new(address)),
        token: address.to_string(),
    };
    let network = provider
        .create(&create(
            Kind::Network,
            "network.main[us-east-1]",
            json!({ "cidr": "10.0.0.0/16" }),
        ))
        .await?;
    let subnet = provider
        .create(&create(
            Kind::Subnet,
            "network.main.subnet.public[us-east-1a]",
            json!({ "network_id": network.id, "cidr": "10.0.1.0/24", "zone": "us-east-1a", "public": true }),
        ))
        .await?;
    Ok((network.id, subnet.id))
}

fn show_json(dir: &Path) -> Result<Value, Box<dyn std::error::Error>> {
    let output = cairn(dir)?.args(["sim", "show", "--json"]).output()?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(serde_json::from_slice(&output.stdout)?)
}

#[tokio::test]
async fn show_set_delete_and_reset_the_simulated_cloud() -> TestResult {
    let stack = tempfile::tempdir()?;
    let (network_id, subnet_id) = populate(stack.path()).await?;

    cairn(stack.path())?
        .args(["sim", "show"])
        .assert()
        .success()
        .stdout(contains("us-east-1"))
        .stdout(contains(network_id.as_str()))
        .stdout(contains("network.main.subnet.public[us-east-1a]"))
        .stdout(contains("cidr=10.0.1.0/24"));

    let inventory = show_json(stack.path())?;
    assert_eq!(
        inventory["regions"]["us-east-1"]["subnet"][0]["id"],
        json!(subnet_id)
    );
    assert_eq!(
        inventory["regions"]["us-east-1"]["subnet"][0]["attributes"]["public"],
        json!(true)
    );

    cairn(stack.path())?
        .args(["sim", "set", &subnet_id, "public", "false"])
        .assert()
        .success();
    let drifted = SimCloud::open(&stack.path().join(".cairn/sim/cloud.json"))?
        .resource(&subnet_id)?
        .ok_or("the subnet is gone")?;
    assert_eq!(drifted.attributes.get("public"), Some(&json!(false)));

    // The network still has a subnet: the console would refuse too.
    cairn(stack.path())?
        .args(["sim", "delete", &network_id])
        .assert()
        .failure()
        .code(1)
        .stderr(contains("DependencyViolation"));
    cairn(stack.path())?
        .args(["sim", "delete", &subnet_id])
        .assert()
        .success();
    cairn(stack.path())?
        .args(["sim", "delete", "subnet-00000000000000000"])
        .assert()
        .failure()
        .stderr(contains("subnet-00000000000000000"));

    cairn(stack.path())?
        .args(["sim", "reset"])
        .assert()
        .success();
    let inventory = show_json(stack.path())?;
    assert_eq!(inventory["regions"], json!({}));
    Ok(())
}

#[test]
fn faults_and_outages_are_stored_in_the_cloud_file() -> TestResult {
    let stack = tempfile::tempdir()?;
    cairn(stack.path())?
        .args(["sim", "fault", "--throttle-rate", "0.25", "--seed", "7"])
        .assert()
        .success()
        .stdout(contains("throttle rate 0.25"));
    cairn(stack.path())?
        .args(["sim", "outage", "eu-west-1"])
        .assert()
        .success();
    cairn(stack.path())?
        .args(["sim", "outage", "mars-north-1"])
        .assert()
        .failure()
        .stderr(contains("mars-north-1"));

    let inventory = show_json(stack.path())?;
    assert_eq!(
        inventory["faults"],
        json!({ "throttle_rate": 0.25, "seed": 7 })
    );
    assert_eq!(inventory["outages"], json!(["eu-west-1"]));

    cairn(stack.path())?
        .args(["sim", "restore", "eu-west-1"])
        .assert()
        .success();
    cairn(stack.path())?
        .args(["sim", "fault", "--clear"])
        .assert()
        .success();
    let inventory = show_json(stack.path())?;
    assert_eq!(inventory["faults"], json!({}));
    assert_eq!(inventory["outages"], json!([]));
    Ok(())
}

#[test]
fn the_cloud_file_can_be_named_by_environment() -> TestResult {
    let stack = tempfile::tempdir()?;
    let file = stack.path().join("elsewhere/cloud.json");
    cairn(stack.path())?
        .env("CAIRN_SIM_FILE", &file)
        .args(["sim", "outage", "us-east-2"])
        .assert()
        .success();
    assert!(file.exists());
    assert!(!stack.path().join(".cairn").exists());
    Ok(())
}

#[test]
fn a_corrupt_cloud_file_is_reported_not_reset() -> TestResult {
    let stack = tempfile::tempdir()?;
    let file = stack.path().join(".cairn/sim/cloud.json");
    std::fs::create_dir_all(file.parent().ok_or("no parent")?)?;
    std::fs::write(&file, "not json")?;
    cairn(stack.path())?
        .args(["sim", "show"])
        .assert()
        .failure()
        .stderr(contains("corrupt"));
    cairn(stack.path())?
        .args(["sim", "reset"])
        .assert()
        .failure();
    assert_eq!(std::fs::read_to_string(&file)?, "not json");
    Ok(())
}

/// Issue 16: time in backups is the cloud's; the simulator's clock is set from the CLI (not
/// through a hidden flag of the command under test), stands still once set, and snapshots
/// start at it.
#[tokio::test]
async fn the_clock_stands_where_it_is_set_and_snapshots_start_at_it() -> TestResult {
    let stack = tempfile::tempdir()?;
    cairn(stack.path())?
        .args(["sim", "clock"])
        .assert()
        .success()
        .stdout("clock: follows the wall clock\n");
    cairn(stack.path())?
        .args(["sim", "clock", "--set", "2001-03-01T00:00:00Z"])
        .assert()
        .success()
        .stdout("clock: stands at 2001-03-01T00:00:00Z\n");
    cairn(stack.path())?
        .args(["sim", "clock", "--advance", "1day 2h"])
        .assert()
        .success()
        .stdout("clock: stands at 2001-03-02T02:00:00Z\n");
    cairn(stack.path())?
        .args(["sim", "show"])
        .assert()
        .success()
        .stdout(contains("clock: stands at 2001-03-02T02:00:00Z"));

    let provider = SimProvider::open_with_faults(
        &stack.path().join(".cairn/sim/cloud.json"),
        FaultConfig::default(),
    )?;
    let now = provider.now().await?;
    assert_eq!(now.to_rfc3339(), "2001-03-02T02:00:00+00:00");
    let owner = Owner {
        stack: "shop".to_string(),
        env: "staging".to_string(),
    };
    let request = |kind, attributes: Value| CreateRequest {
        kind,
        region: "us-east-1".to_string(),
        attributes: match attributes {
            Value::Object(map) => map.into_iter().collect(),
            _ => Default::default(),
        },
        tags: owner.tags_for(&Address::new("volume.data[us-east-1a]")),
        token: String::new(),
    };
    let volume = provider
        .create(&request(
            Kind::Volume,
            json!({"zone": "us-east-1a", "size_gb": 8, "encrypted": false}),
        ))
        .await?;
    let snapshot = provider
        .create(&request(Kind::Snapshot, json!({"volume_id": volume.id})))
        .await?;
    assert_eq!(
        snapshot.attributes["started_at"],
        json!("2001-03-02T02:00:00Z")
    );

    cairn(stack.path())?
        .args(["sim", "clock", "--wall"])
        .assert()
        .success()
        .stdout("clock: follows the wall clock\n");
    let wall = provider.now().await?;
    assert!(wall > now, "{wall} after the wall clock came back");
    cairn(stack.path())?
        .args(["sim", "clock", "--set", "yesterday"])
        .assert()
        .failure()
        .stderr(contains("invalid value 'yesterday' for '--set <TIME>'"));
    Ok(())
}

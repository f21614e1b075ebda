//! Refactoring without destroying (issue 17), through the CLI on the simulated cloud: `moved`
//! blocks rename a network and move the web tier into a module with no object created,
//! replaced or destroyed; without them the plan destroys and creates; a move onto an address
//! already managed is refused at the `moved` block's line.

mod common;

use common::{Error, Stack, TestResult};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/refactor");

/// The `refactor` fixture (with its module) applied to `dev`.
fn applied() -> Result<Stack, Error> {
    let stack = Stack::fixture("refactor")?;
    let module = stack.path().join("modules/web");
    std::fs::create_dir_all(&module)?;
    std::fs::copy(
        Path::new(FIXTURE).join("modules/web/main.hcl"),
        module.join("main.hcl"),
    )?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    Ok(stack)
}

/// Replaces the stack's configuration with the refactored one, with the `moved` blocks or not.
fn refactor(stack: &Stack, with_moves: bool) -> TestResult {
    std::fs::copy(
        stack.path().join("after.hcl.txt"),
        stack.path().join("main.hcl"),
    )?;
    if with_moves {
        std::fs::copy(
            stack.path().join("moves.hcl.txt"),
            stack.path().join("moves.hcl"),
        )?;
    }
    Ok(())
}

fn run(stack: &Stack, args: &[&str]) -> Result<String, Error> {
    Ok(common::succeeded(args, &stack.cairn(args)?.output()?))
}

fn refused(stack: &Stack, args: &[&str]) -> Result<String, Error> {
    Ok(common::refused_with(args, &stack.cairn(args)?.output()?))
}

fn plan_json(stack: &Stack) -> Result<Value, Error> {
    Ok(serde_json::from_str(&run(
        stack,
        &["plan", "-e", "dev", "--json"],
    )?)?)
}

/// Every object the sim holds that carries `dev`'s ownership tags: id → address tag.
fn tagged(stack: &Stack) -> Result<BTreeMap<String, String>, Error> {
    Ok(stack
        .owned("dev")?
        .into_iter()
        .map(|owned| (owned.id, owned.address))
        .collect())
}

/// What the old address becomes under the fixture's `moved` blocks.
fn moved(address: &str) -> String {
    if let Some(rest) = address.strip_prefix("network.main") {
        format!("network.core{rest}")
    } else {
        format!("module.web.{address}")
    }
}

#[test]
fn moved_blocks_rename_a_network_and_move_the_web_tier_into_a_module_replacing_nothing()
-> TestResult {
    let stack = applied()?;
    let before = stack.state_resources("dev")?;
    let group = run(&stack, &["output", "-e", "dev", "--name", "group"])?;
    refactor(&stack, true)?;

    let plan = plan_json(&stack)?;
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 0, "replace": 0, "delete": 0}),
        "{plan}"
    );
    let moves: BTreeMap<String, String> = plan["moves"]
        .as_array()
        .ok_or("no moves in the plan")?
        .iter()
        .map(|entry| {
            let from = entry["from"].as_str().unwrap_or_default();
            (
                from.to_string(),
                entry["to"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected: BTreeMap<String, String> = before
        .keys()
        .map(|address| (address.clone(), moved(address)))
        .collect();
    assert_eq!(moves, expected);
    let text = run(&stack, &["plan", "-e", "dev"])?;
    assert!(
        text.contains("# network.main[us-east-1] has moved to network.core[us-east-1]"),
        "{text}"
    );
    assert!(
        text.contains("Plan: 0 to add, 0 to change, 0 to destroy, "),
        "{text}"
    );

    let objects_before: BTreeSet<String> = tagged(&stack)?.into_keys().collect();
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let objects_after: BTreeSet<String> = tagged(&stack)?.into_keys().collect();
    assert_eq!(
        objects_after, objects_before,
        "objects were created or deleted"
    );

    // The same objects, recorded and tagged at their new addresses.
    let after = stack.state_resources("dev")?;
    let expected: BTreeMap<String, String> = before
        .iter()
        .map(|(address, id)| (moved(address), id.clone()))
        .collect();
    assert_eq!(after, expected);
    for (id, address) in tagged(&stack)? {
        assert_eq!(after.get(&address), Some(&id), "{address} tagged on {id}");
    }
    assert_eq!(
        run(&stack, &["output", "-e", "dev", "--name", "group"])?,
        group
    );

    // The `moved` blocks stay in the configuration and do nothing more.
    let text = run(&stack, &["plan", "-e", "dev"])?;
    assert!(text.contains("No changes."), "{text}");
    Ok(())
}

#[test]
fn without_moved_blocks_the_refactored_plan_destroys_and_creates() -> TestResult {
    let stack = applied()?;
    let count = stack.state_resources("dev")?.len();
    refactor(&stack, false)?;
    let plan = plan_json(&stack)?;
    assert_eq!(plan["moves"], json!([]), "{plan}");
    assert_eq!(plan["summary"]["delete"], count, "{plan}");
    assert!(
        plan["summary"]["create"].as_u64() >= Some(count as u64),
        "{plan}"
    );
    Ok(())
}

#[test]
fn a_move_onto_an_address_already_managed_is_refused_at_the_moved_block() -> TestResult {
    let stack = applied()?;
    let config = stack.path().join("main.hcl");
    let mut text = std::fs::read_to_string(&config)?;
    text.push_str("\nvolume \"data\" {\n  zone    = region.zones[0]\n  size_gb = 10\n  encrypted = true\n}\n\nvolume \"logs\" {\n  zone    = region.zones[0]\n  size_gb = 10\n  encrypted = true\n}\n");
    std::fs::write(&config, &text)?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    std::fs::write(
        stack.path().join("moves.hcl"),
        "# volume.logs is managed already\n\nmoved {\n  from = volume.data\n  to   = volume.logs\n}\n",
    )?;
    let error = refused(&stack, &["plan", "-e", "dev"])?;
    assert!(
        error.contains("moves.hcl:3:1 moves `volume.data[us-east-1]` to `volume.logs[us-east-1]`, but `volume.logs[us-east-1]` is already managed"),
        "{error}"
    );
    Ok(())
}

#[test]
fn a_moved_block_that_names_no_block_is_an_error_at_its_line() -> TestResult {
    let stack = applied()?;
    std::fs::write(
        stack.path().join("moves.hcl"),
        "moved {\n  from = \"network.main\"\n  to   = network.core\n}\n",
    )?;
    let error = refused(&stack, &["plan", "-e", "dev"])?;
    assert!(
        error.contains("`from` of a `moved` block must name a resource or a module"),
        "{error}"
    );
    assert!(error.contains("moves.hcl:2"), "{error}");
    Ok(())
}

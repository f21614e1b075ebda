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

/// Sets `protect = true` on the `dev` environment of the stack's `main.hcl`.
fn protect(stack: &Stack) -> TestResult {
    let config = stack.path().join("main.hcl");
    let text = std::fs::read_to_string(&config)?
        .replace("cloud = \"sim\"", "cloud   = \"sim\"\n  protect = true");
    std::fs::write(&config, text)?;
    Ok(())
}

#[test]
fn without_moved_blocks_a_protected_environment_refuses_the_destroy_and_create() -> TestResult {
    let stack = applied()?;
    let count = stack.state_resources("dev")?.len();
    let objects_before: BTreeSet<String> = tagged(&stack)?.into_keys().collect();
    refactor(&stack, false)?;
    protect(&stack)?;

    let error = refused(&stack, &["plan", "-e", "dev"])?;
    let error = common::squeeze(&error);
    assert!(
        error.contains(&common::squeeze(
            "environment `dev` is protected (`protect = true`), but the plan would replace or destroy: destroy `autoscaling.web[us-east-1]` (recorded in state; its block is no longer in the configuration)"
        )),
        "{error}"
    );
    assert!(
        error.contains(&common::squeeze("destroy `network.main[us-east-1]`")),
        "{error}"
    );
    refused(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let objects_after: BTreeSet<String> = tagged(&stack)?.into_keys().collect();
    assert_eq!(
        objects_after, objects_before,
        "a refused apply changed the cloud"
    );

    // With the `moved` blocks nothing is replaced or destroyed, so protection has nothing to
    // refuse; `--force` plans the destroy and create on purpose.
    std::fs::copy(
        stack.path().join("moves.hcl.txt"),
        stack.path().join("moves.hcl"),
    )?;
    let plan = plan_json(&stack)?;
    assert_eq!(plan["summary"]["delete"], 0, "{plan}");
    std::fs::remove_file(stack.path().join("moves.hcl"))?;
    let forced: Value =
        serde_json::from_str(&run(&stack, &["plan", "-e", "dev", "--json", "--force"])?)?;
    assert_eq!(forced["summary"]["delete"], count, "{forced}");
    Ok(())
}

#[test]
fn a_protected_environment_refuses_a_replacement_naming_the_attribute_that_forces_it() -> TestResult
{
    let stack = applied()?;
    protect(&stack)?;
    let config = stack.path().join("main.hcl");
    let text = std::fs::read_to_string(&config)?.replace("10.0.0.0/16", "10.1.0.0/16");
    std::fs::write(&config, text)?;
    let error = common::squeeze(&refused(&stack, &["plan", "-e", "dev"])?);
    assert!(
        error.contains(&common::squeeze(
            "replace `network.main[us-east-1]` (defined at ./main.hcl:19:9; `cidr` forces replacement)"
        )),
        "{error}"
    );
    Ok(())
}

/// The object `id` as `cairn sim show --json` lists it.
fn sim_object(stack: &Stack, id: &str) -> Result<Option<Value>, Error> {
    let inventory: Value = serde_json::from_str(&run(stack, &["sim", "show", "--json"])?)?;
    Ok(inventory["regions"]
        .as_object()
        .into_iter()
        .flat_map(|regions| regions.values())
        .flat_map(|kinds| kinds.as_object().into_iter().flat_map(|kind| kind.values()))
        .flat_map(|list| list.as_array().into_iter().flatten())
        .find(|object| object["id"] == id)
        .cloned())
}

/// The fixture applied with a `volume "scratch"`, which the test then takes out of the
/// configuration with `removed_block` in its place. Returns the stack and the volume's id.
fn scratch_removed(removed_block: &str) -> Result<(Stack, String), Error> {
    let stack = applied()?;
    let config = stack.path().join("main.hcl");
    let original = std::fs::read_to_string(&config)?;
    std::fs::write(
        &config,
        format!(
            "{original}\nvolume \"scratch\" {{\n  zone      = region.zones[0]\n  size_gb   = 10\n  encrypted = true\n}}\n"
        ),
    )?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let id = stack.state_resources("dev")?["volume.scratch[us-east-1]"].clone();
    std::fs::write(&config, original)?;
    std::fs::write(stack.path().join("removed.hcl"), removed_block)?;
    Ok((stack, id))
}

#[test]
fn removed_with_destroy_false_leaves_the_object_untagged_and_unmanaged() -> TestResult {
    let (stack, id) = scratch_removed(
        "removed {\n  from = volume.scratch\n  lifecycle {\n    destroy = false\n  }\n}\n",
    )?;
    let text = run(&stack, &["plan", "-e", "dev"])?;
    assert!(
        text.contains(&format!(
            "# volume.scratch[us-east-1] `{id}` will be forgotten"
        )),
        "{text}"
    );
    assert!(
        text.contains("Plan: 0 to add, 0 to change, 0 to destroy, 1 to forget."),
        "{text}"
    );
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;

    assert!(
        !stack
            .state_resources("dev")?
            .contains_key("volume.scratch[us-east-1]")
    );
    let volume = sim_object(&stack, &id)?.ok_or("the forgotten volume is gone from the cloud")?;
    let tags = volume["tags"].as_object().ok_or("no tags")?;
    assert!(
        tags.keys().all(|key| !key.starts_with("cairn:")),
        "ownership tags left on {volume}"
    );
    // The `removed` block stays and does nothing more; nothing adopts the volume again.
    let text = run(&stack, &["plan", "-e", "dev"])?;
    assert!(text.contains("No changes."), "{text}");
    Ok(())
}

#[test]
fn removed_with_destroy_by_default_plans_the_destroy() -> TestResult {
    let (stack, id) = scratch_removed("removed {\n  from = volume.scratch\n}\n")?;
    let plan = plan_json(&stack)?;
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 0, "replace": 0, "delete": 1}),
        "{plan}"
    );
    assert_eq!(plan["forgets"], json!([]), "{plan}");
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    assert_eq!(sim_object(&stack, &id)?, None);
    Ok(())
}

#[test]
fn a_removed_block_for_a_block_still_declared_is_an_error_at_its_line() -> TestResult {
    let stack = applied()?;
    std::fs::write(
        stack.path().join("removed.hcl"),
        "\nremoved {\n  from = network.main\n  lifecycle {\n    destroy = false\n  }\n}\n",
    )?;
    let error = common::squeeze(&refused(&stack, &["plan", "-e", "dev"])?);
    assert!(
        error.contains(&common::squeeze(
            "the `removed` block at ./removed.hcl:2:1 removes `network.main`, but the configuration still declares `network.main[us-east-1]`"
        )),
        "{error}"
    );
    Ok(())
}

#[test]
fn a_moved_block_inside_a_module_moves_addresses_relative_to_the_module() -> TestResult {
    let stack = applied()?;
    refactor(&stack, true)?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let before = stack.state_resources("dev")?;

    // The module renames its firewall and says so relative to itself.
    let module = stack.path().join("modules/web/main.hcl");
    let text = std::fs::read_to_string(&module)?
        .replace("firewall \"web\"", "firewall \"front\"")
        .replace("[firewall.web]", "[firewall.front]");
    std::fs::write(
        &module,
        format!("{text}\nmoved {{\n  from = firewall.web\n  to   = firewall.front\n}}\n"),
    )?;
    let plan = plan_json(&stack)?;
    assert_eq!(plan["summary"]["create"], 0, "{plan}");
    assert_eq!(plan["summary"]["delete"], 0, "{plan}");
    assert_eq!(plan["summary"]["replace"], 0, "{plan}");
    let moves = plan["moves"].as_array().ok_or("no moves in the plan")?;
    assert!(
        moves.iter().any(
            |entry| entry["from"] == "module.web.firewall.web[us-east-1]"
                && entry["to"] == "module.web.firewall.front[us-east-1]"
        ),
        "{plan}"
    );
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let after = stack.state_resources("dev")?;
    assert_eq!(
        after.get("module.web.firewall.front[us-east-1]"),
        before.get("module.web.firewall.web[us-east-1]")
    );
    let text = run(&stack, &["plan", "-e", "dev"])?;
    assert!(text.contains("No changes."), "{text}");
    Ok(())
}

/// The fixture applied with two volumes `volume.disk["a"]` and `["b"]`, then let go of with
/// `cairn state rm` (so they exist, unmanaged and untagged). Returns the stack and the
/// volumes' ids by key.
fn unmanaged_disks() -> Result<(Stack, BTreeMap<String, String>), Error> {
    let stack = applied()?;
    let config = stack.path().join("main.hcl");
    let mut text = std::fs::read_to_string(&config)?;
    text.push_str("\nvolume \"disk\" {\n  for_each  = toset([\"a\", \"b\"])\n  zone      = region.zones[0]\n  size_gb   = 10\n  encrypted = true\n}\n");
    std::fs::write(&config, &text)?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let recorded = stack.state_resources("dev")?;
    let ids: BTreeMap<String, String> = ["a", "b"]
        .iter()
        .map(|key| {
            let address = format!("volume.disk[\"{key}\"][us-east-1]");
            (
                key.to_string(),
                recorded.get(&address).cloned().unwrap_or_default(),
            )
        })
        .collect();
    run(&stack, &["state", "rm", "-e", "dev", "volume.disk"])?;
    Ok((stack, ids))
}

#[test]
fn import_blocks_with_for_each_import_unmanaged_objects_showing_differences_as_updates()
-> TestResult {
    let (stack, ids) = unmanaged_disks()?;
    // The block now wants a tag the volumes lack: an update, after the import.
    let config = stack.path().join("main.hcl");
    let text = std::fs::read_to_string(&config)?.replace(
        "  size_gb   = 10\n",
        "  size_gb   = 10\n  tags      = { team = \"web\" }\n",
    );
    std::fs::write(&config, text)?;
    std::fs::write(
        stack.path().join("imports.hcl"),
        format!(
            "import {{\n  for_each = {{ a = \"{}\", b = \"{}\" }}\n  to       = volume.disk[each.key]\n  id       = each.value\n}}\n",
            ids["a"], ids["b"]
        ),
    )?;

    let text = run(&stack, &["plan", "-e", "dev"])?;
    assert!(
        text.contains(&format!(
            "# volume.disk[\"a\"][us-east-1] `{}` will be imported",
            ids["a"]
        )),
        "{text}"
    );
    assert!(
        text.contains("Plan: 0 to add, 2 to change, 0 to destroy, 2 to import."),
        "{text}"
    );
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;

    let recorded = stack.state_resources("dev")?;
    for (key, id) in &ids {
        let address = format!("volume.disk[\"{key}\"][us-east-1]");
        assert_eq!(recorded.get(&address), Some(id));
        let volume = sim_object(&stack, id)?.ok_or("the imported volume is gone")?;
        assert_eq!(volume["tags"]["cairn:address"], address.as_str());
        assert_eq!(volume["tags"]["team"], "web");
    }
    // The `import` block stays and does nothing more.
    let text = run(&stack, &["plan", "-e", "dev"])?;
    assert!(text.contains("No changes."), "{text}");
    Ok(())
}

#[test]
fn an_import_block_for_a_missing_object_or_one_managed_elsewhere_is_refused() -> TestResult {
    let (stack, _) = unmanaged_disks()?;
    std::fs::write(
        stack.path().join("imports.hcl"),
        "import {\n  to = volume.disk[\"a\"]\n  id = \"vol-0123456789abcdef0\"\n}\n",
    )?;
    let error = common::squeeze(&refused(&stack, &["plan", "-e", "dev"])?);
    assert!(
        error.contains(&common::squeeze(
            "the `import` block at ./imports.hcl:1:1 cannot import: volume `vol-0123456789abcdef0` does not exist in us-east-1"
        )),
        "{error}"
    );

    let network = stack.state_resources("dev")?["network.main[us-east-1]"].clone();
    let config = stack.path().join("main.hcl");
    let mut text = std::fs::read_to_string(&config)?;
    text.push_str("\nnetwork \"other\" {\n  cidr = \"10.0.0.0/16\"\n}\n");
    std::fs::write(&config, text)?;
    std::fs::write(
        stack.path().join("imports.hcl"),
        format!("import {{\n  to = network.other\n  id = \"{network}\"\n}}\n"),
    )?;
    let error = common::squeeze(&refused(&stack, &["plan", "-e", "dev"])?);
    assert!(
        error.contains(&common::squeeze(&format!(
            "`{network}` is already managed by cairn as `network.main[us-east-1]`"
        ))),
        "{error}"
    );
    Ok(())
}

#[test]
fn exclude_leaves_an_address_and_what_depends_on_it_out_of_plan_and_apply() -> TestResult {
    let stack = Stack::fixture("refactor")?;
    let config = stack.path().join("main.hcl");
    let mut text = std::fs::read_to_string(&config)?;
    text.push_str("\nvolume \"data\" {\n  zone      = region.zones[0]\n  size_gb   = 10\n  encrypted = true\n}\n");
    std::fs::write(&config, text)?;

    // Everything but the volume needs the network.
    let plan = plan_json(&stack)?;
    assert!(plan["summary"]["create"].as_u64() > Some(1), "{plan}");
    let plan: Value = serde_json::from_str(&run(
        &stack,
        &["plan", "-e", "dev", "--json", "--exclude", "network.main"],
    )?)?;
    let planned: Vec<&str> = plan["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|change| change["address"].as_str())
        .collect();
    assert_eq!(planned, ["volume.data[us-east-1]"], "{plan}");
    run(
        &stack,
        &[
            "apply",
            "-e",
            "dev",
            "--auto-approve",
            "--exclude",
            "network.main",
        ],
    )?;
    let recorded: Vec<String> = stack.state_resources("dev")?.into_keys().collect();
    assert_eq!(recorded, ["volume.data[us-east-1]"]);

    let error = refused(&stack, &["plan", "-e", "dev", "--exclude", "network.mian"])?;
    assert!(
        error.contains("--exclude `network.mian` matches no resource"),
        "{error}"
    );
    Ok(())
}

#[test]
fn discover_write_round_trips_unowned_volumes_to_a_plan_of_only_imports() -> TestResult {
    let (stack, ids) = unmanaged_disks()?;
    // The `volume "disk"` block goes: what is left in the cloud belongs to nobody.
    let config = stack.path().join("main.hcl");
    let text = std::fs::read_to_string(&config)?;
    std::fs::write(
        &config,
        &text[..text.find("\nvolume \"disk\"").ok_or("no block")?],
    )?;

    let listed = run(&stack, &["discover", "-e", "dev"])?;
    for id in ids.values() {
        assert!(listed.contains(id.as_str()), "{listed}");
    }
    assert!(listed.contains("Found 2 unowned objects"), "{listed}");
    let written = stack.path().join("discovered.hcl");
    let path = written.to_string_lossy().to_string();
    run(
        &stack,
        &[
            "discover", "-e", "dev", "--kind", "volume", "--write", &path,
        ],
    )?;
    // Never overwritten.
    refused(&stack, &["discover", "-e", "dev", "--write", &path])?;

    let plan = plan_json(&stack)?;
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 0, "replace": 0, "delete": 0}),
        "{plan}"
    );
    let imported: BTreeSet<&str> = plan["imports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| entry["id"].as_str())
        .collect();
    let expected: BTreeSet<&str> = ids.values().map(String::as_str).collect();
    assert_eq!(imported, expected);
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let text = run(&stack, &["plan", "-e", "dev"])?;
    assert!(text.contains("No changes."), "{text}");
    let listed = run(&stack, &["discover", "-e", "dev"])?;
    assert!(listed.contains("Nothing unowned found."), "{listed}");
    let error = refused(&stack, &["discover", "-e", "dev", "--kind", "network"])?;
    assert!(
        error.contains("`cairn discover` cannot list `network` objects"),
        "{error}"
    );
    Ok(())
}

#[test]
fn an_import_block_that_names_no_block_or_misuses_each_key_is_an_error_at_its_line() -> TestResult {
    let stack = applied()?;
    let imports = stack.path().join("imports.hcl");
    std::fs::write(
        &imports,
        "import {\n  to = volume.disk[each.key]\n  id = \"vol-1\"\n}\n",
    )?;
    let error = refused(&stack, &["plan", "-e", "dev"])?;
    assert!(
        error.contains("`each.key` in `to` needs a `for_each` on the `import` block"),
        "{error}"
    );
    assert!(error.contains("imports.hcl:2"), "{error}");

    std::fs::write(
        &imports,
        "import {\n  to = volume.disk\n  id = \"vol-1\"\n}\n",
    )?;
    let error = refused(&stack, &["plan", "-e", "dev"])?;
    assert!(
        error.contains("this `import` block imports into `volume.disk`, which the configuration does not declare in region `us-east-1`"),
        "{error}"
    );
    Ok(())
}

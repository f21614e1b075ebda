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

#[test]
fn a_moved_block_whose_from_is_still_declared_is_an_error_and_destroys_nothing() -> TestResult {
    // Found by a new user's trial: the `moved` block was added but the block not renamed; the
    // move ran and the plan destroyed the network it had moved and created the old one again.
    let stack = applied()?;
    let before = tagged(&stack)?;
    std::fs::write(
        stack.path().join("moves.hcl"),
        "moved {\n  from = network.main\n  to   = network.core\n}\n",
    )?;
    let error = refused(&stack, &["plan", "-e", "dev"])?;
    assert!(
        error.contains("moves.hcl:1:1 moves `network.main` to `network.core`, but the configuration still declares `network.main"),
        "{error}"
    );
    assert!(error.contains("rename the block `network.main`"), "{error}");
    refused(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    assert_eq!(
        tagged(&stack)?,
        before,
        "the refused apply changed the cloud"
    );
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
    forgotten(&stack, "volume.scratch[us-east-1]", &id)
}

/// Plans and applies what a `removed` block with `destroy = false` does to the object `id`
/// at `address`: forgotten, it stays in the cloud without ownership tags, and the block left
/// in place does nothing more (nothing adopts the object again).
fn forgotten(stack: &Stack, address: &str, id: &str) -> TestResult {
    let text = run(stack, &["plan", "-e", "dev"])?;
    assert!(
        text.contains(&format!("# {address} `{id}` will be forgotten")),
        "{text}"
    );
    assert!(
        text.contains("Plan: 0 to add, 0 to change, 0 to destroy, 1 to forget."),
        "{text}"
    );
    run(stack, &["apply", "-e", "dev", "--auto-approve"])?;
    assert!(!stack.state_resources("dev")?.contains_key(address));
    let object = sim_object(stack, id)?.ok_or("the forgotten object is gone from the cloud")?;
    let tags = object["tags"].as_object().ok_or("no tags")?;
    assert!(
        tags.keys().all(|key| !key.starts_with("cairn:")),
        "ownership tags left on {object}"
    );
    let text = run(stack, &["plan", "-e", "dev"])?;
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
    let error = refused(&stack, &["discover", "-e", "dev", "--kind", "dns_record"])?;
    assert!(
        error.contains("`cairn discover` cannot list `dns_record` objects"),
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
        error.contains("this `import` block imports into `volume.disk`, which the configuration does not declare in `us-east-1`"),
        "{error}"
    );
    Ok(())
}

#[test]
fn a_removed_block_inside_a_module_forgets_addresses_relative_to_the_module_call() -> TestResult {
    let stack = applied()?;
    refactor(&stack, true)?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let module = stack.path().join("modules/web/main.hcl");
    let original = std::fs::read_to_string(&module)?;
    std::fs::write(
        &module,
        format!(
            "{original}\nvolume \"scratch\" {{\n  zone      = region.zones[0]\n  size_gb   = 10\n  encrypted = true\n}}\n"
        ),
    )?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let id = stack.state_resources("dev")?["module.web.volume.scratch[us-east-1]"].clone();

    // The module lets go of its volume, naming it relative to itself.
    std::fs::write(
        &module,
        format!(
            "{original}\nremoved {{\n  from = volume.scratch\n  lifecycle {{\n    destroy = false\n  }}\n}}\n"
        ),
    )?;
    forgotten(&stack, "module.web.volume.scratch[us-east-1]", &id)
}

/// The fixture applied with a second region, whose network and subnets are then let go of
/// with `cairn state rm` (they exist, unmanaged and untagged). Returns the stack and the
/// released ids by address.
fn two_regions_released() -> Result<(Stack, BTreeMap<String, String>), Error> {
    let stack = applied()?;
    let config = stack.path().join("main.hcl");
    let text = std::fs::read_to_string(&config)?.replace(
        "  region \"us-east-1\" {\n    zones = [\"us-east-1a\", \"us-east-1b\"]\n  }\n",
        "  region \"us-east-1\" {\n    zones = [\"us-east-1a\", \"us-east-1b\"]\n  }\n  region \"us-west-2\" {\n    zones = [\"us-west-2a\", \"us-west-2b\"]\n  }\n",
    );
    std::fs::write(&config, text)?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let released: BTreeMap<String, String> = stack
        .state_resources("dev")?
        .into_iter()
        .filter(|(address, _)| {
            address == "network.main[us-west-2]" || address.starts_with("network.main.subnet.")
        })
        .collect();
    for address in released.keys() {
        run(&stack, &["state", "rm", "-e", "dev", address])?;
    }
    Ok((stack, released))
}

/// Issue 17: an `import` block names one instance of a block that has several per region (a
/// network's subnets, by zone) or one outside the primary region (by region).
#[test]
fn import_blocks_name_subnets_by_zone_and_instances_by_region() -> TestResult {
    let (stack, released) = two_regions_released()?;
    let mut blocks = String::new();
    for (address, id) in &released {
        let open = address.rfind('[').ok_or("an address without placement")?;
        let (path, placement) = (&address[..open], &address[open + 1..address.len() - 1]);
        blocks.push_str(&format!(
            "import {{\n  to = {path}[\"{placement}\"]\n  id = \"{id}\"\n}}\n\n"
        ));
    }
    std::fs::write(stack.path().join("imports.hcl"), blocks)?;
    let plan = plan_json(&stack)?;
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 0, "replace": 0, "delete": 0}),
        "{plan}"
    );
    let imported: BTreeMap<&str, &str> = plan["imports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| Some((entry["address"].as_str()?, entry["id"].as_str()?)))
        .collect();
    let expected: BTreeMap<&str, &str> = released
        .iter()
        .map(|(address, id)| (address.as_str(), id.as_str()))
        .collect();
    assert_eq!(imported, expected);
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let recorded = stack.state_resources("dev")?;
    for (address, id) in &released {
        assert_eq!(recorded.get(address), Some(id));
    }
    let text = run(&stack, &["plan", "-e", "dev"])?;
    assert!(text.contains("No changes."), "{text}");

    // A subnet block without a zone names two subnets: refused with the choices.
    std::fs::write(
        stack.path().join("imports.hcl"),
        "import {\n  to = network.main.subnet.public\n  id = \"subnet-1\"\n}\n",
    )?;
    let error = common::squeeze(&refused(&stack, &["plan", "-e", "dev"])?);
    assert!(
        error.contains(&common::squeeze(
            "this `import` block imports into `network.main.subnet.public`, which has 2 instances in `us-east-1`"
        )),
        "{error}"
    );
    assert!(
        error.contains("`network.main.subnet.public[\"us-east-1a\"]`"),
        "{error}"
    );
    Ok(())
}

/// Issue 17: two `import` blocks aimed at one address are refused at the second one's line.
#[test]
fn two_import_blocks_for_one_address_are_refused_at_the_second() -> TestResult {
    let (stack, ids) = unmanaged_disks()?;
    std::fs::write(
        stack.path().join("imports.hcl"),
        format!(
            "import {{\n  to = volume.disk[\"a\"]\n  id = \"{}\"\n}}\n\nimport {{\n  to = volume.disk[\"a\"]\n  id = \"{}\"\n}}\n",
            ids["a"], ids["b"]
        ),
    )?;
    let error = common::squeeze(&refused(&stack, &["plan", "-e", "dev"])?);
    assert!(
        error.contains(&common::squeeze(
            "this `import` block imports into `volume.disk[\"a\"][us-east-1]`, which the `import` block at ./imports.hcl:1:1 imports already"
        )),
        "{error}"
    );
    assert!(error.contains("imports.hcl:7"), "{error}");
    Ok(())
}

/// Issue 17 with issue 18: an `import` block for an address whose call an interrupted apply
/// left unresolved is refused with the call, as `cairn import` and `state mv` are: the
/// interrupted create may have made an object only the next apply adopts.
#[test]
fn an_import_block_for_an_address_with_an_interrupted_call_is_refused() -> TestResult {
    let stack = Stack::fixture("ownership")?;
    let crashed = stack
        .cairn(&["apply", "-e", "staging", "--auto-approve"])?
        .env("CAIRN_SIM_CRASH_AFTER", "1")
        .output()?;
    assert_eq!(crashed.status.code(), Some(101), "{crashed:?}");
    let state = stack.state("staging")?;
    let address = state["intents"][0]["address"]
        .as_str()
        .ok_or_else(|| format!("the crash left no intent: {state}"))?;
    let open = address.rfind('[').ok_or("an address without placement")?;
    let (path, placement) = (&address[..open], &address[open + 1..address.len() - 1]);
    std::fs::write(
        stack.path().join("imports.hcl"),
        format!("import {{\n  to = {path}[\"{placement}\"]\n  id = \"made-up-id\"\n}}\n"),
    )?;
    let args = ["plan", "-e", "staging"];
    let error = common::squeeze(&common::refused_with(&args, &stack.cairn(&args)?.output()?));
    for expected in [
        "the `import` block at ./imports.hcl:1:1 cannot import".to_string(),
        format!("refusing to import `{address}`"),
        "take the `import` block out, run `cairn apply`".to_string(),
    ] {
        assert!(error.contains(&common::squeeze(&expected)), "{error}");
    }
    // Nothing was touched: the apply still has the intent to resolve.
    assert_eq!(stack.state("staging")?["intents"], state["intents"]);
    Ok(())
}

/// A stack with one of each kind `cairn discover` writes, the blocks referring to each other.
const ADOPTED: &str = r#"stack "adopt" {
  backend "local" {
    path = ".cairn"
  }
}

environment "dev" {
  cloud = "sim"
  region "us-east-1" {
    zones = ["us-east-1a", "us-east-1b"]
  }
}
"#;

const ADOPTED_BLOCKS: &str = r#"
network "main" {
  cidr = "10.0.0.0/16"
  subnet "public" {
    newbits = 8
    public  = true
  }
  subnet "private" {
    newbits = 8
  }
}

firewall "web" {
  network = network.main
  ingress {
    protocol    = "tcp"
    ports       = 443
    from        = ["0.0.0.0/0"]
    description = "HTTPS from anywhere"
  }
  ingress {
    protocol = "tcp"
    ports    = 443
    from     = ["10.0.0.0/16"]
  }
  egress {
    protocol = "all"
    to       = ["0.0.0.0/0"]
  }
}

firewall "app" {
  network = network.main
  ingress {
    protocol = "tcp"
    ports       = "8080-8081"
    from        = [firewall.web]
    description = "from the web tier"
  }
}

instance "api" {
  image         = "ami-12c6146b"
  instance_type = "t3.micro"
  subnet        = network.main.subnet.private[1]
  firewalls     = [firewall.app]
}

volume "data" {
  zone      = region.zones[0]
  size_gb   = 20
  encrypted = true
  tags      = { tier = "data" }
}
"#;

/// Issue 17: a network with public and private subnets (its gateway and route table with
/// them), two firewalls one of which admits the other, an instance and a volume, let go of
/// with `state rm` and their blocks deleted, come back from `discover --write` under the
/// same addresses: the blocks refer to each other as the originals did, the plan shows only
/// imports, and after the apply state maps every address to the id it had.
#[test]
fn discover_write_round_trips_networks_firewalls_instances_and_volumes() -> TestResult {
    let stack = Stack::from_text(&format!("{ADOPTED}{ADOPTED_BLOCKS}"))?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let before = stack.state_resources("dev")?;
    for address in [
        "network.main",
        "firewall.web",
        "firewall.app",
        "instance.api",
        "volume.data",
    ] {
        run(&stack, &["state", "rm", "-e", "dev", address])?;
    }
    std::fs::write(stack.path().join("main.hcl"), ADOPTED)?;

    let listed = run(&stack, &["discover", "-e", "dev"])?;
    assert!(
        listed.contains(&format!("Found {} unowned objects", before.len())),
        "{listed}"
    );
    let written = stack.path().join("discovered.hcl");
    let path = written.to_string_lossy().to_string();
    run(&stack, &["discover", "-e", "dev", "--write", &path])?;
    let text = std::fs::read_to_string(&written)?;
    for expected in [
        "network \"main\" {",
        "  subnet \"private\" {\n    newbits = 8\n  }",
        "  subnet        = network.main.subnet.private[1]",
        "  firewalls     = [firewall.app]",
        "    from        = [firewall.web]\n    description = \"from the web tier\"",
        "    from        = [\"0.0.0.0/0\"]\n    description = \"HTTPS from anywhere\"",
        "    from     = [\"10.0.0.0/16\"]\n  }",
        "  to = network.main.subnet.public[\"us-east-1b\"]",
        "  to = network.main.route_table.public",
    ] {
        assert!(text.contains(expected), "{expected} not in\n{text}");
    }

    let plan = plan_json(&stack)?;
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 0, "replace": 0, "delete": 0}),
        "{text}\n{plan}"
    );
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    assert_eq!(stack.state_resources("dev")?, before);
    let plan = run(&stack, &["plan", "-e", "dev"])?;
    assert!(plan.contains("No changes."), "{plan}");
    let listed = run(&stack, &["discover", "-e", "dev"])?;
    assert!(listed.contains("Nothing unowned found."), "{listed}");
    Ok(())
}

/// Issue 17: what the language cannot say exactly is written as the nearest block with a
/// comment naming the difference, never dropped: subnets in a zone the environment no longer
/// has are listed as not declared, and the plan creates the ones it misses.
#[test]
fn discover_names_what_no_block_can_declare_in_comments() -> TestResult {
    let stack = Stack::from_text(&format!("{ADOPTED}{ADOPTED_BLOCKS}"))?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let before = stack.state_resources("dev")?;
    for address in ["network.main", "instance.api"] {
        run(&stack, &["state", "rm", "-e", "dev", address])?;
    }
    // The environment now has one zone only: no `subnet` block can hold a subnet of
    // us-east-1b, and the instance there keeps its subnet's id.
    std::fs::write(
        stack.path().join("main.hcl"),
        ADOPTED.replace("[\"us-east-1a\", \"us-east-1b\"]", "[\"us-east-1a\"]"),
    )?;
    let written = stack.path().join("discovered.hcl");
    let path = written.to_string_lossy().to_string();
    run(
        &stack,
        &[
            "discover", "-e", "dev", "--kind", "network", "--kind", "instance", "--write", &path,
        ],
    )?;
    let text = std::fs::read_to_string(&written)?;
    let private_b = &before["network.main.subnet.private[us-east-1b]"];
    assert!(
        text.contains(&format!(
            "# - subnet `{private_b}` in us-east-1: its zone `us-east-1b` is not one of the region's (us-east-1a)"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("  subnet        = \"{private_b}\"")),
        "{text}"
    );
    // The route table of the public subnets routes one more subnet than the block has now.
    assert!(
        text.contains("No route table routes exactly the `public` subnets to the internet gateway: the plan creates one."),
        "{text}"
    );
    Ok(())
}

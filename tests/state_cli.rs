//! The commands that read and edit recorded state, through the CLI on the simulated cloud:
//! `show`, `output`, `state list|show|rm`, `import` and `force-unlock`, and the ownership
//! rules behind them (issue 16): a state of another environment is refused, `state rm`
//! releases the object, `import` takes over only what nobody else owns; neither touches an
//! address an interrupted run left unresolved (issue 18).

mod common;

use common::{Error, Stack, TestResult, stderr_of};
use serde_json::{Value, json};

/// The `ownership` fixture applied to `environment`.
fn applied(environment: &str) -> Result<Stack, Error> {
    let stack = Stack::fixture("ownership")?;
    apply(&stack, environment)?;
    Ok(stack)
}

fn apply(stack: &Stack, environment: &str) -> TestResult {
    stack
        .cairn(&["apply", "-e", environment, "--auto-approve"])?
        .assert()
        .success();
    Ok(())
}

/// Runs `cairn ARGS` and returns its stdout, asserting it succeeded.
fn run(stack: &Stack, args: &[&str]) -> Result<String, Error> {
    Ok(common::succeeded(args, &stack.cairn(args)?.output()?))
}

/// Runs `cairn ARGS`, asserting it failed with exit code 1, and returns its stderr.
fn refused(stack: &Stack, args: &[&str]) -> Result<String, Error> {
    Ok(common::refused_with(args, &stack.cairn(args)?.output()?))
}

/// Issue 16: copying `staging.json` over `production.json` made `plan -e production` propose
/// to re-tag every production resource as staging's.
#[test]
fn a_state_of_another_environment_is_refused_naming_both() -> TestResult {
    let stack = applied("staging")?;
    apply(&stack, "production")?;
    let production = std::fs::read(stack.state_path("production"))?;
    std::fs::copy(stack.state_path("staging"), stack.state_path("production"))?;
    let copied = std::fs::read(stack.state_path("production"))?;

    for args in [
        &["plan", "-e", "production"][..],
        &["apply", "-e", "production", "--auto-approve"],
        &["show", "-e", "production"],
        &["state", "list", "-e", "production"],
        &["output", "-e", "production"],
    ] {
        let error = refused(&stack, args)?;
        assert!(
            error.contains("belongs to environment `staging` of stack `ownership`, not to environment `production` of stack `ownership`"),
            "{args:?}: {error}"
        );
        assert!(error.contains("production.json"), "{error}");
    }
    assert_eq!(std::fs::read(stack.state_path("production"))?, copied);

    // Putting the environment's own state back is all it takes.
    std::fs::write(stack.state_path("production"), production)?;
    let plan = run(&stack, &["plan", "-e", "production"])?;
    assert!(plan.contains("No changes."), "{plan}");
    Ok(())
}

/// Issue 16: JSON printed `(sensitive)` where text printed `(sensitive value)`.
#[test]
fn show_and_output_hide_sensitive_values_the_same_way_in_text_and_json() -> TestResult {
    let stack = applied("staging")?;
    let network_id = stack.state_resources("staging")?["network.main[us-east-1]"].clone();

    let text = run(&stack, &["output", "-e", "staging"])?;
    assert_eq!(
        text,
        format!("api_token = (sensitive value)\nnetwork_id = \"{network_id}\"\n")
    );
    let json: Value = serde_json::from_str(&run(&stack, &["output", "-e", "staging", "--json"])?)?;
    assert_eq!(
        json,
        json!({"api_token": "(sensitive value)", "network_id": network_id})
    );
    // Asked for by name, an output prints raw, sensitive or not (as `terraform output -raw`).
    let raw = run(&stack, &["output", "-e", "staging", "--name", "api_token"])?;
    assert_eq!(raw, "token-0123456789\n");
    let raw = run(&stack, &["output", "-e", "staging", "--name", "network_id"])?;
    assert_eq!(raw, format!("{network_id}\n"));
    let error = refused(&stack, &["output", "-e", "staging", "--name", "nope"])?;
    assert!(
        error.contains("no output `nope` in environment `staging`"),
        "{error}"
    );

    let shown = run(&stack, &["show", "-e", "staging"])?;
    assert!(
        shown.starts_with("Environment staging of stack ownership (serial "),
        "{shown}"
    );
    assert!(shown.contains("# network.main[us-east-1] (network in us-east-1)"));
    assert!(shown.contains(&format!("    id = {network_id}")));
    assert!(shown.contains("api_token = (sensitive value)"), "{shown}");
    assert!(!shown.contains("token-0123456789"), "{shown}");

    let document: Value =
        serde_json::from_str(&run(&stack, &["show", "-e", "staging", "--json"])?)?;
    assert_eq!(document["environment"], "staging");
    assert_eq!(
        document["outputs"]["api_token"],
        json!({"value": "(sensitive value)", "sensitive": true})
    );
    assert_eq!(
        document["outputs"]["network_id"]["value"],
        json!(network_id)
    );
    assert_eq!(
        document["resources"]["network.main[us-east-1]"]["id"],
        json!(network_id)
    );
    let whole = serde_json::to_string(&document)?;
    assert!(!whole.contains("token-0123456789"), "{whole}");
    Ok(())
}

/// The tags the simulated cloud holds on `id`, from `cairn sim show --json`.
fn cloud_tags(stack: &Stack, id: &str) -> Result<Option<Value>, Error> {
    let inventory: Value = serde_json::from_str(&run(stack, &["sim", "show", "--json"])?)?;
    Ok(inventory["regions"]
        .as_object()
        .into_iter()
        .flat_map(|regions| regions.values())
        .flat_map(|kinds| {
            kinds
                .as_object()
                .into_iter()
                .flat_map(|kinds| kinds.values())
        })
        .flat_map(|items| items.as_array().into_iter().flatten())
        .find(|item| item["id"] == id)
        .map(|item| item["tags"].clone()))
}

fn plan_json(stack: &Stack, environment: &str) -> Result<Value, Error> {
    let output = stack
        .cairn(&["plan", "-e", environment, "--json"])?
        .output()?;
    assert!(output.status.success(), "{}", stderr_of(&output));
    Ok(serde_json::from_slice(&output.stdout)?)
}

#[test]
fn state_list_and_show_print_what_is_recorded() -> TestResult {
    let stack = applied("staging")?;
    let recorded = stack.state_resources("staging")?;
    let listed = run(&stack, &["state", "list", "-e", "staging"])?;
    let expected: Vec<&str> = recorded.keys().map(String::as_str).collect();
    assert_eq!(listed.lines().collect::<Vec<_>>(), expected);
    assert_eq!(expected.len(), 7, "{listed}");

    let volume = &recorded["volume.data[us-east-1]"];
    let shown = run(
        &stack,
        &["state", "show", "-e", "staging", "volume.data[us-east-1]"],
    )?;
    assert!(
        shown.starts_with(&format!(
            "# volume.data[us-east-1] (volume in us-east-1)\n    id = {volume}\n"
        )),
        "{shown}"
    );
    assert!(shown.contains("    size_gb = 10\n"), "{shown}");
    assert!(
        shown.contains("    tags.cairn:address = \"volume.data[us-east-1]\"\n"),
        "{shown}"
    );

    let error = refused(&stack, &["state", "show", "-e", "staging", "volume.nope"])?;
    assert!(
        error.contains("no resource `volume.nope` in the state"),
        "{error}"
    );
    let never_applied = Stack::fixture("ownership")?;
    let error = refused(&never_applied, &["state", "list", "-e", "staging"])?;
    assert!(
        error.contains("no state for environment `staging` yet"),
        "{error}"
    );
    Ok(())
}

/// Issue 16: after `state rm`, the next plan adopted the object straight back ("left by an
/// interrupted run", which was untrue).
#[test]
fn state_rm_releases_the_object_so_no_plan_adopts_it_again() -> TestResult {
    let stack = applied("staging")?;
    let volume = stack.state_resources("staging")?["volume.data[us-east-1]"].clone();
    let removed = run(&stack, &["state", "rm", "-e", "staging", "volume.data"])?;
    assert!(
        removed.contains(&format!(
            "Removed volume.data[us-east-1] ({volume}): released"
        )),
        "{removed}"
    );
    assert!(removed.contains("no plan adopts it again"), "{removed}");
    assert!(
        !stack
            .state_resources("staging")?
            .contains_key("volume.data[us-east-1]")
    );

    // The object is alive, with its own tags but none of Cairn's ownership tags.
    let tags = cloud_tags(&stack, &volume)?.ok_or("the released volume is gone")?;
    for key in ["cairn:stack", "cairn:env", "cairn:address"] {
        assert!(tags.get(key).is_none(), "{key} left on {tags}");
    }
    assert_eq!(tags["Name"], "ownership-staging-data", "{tags}");

    // The configuration still wants a volume there: the plan creates one, it adopts nothing.
    let plan = plan_json(&stack, "staging")?;
    assert_eq!(plan["adopted"], json!([]), "{plan}");
    assert_eq!(plan["summary"]["create"], 1, "{plan}");
    assert_eq!(plan["changes"][0]["address"], "volume.data[us-east-1]");

    let error = refused(&stack, &["state", "rm", "-e", "staging", "volume.data"])?;
    assert!(
        error.contains("no resource `volume.data` in the state"),
        "{error}"
    );
    Ok(())
}

/// Issue 16: an imported object kept no ownership tags, so the next refresh did not find it
/// and the plan created it a second time.
#[test]
fn import_tags_and_records_an_unmanaged_object_and_the_next_plan_is_empty() -> TestResult {
    let stack = applied("staging")?;
    let address = "network.main.subnet.public[us-east-1b]";
    let subnet = stack.state_resources("staging")?[address].clone();
    run(&stack, &["state", "rm", "-e", "staging", address])?;

    let imported = run(&stack, &["import", "-e", "staging", address, &subnet])?;
    assert!(
        imported.starts_with(&format!("{address}: imported {subnet}\n")),
        "{imported}"
    );
    assert_eq!(stack.state_resources("staging")?[address], subnet);
    let tags = cloud_tags(&stack, &subnet)?.ok_or("the subnet is gone")?;
    assert_eq!(tags["cairn:address"], address);
    assert_eq!(tags["cairn:env"], "staging");
    let plan = run(&stack, &["plan", "-e", "staging"])?;
    assert!(plan.contains("No changes."), "{plan}");

    let error = refused(&stack, &["import", "-e", "staging", address, &subnet])?;
    assert!(
        error.contains(&format!("`{address}` is already managed by cairn")),
        "{error}"
    );
    let other = "network.main.subnet.public[us-east-1a]";
    let moved = stack.state_resources("staging")?[other].clone();
    run(&stack, &["state", "rm", "-e", "staging", other])?;
    let error = refused(&stack, &["import", "-e", "staging", other, &subnet])?;
    assert!(
        error.contains(&format!(
            "`{subnet}` is already managed by cairn as `{address}`"
        )),
        "{error}"
    );
    let error = refused(&stack, &["import", "-e", "staging", "volume.nope", &moved])?;
    assert!(
        error.contains("no resource `volume.nope` in the configuration"),
        "{error}"
    );
    Ok(())
}

/// Issue 16: importing an id that does not exist said "cannot reach the cloud".
#[test]
fn import_of_an_id_that_does_not_exist_says_it_does_not_exist() -> TestResult {
    let stack = applied("staging")?;
    run(&stack, &["state", "rm", "-e", "staging", "volume.data"])?;
    let state = std::fs::read(stack.state_path("staging"))?;
    let error = refused(
        &stack,
        &[
            "import",
            "-e",
            "staging",
            "volume.data[us-east-1]",
            "vol-0123456789abcdef0",
        ],
    )?;
    assert!(
        error.contains(
            "volume `vol-0123456789abcdef0` does not exist in us-east-1: there is nothing to import"
        ),
        "{error}"
    );
    assert!(!error.contains("cannot reach"), "{error}");
    assert_eq!(std::fs::read(stack.state_path("staging"))?, state);
    Ok(())
}

/// Issue 16: an object tagged by another environment was imported without a word, leaving
/// two states managing it.
#[test]
fn import_of_an_object_another_environment_manages_is_refused_unless_taken_over() -> TestResult {
    let stack = applied("staging")?;
    apply(&stack, "production")?;
    let address = "volume.data[us-east-1]";
    let production_volume = stack.state_resources("production")?[address].clone();
    run(&stack, &["state", "rm", "-e", "staging", address])?;

    let error = refused(
        &stack,
        &["import", "-e", "staging", address, &production_volume],
    )?;
    assert!(
        error.contains(&format!(
            "volume `{production_volume}` is managed by environment `production` of stack `ownership` as `{address}`; refusing to import it"
        )),
        "{error}"
    );
    assert!(error.contains("--take-over"), "{error}");
    let tags = cloud_tags(&stack, &production_volume)?.ok_or("gone")?;
    assert_eq!(tags["cairn:env"], "production");

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
        taken.contains("Taken over from environment `production` of stack `ownership`"),
        "{taken}"
    );
    let tags = cloud_tags(&stack, &production_volume)?.ok_or("gone")?;
    assert_eq!(tags["cairn:env"], "staging");
    assert_eq!(
        stack.state_resources("staging")?[address],
        production_volume
    );
    // Production no longer finds it under its tags; releasing it there is the user's next step.
    let plan = plan_json(&stack, "production")?;
    assert_eq!(plan["drift"][0]["address"], address, "{plan}");
    assert_eq!(plan["drift"][0]["what"], "deleted", "{plan}");
    let removed = run(&stack, &["state", "rm", "-e", "production", address])?;
    assert!(
        removed.contains("managed by environment `staging` of stack `ownership` now"),
        "{removed}"
    );
    let tags = cloud_tags(&stack, &production_volume)?.ok_or("gone")?;
    assert_eq!(
        tags["cairn:env"], "staging",
        "state rm of a taken-over object"
    );
    // Staging manages it now: only its own name tag is left to set.
    let plan = run(&stack, &["plan", "-e", "staging"])?;
    assert!(
        plan.contains("\"Name\" = \"ownership-production-data\" -> \"ownership-staging-data\""),
        "{plan}"
    );
    assert!(
        plan.contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{plan}"
    );
    Ok(())
}

/// Issue 16: what `destroy --target` does to a protected object: it is refused, neither
/// deleted nor silently released, and the message says how to stop managing it instead.
#[test]
fn destroy_of_a_protected_resource_is_refused_and_points_at_state_rm() -> TestResult {
    let stack = applied("staging")?;
    let state = std::fs::read(stack.state_path("staging"))?;
    let error = refused(
        &stack,
        &[
            "destroy",
            "-e",
            "staging",
            "--target",
            "volume.data",
            "--auto-approve",
        ],
    )?;
    let error = common::squeeze(&error);
    assert!(
        error.contains("theplanwouldreplaceordestroyresourcesprotectedby`lifecycle{prevent_destroy=true}`:destroy`volume.data[us-east-1]`"),
        "{error}"
    );
    assert!(error.contains("prevent_destroy=true"), "{error}");
    assert!(error.contains("cairnstatermADDRESS"), "{error}");
    assert_eq!(std::fs::read(stack.state_path("staging"))?, state);

    // A target without protection is destroyed alone.
    let destroyed = run(
        &stack,
        &[
            "destroy",
            "-e",
            "staging",
            "--target",
            "firewall.web",
            "--auto-approve",
        ],
    )?;
    assert!(
        destroyed.contains("Resources: 0 added, 0 changed, 1 destroyed."),
        "{destroyed}"
    );
    let left = stack.state_resources("staging")?;
    assert!(!left.contains_key("firewall.web[us-east-1]"));
    assert_eq!(left.len(), 6);
    Ok(())
}

/// A lock held on another host is never broken automatically, whatever its pid; only
/// `force-unlock` with its id removes it.
#[test]
fn a_lock_held_on_another_host_is_never_broken_and_force_unlock_needs_its_id() -> TestResult {
    let stack = applied("staging")?;
    let holder = cairn::state::LockInfo {
        id: "lock-on-build-42".to_string(),
        user: "ci".to_string(),
        host: "build-42.example.invalid".to_string(),
        // No such process here; on its own host it may well be running.
        pid: 999_999,
        time: "2026-01-01T00:00:00Z".to_string(),
        operation: "apply".to_string(),
    };
    std::fs::write(stack.lock_path("staging"), serde_json::to_vec(&holder)?)?;
    let state = std::fs::read(stack.state_path("staging"))?;

    for args in [
        &["apply", "-e", "staging", "--auto-approve"][..],
        &["state", "rm", "-e", "staging", "volume.data"],
        &[
            "import",
            "-e",
            "staging",
            "volume.data[us-east-1]",
            "vol-0123456789abcdef0",
        ],
    ] {
        let error = common::squeeze(&refused(&stack, args)?);
        assert!(
            error.contains("stateislockedbyci@build-42.example.invalid(pid999999)forapply"),
            "{args:?}: {error}"
        );
        assert!(
            error.contains("cairnforce-unlock-estaginglock-on-build-42"),
            "{error}"
        );
    }
    assert!(stack.lock_path("staging").exists());
    assert_eq!(std::fs::read(stack.state_path("staging"))?, state);

    let error = refused(&stack, &["force-unlock", "-e", "staging", "wrong-id"])?;
    assert!(
        error.contains("lock id `wrong-id` does not match the lock held by ci@build-42"),
        "{error}"
    );
    assert!(stack.lock_path("staging").exists());
    let unlocked = run(
        &stack,
        &["force-unlock", "-e", "staging", "lock-on-build-42"],
    )?;
    assert_eq!(
        unlocked,
        "Cairn state has been unlocked (lock lock-on-build-42).\n"
    );
    assert!(!stack.lock_path("staging").exists());
    let error = refused(
        &stack,
        &["force-unlock", "-e", "staging", "lock-on-build-42"],
    )?;
    assert!(error.contains("state is not locked"), "{error}");
    let plan = run(&stack, &["apply", "-e", "staging", "--auto-approve"])?;
    assert!(plan.contains("No changes."), "{plan}");
    Ok(())
}

/// Issue 18: `state rm` and `import` of an address whose call an interrupted run left
/// unresolved are refused, naming the call and pointing at apply: the interrupted create may
/// have made an object only the next apply adopts, and releasing or importing around it would
/// leave an object no record (or two) accounts for. Once an apply has resolved it, both work.
#[test]
fn state_rm_and_import_of_an_address_with_an_interrupted_call_are_refused_until_applied()
-> TestResult {
    let stack = Stack::fixture("ownership")?;
    let crashed = stack
        .cairn(&["apply", "-e", "staging", "--auto-approve"])?
        .env("CAIRN_SIM_CRASH_AFTER", "1")
        .output()?;
    assert_eq!(crashed.status.code(), Some(101), "{}", stderr_of(&crashed));
    let state = stack.state("staging")?;
    let intent = state["intents"]
        .as_array()
        .and_then(|intents| intents.first())
        .ok_or_else(|| format!("the crash left no intent: {state}"))?;
    let address = intent["address"]
        .as_str()
        .ok_or("an intent without address")?;
    let operation = intent["operation"]
        .as_str()
        .ok_or("an intent without operation")?;
    let what = format!("the {operation} of `{address}`, interrupted at ");

    let error = refused(&stack, &["state", "rm", "-e", "staging", address])?;
    assert!(error.contains(&what), "{error}");
    assert!(
        error.contains(&format!("refusing to state rm `{address}`")),
        "{error}"
    );
    assert!(error.contains("run `cairn apply` first"), "{error}");
    let error = refused(&stack, &["import", "-e", "staging", address, "made-up-id"])?;
    assert!(error.contains(&what), "{error}");
    assert!(
        error.contains(&format!("refusing to import `{address}`")),
        "{error}"
    );
    // Refused before anything was touched: the intent is still there for the apply.
    assert_eq!(stack.state("staging")?["intents"], state["intents"]);

    apply(&stack, "staging")?;
    assert_eq!(stack.state("staging")?["intents"], json!(null));
    let removed = run(&stack, &["state", "rm", "-e", "staging", address])?;
    assert!(removed.contains("released"), "{removed}");
    Ok(())
}

/// Issue 17: renaming `network "main"` to `network "core"` made the plan destroy the network
/// and build a new one. `state mv` records it, and every nested subnet, at the new address and
/// rewrites the objects' address tags in place: same ids, next plan empty.
#[test]
fn state_mv_renames_a_network_in_state_and_tags_and_the_next_plan_is_empty() -> TestResult {
    let stack = applied("staging")?;
    let before = stack.state_resources("staging")?;
    let config = stack.path().join("main.hcl");
    let renamed = std::fs::read_to_string(&config)?
        .replace("network \"main\"", "network \"core\"")
        .replace("network.main", "network.core");
    std::fs::write(&config, renamed)?;

    let error = refused(
        &stack,
        &[
            "state",
            "mv",
            "-e",
            "staging",
            "network.main",
            "firewall.web",
        ],
    )?;
    assert!(
        error.contains("`firewall.web[us-east-1]` is already in the state"),
        "{error}"
    );

    let moved = run(
        &stack,
        &[
            "state",
            "mv",
            "-e",
            "staging",
            "network.main",
            "network.core",
        ],
    )?;
    let network = &before["network.main[us-east-1]"];
    assert!(
        moved.contains(&format!(
            "Moved network.main[us-east-1] to network.core[us-east-1] ({network}): address tag rewritten"
        )),
        "{moved}"
    );
    assert!(moved.contains("Successfully moved 5 objects."), "{moved}");

    let after = stack.state_resources("staging")?;
    assert_eq!(after.len(), before.len());
    for (address, id) in &before {
        let now = address.replacen("network.main", "network.core", 1);
        assert_eq!(after.get(&now), Some(id), "{now} in {after:?}");
        let tags = cloud_tags(&stack, id)?.ok_or("a moved object is gone")?;
        assert_eq!(tags["cairn:address"], now.as_str(), "{tags}");
    }
    // The `Name` tags follow the block's name: updated in place, nothing created or destroyed.
    let plan = plan_json(&stack, "staging")?;
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 5, "replace": 0, "delete": 0}),
        "{plan}"
    );
    apply(&stack, "staging")?;
    let plan = run(&stack, &["plan", "-e", "staging"])?;
    assert!(plan.contains("No changes."), "{plan}");
    let ids = |resources: std::collections::BTreeMap<String, String>| {
        resources
            .into_values()
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(ids(stack.state_resources("staging")?), ids(before));

    let error = refused(
        &stack,
        &[
            "state",
            "mv",
            "-e",
            "staging",
            "network.main",
            "network.core",
        ],
    )?;
    assert!(
        error.contains("no resource `network.main` in the state"),
        "{error}"
    );
    Ok(())
}

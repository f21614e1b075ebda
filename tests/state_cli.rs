//! The commands that read and edit recorded state, through the CLI on the simulated cloud:
//! `show`, `output`, `state list|show|rm`, `import` and `force-unlock`, and the ownership
//! rules behind them (issue 16): a state of another environment is refused, `state rm`
//! releases the object, `import` takes over only what nobody else owns.

mod common;

use common::{Error, Stack, TestResult, stderr_of, stdout_of};
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
    let output = stack.cairn(args)?.output()?;
    assert!(
        output.status.success(),
        "cairn {args:?} failed:\n{}{}",
        stdout_of(&output),
        stderr_of(&output)
    );
    Ok(stdout_of(&output))
}

/// Runs `cairn ARGS`, asserting it failed with exit code 1, and returns its stderr.
fn refused(stack: &Stack, args: &[&str]) -> Result<String, Error> {
    let output = stack.cairn(args)?.output()?;
    assert_eq!(
        output.status.code(),
        Some(1),
        "cairn {args:?} should fail:\n{}{}",
        stdout_of(&output),
        stderr_of(&output)
    );
    Ok(stderr_of(&output))
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

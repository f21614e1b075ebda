//! What a user reads when a command fails: one `error:` line with the whole message, the hint
//! from the error's `help` on a `hint:` line, and causes only with `-v`, never the message a
//! second time. Driven through the CLI on copies of `tests/fixtures/e2e_stack`.

mod common;

use common::{Stack, TestResult, stderr_of};

/// `text` with the stack's tempdir written as `[STACK]`, so a snapshot does not depend on it.
fn without_stack_path(stack: &Stack, text: &str) -> String {
    let path = stack.path().display().to_string();
    let canonical = std::fs::canonicalize(stack.path())
        .map(|path| path.display().to_string())
        .unwrap_or_else(|_| path.clone());
    text.replace(&canonical, "[STACK]")
        .replace(&path, "[STACK]")
}

fn corrupt_state(stack: &Stack) -> TestResult {
    let path = stack.state_path("dev");
    std::fs::create_dir_all(path.parent().ok_or("no parent")?)?;
    std::fs::write(path, b"{ this is not json")?;
    Ok(())
}

/// Regression (issue 9): a refused state printed its message, then the same text again as
/// its cause, and its hint was part of the message.
#[test]
fn a_refused_state_is_reported_once_with_its_hint() -> TestResult {
    let stack = Stack::fixture("e2e_stack")?;
    corrupt_state(&stack)?;
    let output = stack.cairn(&["plan", "-e", "dev", "."])?.output()?;
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!(without_stack_path(&stack, &stderr_of(&output)), @r"
    error: state file `[STACK]/.cairn/state/dev.json` is corrupt: key must be a string at line 1 column 3
    hint: Cairn will not overwrite it; restore it from `[STACK]/.cairn/state/dev.json.backup` or from your own copy
    ");
    Ok(())
}

#[test]
fn verbose_adds_no_cause_the_message_already_says() -> TestResult {
    let stack = Stack::fixture("e2e_stack")?;
    corrupt_state(&stack)?;
    let output = stack
        .cairn(&["-v", "plan", "-e", "dev", "."])?
        // Only the report, not the debug log `-v` also turns on.
        .env("CAIRN_LOG", "off")
        .output()?;
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert_eq!(
        stderr.matches("key must be a string").count(),
        1,
        "{stderr}"
    );
    assert!(!stderr.contains("caused by"), "{stderr}");
    assert!(stderr.starts_with("error: state file `"), "{stderr}");
    Ok(())
}

#[test]
fn a_plan_file_from_the_previous_format_is_refused_with_advice_to_plan_again() -> TestResult {
    let stack = Stack::fixture("e2e_stack")?;
    std::fs::write(
        stack.path().join("old.plan"),
        br#"{"format_version": 1, "stack": "e2e", "environment": "dev", "cloud": "sim",
            "provider_settings": {"state_root": ".cairn"}, "changes": [], "steps": []}"#,
    )?;
    let output = stack.cairn(&["apply", "old.plan"])?.output()?;
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!(stderr_of(&output), @r"
    error: plan file `old.plan` has format version 1, older than the version 2 this Cairn reads
    hint: run `cairn plan -o FILE` again with this Cairn and apply the new file
    ");
    Ok(())
}

#[test]
fn a_plan_file_naming_an_unknown_cloud_is_refused() -> TestResult {
    let stack = Stack::fixture("e2e_stack")?;
    stack
        .cairn(&["plan", "-e", "dev", "--out", "saved.plan", "."])?
        .assert()
        .success();
    let text = std::fs::read_to_string(stack.path().join("saved.plan"))?;
    let edited = text.replace(r#""name": "sim""#, r#""name": "gcp""#);
    assert_ne!(edited, text, "the plan file names its cloud: {text}");
    std::fs::write(stack.path().join("saved.plan"), edited)?;
    let output = stack.cairn(&["apply", "saved.plan"])?.output()?;
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(
        stderr.starts_with("error: plan file `saved.plan` is not a valid plan: unknown variant `gcp`, expected `sim` or `aws`"),
        "{stderr}"
    );
    // Nothing was applied to the simulated cloud it might have been taken for.
    assert!(!stack.state_path("dev").exists());
    Ok(())
}

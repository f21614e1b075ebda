//! Input a user gives the CLI besides the stack: variables from `CAIRN_VAR_<NAME>`, variable
//! files and `--var` (in Terraform's precedence), and shell completion scripts. Driven through
//! the binary on copies of `tests/fixtures/variables`.

mod common;

use common::{Stack, TestResult, stderr_of, stdout_of};
use serde_json::Value;

/// `cairn plan --json` of the variables fixture with `environment` and `args`.
fn plan_json(
    stack: &Stack,
    environment: &[(&str, &str)],
    args: &[&str],
) -> Result<Value, common::Error> {
    let mut full = vec!["plan", "-e", "dev", "--json"];
    full.extend_from_slice(args);
    full.push(".");
    let mut command = stack.cairn(&full)?;
    for (name, value) in environment {
        command.env(name, value);
    }
    let output = command.output()?;
    if !output.status.success() {
        return Err(format!("plan failed: {}", stderr_of(&output)).into());
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// The planned change of `address` in a JSON plan.
fn change(plan: &Value, address: &str) -> Value {
    plan["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|change| change["address"] == address)
        .cloned()
        .unwrap_or(Value::Null)
}

/// The `after` attributes of each planned change, by address.
fn planned(
    stack: &Stack,
    environment: &[(&str, &str)],
    args: &[&str],
) -> Result<Value, common::Error> {
    let plan = plan_json(stack, environment, args)?;
    let mut after = serde_json::Map::new();
    for change in plan["changes"].as_array().into_iter().flatten() {
        let address = change["address"].as_str().unwrap_or_default().to_string();
        after.insert(address, change["after"].clone());
    }
    Ok(Value::Object(after))
}

const VOLUME: &str = "volume.data[us-east-1]";
const TEMPLATE: &str = "launch_template.web[us-east-1]";

#[test]
fn a_required_variable_can_come_from_the_environment_alone() -> TestResult {
    let stack = Stack::fixture("variables")?;
    let after = planned(&stack, &[("CAIRN_VAR_image", "ami-0e0e0e0e")], &[])?;
    assert_eq!(after[TEMPLATE]["image"], "ami-0e0e0e0e");
    Ok(())
}

#[test]
fn precedence_is_default_then_environment_then_var_file_then_flag() -> TestResult {
    let stack = Stack::fixture("variables")?;
    std::fs::write(stack.path().join("sizes.vars"), "size_gb = 30\n")?;
    let image = ("CAIRN_VAR_image", "ami-00000001");
    let from_env = ("CAIRN_VAR_size_gb", "20");

    let size = |after: &Value| after[VOLUME]["size_gb"].clone();
    assert_eq!(size(&planned(&stack, &[image], &[])?), 10, "the default");
    assert_eq!(size(&planned(&stack, &[image, from_env], &[])?), 20);
    let with_file = ["--var-file", "sizes.vars"];
    assert_eq!(size(&planned(&stack, &[image, from_env], &with_file)?), 30);
    let with_flag = ["--var-file", "sizes.vars", "--var", "size_gb=40"];
    assert_eq!(size(&planned(&stack, &[image, from_env], &with_flag)?), 40);
    // A flag wins over the environment for the required variable as well.
    let after = planned(&stack, &[image], &["--var", "image=ami-0f1a90f1"])?;
    assert_eq!(after[TEMPLATE]["image"], "ami-0f1a90f1");
    Ok(())
}

#[test]
fn a_map_variable_from_the_environment_is_read_as_hcl() -> TestResult {
    let stack = Stack::fixture("variables")?;
    let plan = plan_json(
        &stack,
        &[
            ("CAIRN_VAR_image", "ami-00000001"),
            ("CAIRN_VAR_volume_tags", r#"{ tier = "data", team = "db" }"#),
        ],
        &[],
    )?;
    let tags = &change(&plan, VOLUME)["after_tags"];
    assert_eq!(tags["tier"], "data");
    assert_eq!(tags["team"], "db");
    Ok(())
}

#[test]
fn a_secret_from_the_environment_never_appears_in_the_plan() -> TestResult {
    let stack = Stack::fixture("variables")?;
    let secret = "hunter2-from-ci";
    for json in [false, true] {
        let mut args = vec!["plan", "-e", "dev", "."];
        if json {
            args.insert(1, "--json");
        }
        let output = stack
            .cairn(&args)?
            .env("CAIRN_VAR_image", "ami-00000001")
            .env("CAIRN_VAR_db_password", secret)
            .output()?;
        assert!(output.status.success(), "{}", stderr_of(&output));
        let shown = stdout_of(&output) + &stderr_of(&output);
        assert!(!shown.contains(secret), "the secret leaked:\n{shown}");
        assert!(shown.contains("sensitive"), "{shown}");
    }
    Ok(())
}

#[test]
fn an_environment_variable_for_an_undeclared_variable_is_ignored() -> TestResult {
    let stack = Stack::fixture("variables")?;
    let after = planned(
        &stack,
        &[
            ("CAIRN_VAR_image", "ami-00000001"),
            ("CAIRN_VAR_some_other_stacks_variable", "x"),
        ],
        &[],
    )?;
    assert_eq!(after[TEMPLATE]["image"], "ami-00000001");
    Ok(())
}

#[test]
fn a_wrong_value_from_the_environment_names_the_environment_variable() -> TestResult {
    let stack = Stack::fixture("variables")?;
    let output = stack
        .cairn(&["plan", "-e", "dev", "."])?
        .env("CAIRN_VAR_image", "ami-00000001")
        .env("CAIRN_VAR_size_gb", "large")
        .output()?;
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("wrong type for variable `size_gb`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the value came from `CAIRN_VAR_size_gb`"),
        "{stderr}"
    );
    Ok(())
}

/// Regression (issue 9): the hint named `-var`, a flag that does not exist.
#[test]
fn a_missing_variable_hint_names_the_flags_that_exist() -> TestResult {
    let stack = Stack::fixture("variables")?;
    let output = stack.cairn(&["plan", "-e", "dev", "."])?.output()?;
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains(
            "hint: pass `--var image=VALUE`, set `CAIRN_VAR_image`, put it in a `--var-file`, or give the variable a default"
        ),
        "{stderr}"
    );
    // Every flag a hint names is one the command accepts.
    let help = stdout_of(&stack.cairn(&["plan", "--help"])?.output()?);
    for flag in ["--var ", "--var-file "] {
        assert!(help.contains(flag), "`{flag}` missing from:\n{help}");
    }
    Ok(())
}

#[test]
fn bash_completion_completes_commands_and_flags() -> TestResult {
    let stack = Stack::fixture("variables")?;
    let output = stack.cairn(&["completions", "bash"])?.output()?;
    assert!(output.status.success(), "{}", stderr_of(&output));
    let script = stack.path().join("cairn.bash");
    std::fs::write(&script, &output.stdout)?;
    // Sources the script in bash and asks it what completes the last word, as bash does on Tab.
    let complete = |words: &[&str]| -> Result<Vec<String>, common::Error> {
        let current = words.len() - 1;
        let program = format!(
            "source \"$1\"; COMP_WORDS=({}); COMP_CWORD={current}; _cairn cairn '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            words.join(" "),
            words[current],
            words[current - 1]
        );
        let output = std::process::Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &program, "completion-test"])
            .arg(&script)
            .output()?;
        if !output.status.success() {
            return Err(format!("bash failed: {}", stderr_of(&output)).into());
        }
        Ok(stdout_of(&output).lines().map(str::to_string).collect())
    };
    assert_eq!(complete(&["cairn", "pl"])?, vec!["plan"]);
    assert_eq!(
        complete(&["cairn", "plan", "--refresh"])?,
        vec!["--refresh-only"]
    );
    let shells = complete(&["cairn", "completions", ""])?;
    for shell in ["bash", "fish", "zsh"] {
        assert!(shells.iter().any(|word| word == shell), "{shells:?}");
    }
    Ok(())
}

#[test]
fn zsh_and_fish_scripts_name_every_command() -> TestResult {
    let stack = Stack::fixture("variables")?;
    for (shell, marker) in [("zsh", "#compdef cairn"), ("fish", "complete -c cairn")] {
        let output = stack.cairn(&["completions", shell])?.output()?;
        assert!(output.status.success(), "{shell}: {}", stderr_of(&output));
        let script = stdout_of(&output);
        assert!(script.contains(marker), "{shell}:\n{script}");
        for command in [
            "plan",
            "apply",
            "destroy",
            "validate",
            "completions",
            "sim",
            "dr",
        ] {
            assert!(script.contains(command), "{shell} lacks `{command}`");
        }
    }
    let output = stack.cairn(&["completions", "tcsh"])?.output()?;
    assert_eq!(
        output.status.code(),
        Some(1),
        "clap refuses an unknown shell, with the error exit code (2 means changes present)"
    );
    Ok(())
}

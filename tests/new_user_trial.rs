//! What a new user's walk through the README and a careless user's edits caught (issues 9,
//! 17 and 14 hardening, session 9): each test is named after what it caught, fails on the
//! tree before its fix and drives the binary on the simulated cloud.

mod common;

use common::{Stack, TestResult, refused_with, stderr_of, succeeded};

const QUICKSTART: &str = include_str!("../examples/quickstart/main.hcl");

/// The quickstart's configuration with `from` replaced by `to` (which must be there once).
fn quickstart_with(from: &str, to: &str) -> Result<Stack, common::Error> {
    if QUICKSTART.matches(from).count() != 1 {
        return Err(format!("`{from}` is not in the quickstart exactly once").into());
    }
    Stack::from_text(&QUICKSTART.replacen(from, to, 1))
}

/// A usage error (an unknown flag, a missing value) exited 2, clap's default, which is also
/// what `plan --detailed-exitcode` answers for "changes present": a CI job checking for drift
/// took a mistyped flag for drift. Usage errors exit 1 as every other error; `--help` and
/// `--version` still exit 0.
#[test]
fn a_usage_error_exits_1_not_the_changes_present_code_of_detailed_exitcode() -> TestResult {
    let stack = Stack::from_text(QUICKSTART)?;
    for args in [
        &["plan", "-e", "dev", "--detailed-exitcode", "--no-such-flag"][..],
        &[
            "plan",
            "-e",
            "dev",
            "--detailed-exitcode",
            "--parallelism",
            "0",
        ],
        &["completions", "tcsh"],
        &["no-such-command"],
        &[],
    ] {
        let output = stack.cairn(args)?.output()?;
        let stderr = refused_with(args, &output);
        assert!(
            stderr.contains("error:") || stderr.contains("Usage: cairn"),
            "cairn {args:?} should say what is wrong: {stderr}"
        );
    }
    for args in [&["--help"][..], &["plan", "--help"], &["--version"]] {
        let output = stack.cairn(args)?.output()?;
        let stdout = succeeded(args, &output);
        assert!(stdout.contains("cairn"), "cairn {args:?}: {stdout}");
    }
    Ok(())
}

/// Log lines (a warning, `-v`'s debug logs) went to a redirected stderr with ANSI colour
/// codes, which the views never write off a terminal or under `NO_COLOR`: a CI log showed
/// `^[[33m WARN^[[0m`.
#[test]
fn logs_written_to_a_file_or_pipe_carry_no_colour_codes() -> TestResult {
    let stack = Stack::from_text(QUICKSTART)?;
    let output = stack
        .cairn(&["-v", "plan", "-e", "dev", "."])?
        .env_remove("NO_COLOR")
        .env_remove("CAIRN_LOG")
        .output()?;
    let stderr = stderr_of(&output);
    succeeded(&["-v", "plan", "-e", "dev", "."], &output);
    assert!(
        stderr.contains("DEBUG"),
        "-v should log the phases at debug level: {stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "a redirected stderr should get no escape codes: {stderr:?}"
    );
    Ok(())
}

/// `cairn plan` without `-e` said `cairn validate` lists the environments, which it does not
/// (it counts them): the hint names them itself.
#[test]
fn a_missing_environment_names_the_stacks_environments() -> TestResult {
    let stack = Stack::webapp()?;
    for args in [&["plan", "."][..], &["history", "."], &["show", "."]] {
        let output = stack.cairn(args)?.output()?;
        let stderr = refused_with(args, &output);
        assert!(
            stderr.contains("no environment given")
                && stderr.contains("`aws`, `production` or `staging`")
                && !stderr.contains("cairn validate"),
            "cairn {args:?} should name the environments: {stderr}"
        );
    }
    Ok(())
}

/// `regions = ["us-wst-2"]` (a typo) was accepted, and the block silently made nothing in
/// any environment: a region name the catalog does not have is an error at its element, with
/// the closest name.
#[test]
fn a_mistyped_region_in_a_blocks_regions_is_an_error_at_its_line() -> TestResult {
    let stack = quickstart_with(
        "network \"main\" {\n",
        "network \"main\" {\n  regions = [\"us-east-1\", \"us-wst-2\"]\n",
    )?;
    let output = stack.cairn(&["validate", "."])?.output()?;
    let stderr = refused_with(&["validate", "."], &output);
    assert!(
        stderr.contains("unknown region `us-wst-2`")
            && stderr.contains("main.hcl:33:")
            && stderr.contains("did you mean `us-west-2`?"),
        "{stderr}"
    );
    Ok(())
}

/// A block with `for_each` referred to without a key (`network = network.main`) was reported
/// with the engine's internal reference markers (`"\u0001network.ma...`): the message says
/// the block has instances and how to name one.
#[test]
fn a_for_each_block_referred_to_without_a_key_says_to_pick_an_instance() -> TestResult {
    let stack = quickstart_with(
        "network \"main\" {\n",
        "network \"main\" {\n  for_each = toset([\"blue\", \"green\"])\n",
    )?;
    let output = stack.cairn(&["validate", "."])?.output()?;
    let stderr = refused_with(&["validate", "."], &output);
    assert!(
        !stderr.contains("\\u0001") && !stderr.contains('\u{1}'),
        "no internal markers: {stderr}"
    );
    assert!(
        stderr.contains("main.hcl:45:13")
            && stderr.contains("`network.main` has `for_each`")
            && stderr.contains("network.main[\"blue\"]"),
        "{stderr}"
    );
    Ok(())
}

/// Every `cairn …` command line of the README's code blocks, split as a shell would, without
/// the environment assignments before it and the comment, pipe or redirection after it
/// (`cargo run … --` counts as `cairn`).
fn readme_commands() -> Result<Vec<(usize, Vec<String>)>, common::Error> {
    let readme = include_str!("../README.md");
    let mut commands = Vec::new();
    let mut in_block = false;
    for (index, line) in readme.lines().enumerate() {
        let line = line.trim();
        if line.starts_with("```") {
            in_block = !in_block;
            continue;
        }
        let line = line.strip_prefix("$ ").unwrap_or(line);
        // A comment may hold an apostrophe (`the group's CPU`), which a shell never reads.
        let line = line.split(" # ").next().unwrap_or(line);
        if !in_block || !(line.contains("cairn ") || line.starts_with("cargo run")) {
            continue;
        }
        let words =
            shlex::split(line).ok_or(format!("README.md:{}: unbalanced quotes", index + 1))?;
        let mut words = words.into_iter().skip_while(|word| {
            word.split_once('=').is_some_and(|(name, _)| {
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
        });
        let command: Vec<String> = match words.next().as_deref() {
            Some("cairn") => words.collect(),
            Some("cargo") => words.skip_while(|word| word != "--").skip(1).collect(),
            _ => continue,
        };
        let command = command
            .into_iter()
            .take_while(|word| {
                !word.starts_with('#') && !["|", ">", "&&", "2>"].contains(&word.as_str())
            })
            .collect();
        commands.push((index + 1, command));
    }
    Ok(commands)
}

/// The README's traffic section told users to run `cairn sim unhealthy ami-… examples/webapp`
/// (and `healthy`, `alarm`, `load`), which take the stack directory as `--dir`: each failed
/// with "unexpected argument". Every command line the README shows parses as written.
#[test]
fn every_cairn_command_line_in_the_readme_parses_as_written() -> TestResult {
    use clap::Parser;
    let commands = readme_commands()?;
    assert!(commands.len() >= 50, "README commands found: {commands:?}");
    let mut refused = Vec::new();
    for (line, words) in &commands {
        let arguments = std::iter::once("cairn").chain(words.iter().map(String::as_str));
        if let Err(error) = cairn::cli::Cli::try_parse_from(arguments) {
            refused.push(format!(
                "README.md:{line}: cairn {}\n{error}",
                words.join(" ")
            ));
        }
    }
    assert!(refused.is_empty(), "{}", refused.join("\n"));
    Ok(())
}

/// A stack of `count` small volumes on the simulated cloud.
fn volumes(count: usize) -> String {
    let sizes: Vec<String> = (0..count).map(|index| format!("v{index} = 1")).collect();
    format!(
        r#"stack "trial" {{
  backend "local" {{
    path = ".cairn"
  }}
}}

environment "dev" {{
  cloud = "sim"
  region "us-east-1" {{
    zones = ["us-east-1a"]
  }}
}}

volume "scratch" {{
  for_each  = {{ {} }}
  zone      = region.zones[0]
  size_gb   = each.value
  encrypted = true
}}
"#,
        sizes.join(", ")
    )
}

/// A Ctrl-C that came before the operation first awaited anything met the default signal
/// handler, since the handler was set up only once the operation yielded: the process died
/// without a word and left its state lock behind (on S3 a stale lock to force-unlock), and
/// one that came while the simulated cloud kept the thread busy went unseen until the run
/// ended. Here the interrupt comes the moment a destroy holds its lock.
#[cfg(unix)]
#[test]
fn a_ctrl_c_as_soon_as_a_run_holds_its_lock_stops_it_saying_so_and_releases_the_lock() -> TestResult
{
    let stack = Stack::from_text(&volumes(300))?;
    let apply = ["apply", "-e", "dev", "--auto-approve", "."];
    succeeded(&apply, &stack.cairn(&apply)?.output()?);
    let lock = stack.lock_path("dev");
    let destroy = ["destroy", "-e", "dev", "--auto-approve", "."];
    let mut child = stack
        .cairn_std(&destroy)?
        .env("CAIRN_SIM_LATENCY_MS", "20")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    while !lock.exists() {
        if let Some(status) = child.try_wait()? {
            return Err(format!("the destroy ended before it took its lock: {status}").into());
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let pid = libc::pid_t::try_from(child.id())?;
    // SAFETY: kill(2) with the id of a child this test spawned and has not waited for yet.
    let sent = unsafe { libc::kill(pid, libc::SIGINT) };
    assert_eq!(sent, 0, "SIGINT could not be sent");
    let output = child.wait_with_output()?;
    let stderr = refused_with(&destroy, &output);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        !lock.exists(),
        "the interrupted run left its lock: {stderr}"
    );
    succeeded(&destroy, &stack.cairn(&destroy)?.output()?);
    assert_eq!(stack.cairn_tagged_count()?, 0);
    Ok(())
}

/// `cairn fmt` on a file with an unclosed block printed hcl-edit's raw report, pointing at
/// the end of the file (`HCL parse error in line 7, column 24`), where `validate` names the
/// `{` left open at its line: both say it the same way now, and the file is left alone.
#[test]
fn cairn_fmt_reports_a_syntax_error_where_validate_does() -> TestResult {
    let text = "stack \"x\" {\n  backend \"local\" {\n    path = \".cairn\"\n  }\n}\n\nnetwork \"a\" {\n  cidr = \"10.0.0.0/16\"\n";
    let stack = Stack::from_text(text)?;
    for args in [&["fmt", "."][..], &["validate", "."]] {
        let output = stack.cairn(args)?.output()?;
        let stderr = refused_with(args, &output);
        assert!(
            stderr.contains("`{` is never closed") && stderr.contains("main.hcl:7:13"),
            "cairn {args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("HCL parse error"),
            "cairn {args:?}: {stderr}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(stack.path().join("main.hcl"))?,
        text
    );
    Ok(())
}

/// `--target network.mian` answered only what addresses look like: a typo is told the block
/// path, or the whole address, it missed.
#[test]
fn a_mistyped_target_or_exclude_is_told_the_closest_address() -> TestResult {
    let stack = Stack::from_text(QUICKSTART)?;
    for (flag, pattern, closest) in [
        ("--target", "network.mian", "network.main"),
        (
            "--exclude",
            "firewall.web[us-east-2]",
            "firewall.web[us-east-1]",
        ),
    ] {
        let args = ["plan", "-e", "dev", flag, pattern, "."];
        let stderr = refused_with(&args, &stack.cairn(&args)?.output()?);
        assert!(
            stderr.contains(&format!("{flag} `{pattern}` matches no resource"))
                && stderr.contains(&format!("did you mean `{closest}`?")),
            "{stderr}"
        );
    }
    Ok(())
}

/// `image = "ubuntu"` (a name where AWS takes an id) planned, and the sim launched servers
/// from it; AWS refuses it only when the autoscaling group is created, half-way through an
/// apply. A malformed image id, written or from a variable, is an error at the attribute's
/// line at `validate` and plan time, before any call to the cloud.
#[test]
fn a_malformed_image_id_is_an_error_at_its_line_before_any_call() -> TestResult {
    let stack = quickstart_with("image         = var.image", "image         = \"ubuntu\"")?;
    for args in [&["validate", "."][..], &["plan", "-e", "dev", "."]] {
        let stderr = refused_with(args, &stack.cairn(args)?.output()?);
        assert!(
            stderr.contains("main.hcl:75:19")
                && stderr.contains("`ubuntu` is not an image id")
                && stderr.contains("`ami-` followed by 8 or 17 lowercase hexadecimal digits"),
            "cairn {args:?}: {stderr}"
        );
    }
    let stack = Stack::from_text(QUICKSTART)?;
    let plan = ["plan", "-e", "dev", "--var", "image=ami-1", "."];
    let stderr = refused_with(&plan, &stack.cairn(&plan)?.output()?);
    assert!(
        stderr.contains("main.hcl:75:19") && stderr.contains("`ami-1` is not an image id"),
        "{stderr}"
    );
    assert!(
        !stack.cloud_path().exists(),
        "the plan reached the cloud: {stderr}"
    );
    Ok(())
}

/// `cairn sim image ubuntu --missing-in us-east-1` was taken, and marked an image no
/// configuration can name (validate refuses it): the malformed id is refused the same way,
/// before the cloud file is touched (review).
#[test]
fn sim_image_refuses_a_malformed_image_id_as_validate_does() -> TestResult {
    let stack = Stack::from_text(QUICKSTART)?;
    for (image, flag) in [("ubuntu", "--missing-in"), ("ami-1", "--copy-to")] {
        let args = ["sim", "image", image, flag, "us-east-1"];
        let stderr = refused_with(&args, &stack.cairn(&args)?.output()?);
        assert!(
            stderr.contains(&format!("`{image}` is not an image id"))
                && stderr.contains("`ami-` followed by 8 or 17 lowercase hexadecimal digits"),
            "{stderr}"
        );
    }
    // `cairn sim unhealthy IMAGE` took `ubuntu` too (review).
    let args = ["sim", "unhealthy", "ubuntu"];
    let stderr = refused_with(&args, &stack.cairn(&args)?.output()?);
    assert!(stderr.contains("`ubuntu` is not an image id"), "{stderr}");
    assert!(!stack.cloud_path().exists(), "the cloud file was written");
    let args = ["sim", "image", "ami-12c6146b", "--missing-in", "us-east-1"];
    let stdout = succeeded(&args, &stack.cairn(&args)?.output()?);
    assert!(stdout.contains("is now missing in `us-east-1`"), "{stdout}");

    // A malformed id an older build marked can still be cleared: refusing it too left it in
    // the cloud file for good (review).
    let mut cloud: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(stack.cloud_path())?)?;
    cloud["missing_images"]["us-east-1"] = serde_json::json!(["ami-12c6146b", "ubuntu"]);
    cloud["unhealthy_images"] = serde_json::json!(["ubuntu"]);
    std::fs::write(stack.cloud_path(), serde_json::to_string(&cloud)?)?;
    for args in [
        ["sim", "image", "ubuntu", "--copy-to", "us-east-1"].as_slice(),
        ["sim", "healthy", "ubuntu"].as_slice(),
    ] {
        succeeded(args, &stack.cairn(args)?.output()?);
    }
    let cloud: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(stack.cloud_path())?)?;
    assert_eq!(
        cloud["missing_images"]["us-east-1"],
        serde_json::json!(["ami-12c6146b"]),
        "{cloud:#}"
    );
    assert!(
        cloud
            .get("unhealthy_images")
            .is_none_or(|images| images.as_array().is_some_and(Vec::is_empty)),
        "{cloud:#}"
    );
    Ok(())
}

/// `cairn sim clock --set yesterday` answered chrono's "input contains invalid characters"
/// without saying what a time looks like, and `--advance -5h` was taken for a flag ("unexpected
/// argument '-5'"), while `--set` could already move the clock back: the error shows the
/// formats taken, and a negative duration moves the clock back.
#[test]
fn sim_clock_says_what_a_time_looks_like_and_moves_back_by_a_negative_duration() -> TestResult {
    let stack = Stack::from_text(QUICKSTART)?;
    let set = ["sim", "clock", "--set", "yesterday"];
    let stderr = refused_with(&set, &stack.cairn(&set)?.output()?);
    assert!(
        stderr.contains("`yesterday` is not a time")
            && stderr.contains("RFC 3339 such as `2026-03-01T09:30:00Z`"),
        "{stderr}"
    );
    let advance = ["sim", "clock", "--advance", "soon"];
    let stderr = refused_with(&advance, &stack.cairn(&advance)?.output()?);
    assert!(
        stderr.contains("`soon` is not a duration")
            && stderr.contains("`-5h` moves the clock back"),
        "{stderr}"
    );
    let set = ["sim", "clock", "--set", "2026-03-01"];
    let stdout = succeeded(&set, &stack.cairn(&set)?.output()?);
    assert!(
        stdout.contains("stands at 2026-03-01T00:00:00Z"),
        "{stdout}"
    );
    let back = ["sim", "clock", "--advance", "-5h"];
    let stdout = succeeded(&back, &stack.cairn(&back)?.output()?);
    assert!(
        stdout.contains("stands at 2026-02-28T19:00:00Z"),
        "{stdout}"
    );
    let show = ["sim", "clock"];
    let stdout = succeeded(&show, &stack.cairn(&show)?.output()?);
    assert!(
        stdout.contains("stands at 2026-02-28T19:00:00Z"),
        "{stdout}"
    );
    Ok(())
}

/// The quickstart with its firewall `web` renamed `frontend` (a new security group; the old
/// one's delete is what failed).
fn renamed_firewall(text: &str) -> String {
    text.replace("firewall \"web\"", "firewall \"frontend\"")
        .replace("firewall.web", "firewall.frontend")
}

/// Renaming a firewall that running servers use failed half-way with AWS's
/// `DependencyViolation`: the apply deleted the old security group while the group's
/// instances still ran with it (they keep the groups of the template version they were
/// launched from until replaced, and a rollout replaces them only after the plan's steps),
/// and every later apply failed the same way. The old group now stays, and the plan says what
/// uses it, until the instances let go: the next apply after the rollout deletes it; a group
/// without a `rollout` block keeps it.
#[test]
fn renaming_a_firewall_that_servers_use_keeps_the_old_group_until_they_move_off() -> TestResult {
    let with_rollout = QUICKSTART.replacen(
        "  scaling \"cpu\" {",
        "  rollout {\n    strategy    = \"rolling\"\n    min_healthy = 50\n  }\n  scaling \"cpu\" {",
        1,
    );
    let apply = ["apply", "-e", "dev", "--auto-approve", "."];
    let plan = ["plan", "-e", "dev", "--detailed-exitcode", "."];
    let in_use = "firewall.web[us-east-1] `sg-";
    let used_by = "is still used by the instances of `autoscaling.web[us-east-1]`";
    for (text, rolls_out) in [(QUICKSTART.to_string(), false), (with_rollout, true)] {
        let stack = Stack::from_text(&text)?;
        let clock = ["sim", "clock", "--set", "2026-03-01T00:00:00Z"];
        succeeded(&clock, &stack.cairn(&clock)?.output()?);
        succeeded(&apply, &stack.cairn(&apply)?.output()?);
        std::fs::write(stack.path().join("main.hcl"), renamed_firewall(&text))?;
        let stdout = succeeded(&apply, &stack.cairn(&apply)?.output()?);
        assert!(
            stdout.contains(in_use) && stdout.contains(used_by),
            "rollout {rolls_out}: {stdout}"
        );
        assert_eq!(stdout.contains("rollout complete"), rolls_out, "{stdout}");
        let output = stack.cairn(&apply)?.output()?;
        let stdout = succeeded(&apply, &output);
        let deleted = stdout.contains("firewall.web[us-east-1]: Destruction complete");
        assert_eq!(deleted, rolls_out, "rollout {rolls_out}: {stdout}");
        let state = stack.state("dev")?;
        assert_eq!(
            state["resources"].get("firewall.web[us-east-1]").is_none(),
            rolls_out,
            "{state:#}"
        );
        // Nothing left to do either way: the plan says what stays, and why.
        let output = stack.cairn(&plan)?.output()?;
        assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
        let stdout = common::stdout_of(&output);
        assert_eq!(stdout.contains(used_by), !rolls_out, "{stdout}");
    }
    Ok(())
}

/// A firewall whose name or description changes is replaced, and the replacement skipped the
/// in-use check: the old security group's delete failed with `DependencyViolation` while the
/// servers ran with it (review). Destroy-then-create cannot wait for them, so the plan is
/// refused with what to do; with `create_before_destroy` the old group stays, reported as
/// in use, until the rollout moved the servers off, and the next apply deletes it.
#[test]
fn a_replaced_firewall_that_servers_use_is_kept_until_they_move_off_or_refused() -> TestResult {
    let text = QUICKSTART.replacen(
        "  scaling \"cpu\" {",
        "  rollout {\n    strategy    = \"rolling\"\n    min_healthy = 50\n  }\n  scaling \"cpu\" {",
        1,
    );
    let stack = Stack::from_text(&text)?;
    let clock = ["sim", "clock", "--set", "2026-03-01T00:00:00Z"];
    succeeded(&clock, &stack.cairn(&clock)?.output()?);
    let apply = ["apply", "-e", "dev", "--auto-approve", "."];
    succeeded(&apply, &stack.cairn(&apply)?.output()?);
    // The quickstart with `lines` added to its firewall `web`.
    let header = "firewall \"web\" {\n  network = network.main\n";
    let write_firewall_with = |lines: &str| {
        let changed = text.replacen(header, &format!("{header}{lines}"), 1);
        std::fs::write(stack.path().join("main.hcl"), changed)
    };

    // Both firewalls replaced: the refusal names each, with the block to change (it named
    // only the first, without a file or line; review).
    let app_header = "firewall \"app\" {\n  network = network.main\n";
    let both = text
        .replacen(
            header,
            &format!("{header}  description = \"front door\"\n"),
            1,
        )
        .replacen(
            app_header,
            &format!("{app_header}  description = \"app\"\n"),
            1,
        );
    std::fs::write(stack.path().join("main.hcl"), &both)?;
    let line_of = |block: &str| {
        both.lines()
            .position(|line| line.starts_with(block))
            .map_or(0, |index| index + 1)
    };
    let stderr = refused_with(&apply, &stack.cairn(&apply)?.output()?);
    for (address, block) in [("web", "firewall \"web\""), ("app", "firewall \"app\"")] {
        let line = line_of(block);
        assert!(
            stderr.contains(&format!(
                "changing `description` replaces `firewall.{address}[us-east-1]` (`sg-"
            )) && stderr.contains(&format!("defined at ./main.hcl:{line}:")),
            "{address}: {stderr}"
        );
    }
    assert!(
        stderr.contains("the instances of `autoscaling.web[us-east-1]` still run with it")
            && stderr.contains("create_before_destroy = true"),
        "{stderr}"
    );

    // Created first, the new group would keep the default name in the same network, which
    // the cloud refuses while the old one exists: the plan says so rather than failing
    // half-way with `InvalidGroup.Duplicate` (review).
    write_firewall_with(
        "  description = \"front door\"\n  lifecycle {\n    create_before_destroy = true\n  }\n",
    )?;
    let stderr = refused_with(&apply, &stack.cairn(&apply)?.output()?);
    assert!(
        stderr.contains(
            "changing `description` replaces `firewall.web[us-east-1]` (defined at ./main.hcl:43:"
        ) && stderr.contains("the new object would be named `quickstart-dev-web` too")
            && stderr.contains("set another `name`"),
        "{stderr}"
    );

    write_firewall_with(
        "  name    = \"front\"\n  lifecycle {\n    create_before_destroy = true\n  }\n",
    )?;
    let stdout = succeeded(&apply, &stack.cairn(&apply)?.output()?);
    assert!(
        stdout.contains("firewall.web[us-east-1] `sg-")
            && stdout.contains("is still used by the instances of `autoscaling.web[us-east-1]`")
            && stdout.contains("rollout complete"),
        "{stdout}"
    );
    // Nothing is destroyed in this apply: the old group stays, and the plan counted it as a
    // destroy (review).
    assert!(
        stdout.contains(
            "must be replaced (the new object is created; the old one is kept while in use)"
        ) && stdout.contains("to change, 0 to destroy."),
        "{stdout}"
    );
    assert_eq!(
        stack.state("dev")?["deposed"].as_array().map(Vec::len),
        Some(1)
    );
    let stdout = succeeded(&apply, &stack.cairn(&apply)?.output()?);
    assert!(
        stdout.contains("firewall.web[us-east-1]: Destruction complete"),
        "{stdout}"
    );
    assert!(
        stack
            .state("dev")?
            .get("deposed")
            .is_none_or(|deposed| deposed.as_array().is_some_and(Vec::is_empty))
    );
    let plan = ["plan", "-e", "dev", "--detailed-exitcode", "."];
    let output = stack.cairn(&plan)?.output()?;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        common::stdout_of(&output)
    );
    Ok(())
}

/// `cairn apply PLAN_FILE --target …` (or `--exclude`, `--retry-rollout`, `--refresh-only`,
/// `--var`, `--var-file`) applied the saved plan whole and ignored the option without a word:
/// the options that shape a fresh plan are refused with a saved one, before anything is
/// applied.
#[test]
fn options_that_shape_a_plan_are_refused_with_a_saved_plan() -> TestResult {
    let stack = Stack::from_text(QUICKSTART)?;
    let plan = ["plan", "-e", "dev", "-o", "saved.plan", "."];
    succeeded(&plan, &stack.cairn(&plan)?.output()?);
    for (flag, value) in [
        ("--target", Some("network.main")),
        ("--exclude", Some("network.main")),
        ("--retry-rollout", Some("autoscaling.web")),
        ("--refresh-only", None),
        ("--var", Some("servers=3")),
        ("--var-file", Some("prod.tfvars")),
    ] {
        let mut apply = vec!["apply", "saved.plan", "--auto-approve", flag];
        apply.extend(value);
        let stderr = refused_with(&apply, &stack.cairn(&apply)?.output()?);
        assert!(
            stderr.contains(&format!("`{flag}` cannot change a saved plan")),
            "{stderr}"
        );
    }
    assert!(
        !stack.state_path("dev").exists(),
        "a refused apply applied something"
    );
    let apply = ["apply", "saved.plan", "--auto-approve"];
    succeeded(&apply, &stack.cairn(&apply)?.output()?);
    Ok(())
}

/// `--retry-rollout` with `--refresh-only` or `--destroy` was accepted and did nothing: a
/// refresh-only plan rolls nothing out and a destroy deletes the groups, so the combination is
/// refused as a saved plan refuses it (review).
#[test]
fn retry_rollout_is_refused_where_nothing_rolls_out() -> TestResult {
    let stack = Stack::from_text(QUICKSTART)?;
    let refused = [
        ("plan", "--refresh-only"),
        ("apply", "--refresh-only"),
        ("plan", "--destroy"),
    ];
    for (verb, flag) in refused {
        let args = [
            verb,
            "-e",
            "dev",
            flag,
            "--retry-rollout",
            "autoscaling.web",
            ".",
        ];
        let stderr = refused_with(&args, &stack.cairn(&args)?.output()?);
        assert!(
            stderr.contains(&format!(
                "--retry-rollout `autoscaling.web` cannot be used with {flag}"
            )),
            "cairn {verb} {flag}: {stderr}"
        );
    }
    assert!(!stack.state_path("dev").exists());
    Ok(())
}

/// The same rename applied with the servers' group left out of the plan (`--exclude`): the
/// group the plan does not look at still runs instances on the old security group, so the old
/// group stays, where its delete failed with `DependencyViolation` (review).
#[test]
fn a_group_left_out_of_the_plan_still_keeps_the_security_group_its_servers_use() -> TestResult {
    let stack = Stack::from_text(QUICKSTART)?;
    let apply = ["apply", "-e", "dev", "--auto-approve", "."];
    succeeded(&apply, &stack.cairn(&apply)?.output()?);
    std::fs::write(stack.path().join("main.hcl"), renamed_firewall(QUICKSTART))?;
    let excluded = [
        "apply",
        "-e",
        "dev",
        "--auto-approve",
        "--exclude",
        "autoscaling.web",
        ".",
    ];
    let stdout = succeeded(&excluded, &stack.cairn(&excluded)?.output()?);
    assert!(
        stdout.contains("is still used by the instances of `autoscaling.web[us-east-1]`"),
        "{stdout}"
    );
    let state = stack.state("dev")?;
    assert!(
        state["resources"].get("firewall.web[us-east-1]").is_some(),
        "{state:#}"
    );
    Ok(())
}

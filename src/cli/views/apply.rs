//! Views of `cairn apply` and `cairn destroy`: the plan and the question before anything
//! changes, one line per step while it runs, and the report at the end (with the outputs when
//! it succeeded, and what was done, failed and not started when it did not).

use crate::apply::{ApplyEvent, ApplyObserver, ApplyReport, RolloutEnd};
use crate::cli::output::{eprintln, print, println};
use crate::ops::{ApplyOutcome, OpsError};
use crate::plan::{Operation, Plan};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

/// Shows `plan` and asks whether to go ahead, unless `approved` already (`--auto-approve`, a
/// saved plan file).
///
/// # Errors
/// [`OpsError::NoConfirmation`] when a question is needed and nobody is at a terminal.
pub fn confirm(plan: &Plan, verb: &str, approved: bool) -> Result<bool, OpsError> {
    super::plan::text(plan);
    if approved {
        return Ok(true);
    }
    ask_question(&format!("Do you want to {verb} these changes?"))
}

/// Asks `question` on the terminal; only `yes` proceeds, and nobody at a terminal is an
/// error rather than a silent no.
///
/// # Errors
/// [`OpsError::NoConfirmation`] when standard input is not a terminal or cannot be read.
pub fn ask_question(question: &str) -> Result<bool, OpsError> {
    if !std::io::stdin().is_terminal() {
        return Err(OpsError::NoConfirmation);
    }
    print!("\n{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|_| OpsError::NoConfirmation)?;
    Ok(answer.trim() == "yes")
}

/// Prints one line per step as it starts, retries, completes or fails.
pub struct Progress;

impl ApplyObserver for Progress {
    fn on_event(&self, event: &ApplyEvent) {
        match event {
            ApplyEvent::StepStarted {
                address, operation, ..
            } => println!("{address}: {}...", progressive(*operation)),
            ApplyEvent::StepRetrying {
                address,
                attempt,
                delay,
                error,
                ..
            } => println!(
                "{address}: retrying (attempt {}) in {:.1}s after: {error}",
                attempt + 1,
                delay.as_secs_f64()
            ),
            ApplyEvent::StepCompleted {
                address,
                operation,
                elapsed,
                ..
            } => println!(
                "{address}: {} complete after {:.1}s",
                noun(*operation),
                elapsed.as_secs_f64()
            ),
            ApplyEvent::StepFailed {
                address,
                operation,
                error,
                ..
            } => println!("{address}: {} failed: {error}", noun(*operation)),
            ApplyEvent::RolloutStarted {
                address,
                strategy,
                from_version,
                to_version,
                targets,
                resumed,
            } => println!(
                "{address}: {} {} rollout from version {} to {} in {}...",
                if *resumed {
                    "resuming the"
                } else {
                    "starting a"
                },
                strategy.name(),
                super::plan::version(from_version),
                super::plan::version(to_version),
                super::counted(targets.len(), "step"),
            ),
            ApplyEvent::RolloutStep {
                address,
                step,
                steps,
                target,
                capacity,
                old_healthy,
                new_healthy,
                elapsed,
                rolling_back,
            } => {
                let (what, version) = if *rolling_back {
                    ("rollback", "old")
                } else {
                    ("rollout", "new")
                };
                println!(
                    "{address}: {what} step {step}/{steps}: {target} of {capacity} on the {version} version, healthy {old_healthy} old / {new_healthy} new, after {:.1}s",
                    elapsed.as_secs_f64()
                )
            }
            ApplyEvent::RolloutRollingBack { address, reason } => {
                println!("{address}: rolling back: {reason}")
            }
            ApplyEvent::RolloutSwitched {
                address,
                from,
                to,
                healthy,
                rolling_back,
            } => println!(
                "{address}: traffic {} group `{to}` ({healthy} healthy), off `{from}`",
                if *rolling_back {
                    "back on"
                } else {
                    "switched to"
                }
            ),
            ApplyEvent::RolloutTraffic {
                address,
                configured: true,
                ..
            } => println!("{address}: traffic back on the listener's configured action"),
            ApplyEvent::RolloutTraffic {
                address,
                old_weight,
                new_weight,
                configured: false,
            } => println!(
                "{address}: traffic {old_weight}% old / {new_weight}% new (listener weights)"
            ),
            ApplyEvent::RolloutEnded {
                address,
                end,
                elapsed,
            } => match end {
                RolloutEnd::Completed => println!(
                    "{address}: rollout complete after {:.1}s",
                    elapsed.as_secs_f64()
                ),
                RolloutEnd::RolledBack { reason } => println!(
                    "{address}: rollout rolled back after {:.1}s: {reason}",
                    elapsed.as_secs_f64()
                ),
                RolloutEnd::Failed { reason } => println!(
                    "{address}: rollout failed after {:.1}s: {reason}",
                    elapsed.as_secs_f64()
                ),
            },
            ApplyEvent::ConcurrencyChanged { .. } | ApplyEvent::StatePersisted { .. } => {}
        }
    }
}

/// The end of an apply or destroy: held back by policy errors, cancelled, nothing to do, or
/// the report.
pub fn finished(outcome: &ApplyOutcome, verb: &str) -> ExitCode {
    if !outcome.blocked.is_empty() {
        // The plan is still shown, so the user sees what the errors hold back.
        super::plan::text(&outcome.plan);
        let mut rules: Vec<&str> = outcome
            .blocked
            .iter()
            .map(|finding| finding.rule.as_str())
            .collect();
        rules.sort_unstable();
        rules.dedup();
        return super::super::report::print(&Refused {
            verb: verb.to_string(),
            rules: rules.join(", "),
            allow: rules.join(","),
        });
    }
    if outcome.declined {
        println!("\n{} cancelled.", capitalized(verb));
        return ExitCode::SUCCESS;
    }
    match &outcome.report {
        None => {
            super::plan::text(&outcome.plan);
            ExitCode::SUCCESS
        }
        Some(report) => self::report(report, verb),
    }
}

fn report(report: &ApplyReport, verb: &str) -> ExitCode {
    let count = |wanted: Operation| {
        report
            .completed
            .iter()
            .filter(|(_, operation)| *operation == wanted)
            .count()
    };
    let (added, changed, destroyed) = (
        count(Operation::Create),
        count(Operation::Update),
        count(Operation::Delete),
    );
    if report.succeeded() {
        println!(
            "\n{} complete! Resources: {added} added, {changed} changed, {destroyed} destroyed.",
            capitalized(verb)
        );
        if !report.state.outputs.is_empty() {
            println!("\nOutputs:\n");
            super::state::outputs(&report.state.outputs);
        }
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "\n{} stopped. Done ({} steps, all saved in state):",
        capitalized(verb),
        report.completed.len()
    );
    for (address, operation) in &report.completed {
        eprintln!("    {} {address}", noun(*operation));
    }
    eprintln!("  Failed:");
    for (address, operation, error) in &report.failed {
        eprintln!("    {} {address}: {error}", noun(*operation));
    }
    if !report.not_started.is_empty() {
        eprintln!("  Not started:");
        for (address, operation) in &report.not_started {
            eprintln!("    {} {address}", noun(*operation));
        }
    }
    let reason = match (&report.fatal, report.interrupted) {
        (Some(fatal), _) => fatal.to_string(),
        (None, true) => "interrupted: no new changes were started".to_string(),
        (None, false) => super::counted(report.failed.len(), "step") + " failed",
    };
    super::super::report::print(&Unfinished {
        verb: verb.to_string(),
        reason,
    })
}

/// An apply or destroy that stopped before every step was done.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{verb} did not finish: {reason}")]
#[diagnostic(help("fix the cause and run `cairn {verb}` again; it resumes from what was saved"))]
struct Unfinished {
    verb: String,
    reason: String,
}

/// An apply held back by policy errors nobody allowed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{verb} refused: policy error(s) {rules} stand")]
#[diagnostic(help("fix them, suppress them with a reason, or run again with `--allow {allow}`"))]
struct Refused {
    verb: String,
    rules: String,
    allow: String,
}

fn progressive(operation: Operation) -> &'static str {
    match operation {
        Operation::Create => "Creating",
        Operation::Update => "Modifying",
        Operation::Delete => "Destroying",
    }
}

fn noun(operation: Operation) -> &'static str {
    match operation {
        Operation::Create => "Creation",
        Operation::Update => "Modifications",
        Operation::Delete => "Destruction",
    }
}

fn capitalized(verb: &str) -> String {
    let mut chars = verb.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

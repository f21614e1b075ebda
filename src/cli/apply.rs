//! `cairn apply` and `cairn destroy`: show the plan, confirm, execute, report.

use super::stack_args::{StackArgs, block_on, color_enabled};
use crate::apply::{ApplyEvent, ApplyObserver, ApplyOptions, ApplyReport};
use crate::ops::{self, ApplyRequest, OpsError, PolicyGate};
use crate::plan::{self, Operation, Plan, RenderOptions};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Make the cloud match the configuration (or a saved plan).
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub stack: StackArgs,

    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,

    /// At most N cloud calls in flight.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,

    /// Limit the apply to ADDRESS (and what it depends on); repeatable.
    #[arg(long = "target", value_name = "ADDRESS")]
    pub target: Vec<String>,

    /// Record what changed outside cairn into state; change nothing in the cloud.
    #[arg(long)]
    pub refresh_only: bool,

    /// Apply despite the policy errors of rule RULE (`CAIRN001`); repeatable. Each use is
    /// recorded in the audit log with who ran it.
    #[arg(long = "allow", value_name = "RULE", value_delimiter = ',')]
    pub allow: Vec<String>,
}

/// Destroy everything cairn manages in an environment.
#[derive(Debug, clap::Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub stack: StackArgs,

    /// Destroy without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,

    /// Destroy even an environment with `protect = true`.
    #[arg(long)]
    pub force: bool,

    /// At most N cloud calls in flight.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
}

pub fn run_apply(args: ApplyArgs) -> ExitCode {
    if let Err(error) = ops::check_allow(&args.allow) {
        return super::report::ops(error);
    }
    let mut request = ApplyRequest {
        plan: args.stack.request(),
        options: options(args.parallelism),
        policy: PolicyGate::Enforce { allow: args.allow },
        ..ApplyRequest::default()
    };
    // `cairn apply PLAN_FILE`: the positional argument names a saved plan, not a directory.
    if args.stack.dir.is_file() {
        request.plan_file = Some(args.stack.dir.clone());
        request.plan.dir = PathBuf::from(".");
    }
    request.plan.target = args.target;
    request.plan.refresh_only = args.refresh_only;
    execute(request, args.auto_approve, "apply")
}

pub fn run_destroy(args: DestroyArgs) -> ExitCode {
    let mut request = ApplyRequest {
        plan: args.stack.request(),
        options: options(args.parallelism),
        force: args.force,
        ..ApplyRequest::default()
    };
    request.plan.destroy = true;
    execute(request, args.auto_approve, "destroy")
}

fn options(parallelism: u16) -> ApplyOptions {
    ApplyOptions {
        parallelism: usize::from(parallelism),
        ..ApplyOptions::default()
    }
}

fn execute(request: ApplyRequest, auto_approve: bool, verb: &str) -> ExitCode {
    let color = color_enabled();
    let from_file = request.plan_file.is_some();
    let mut confirm = |plan: &Plan| -> Result<bool, OpsError> {
        view_plan(plan, color);
        if auto_approve || from_file {
            return Ok(true);
        }
        ask(verb)
    };
    let outcome = match block_on(ops::apply(&request, &mut confirm, &Progress)) {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(error)) => return super::report::ops(error),
        Err(error) => return super::report::error(miette::miette!("cannot start: {error}")),
    };
    if !outcome.blocked.is_empty() {
        view_plan(&outcome.plan, color);
        let mut rules: Vec<&str> = outcome
            .blocked
            .iter()
            .map(|finding| finding.rule.as_str())
            .collect();
        rules.sort_unstable();
        rules.dedup();
        eprintln!(
            "\nError: {} refused: policy error(s) {} stand.",
            verb,
            rules.join(", ")
        );
        eprintln!(
            "hint: fix them, suppress them with a reason, or run again with `--allow {}`.",
            rules.join(",")
        );
        return ExitCode::FAILURE;
    }
    if outcome.declined {
        println!("\n{} cancelled.", capitalized(verb));
        return ExitCode::SUCCESS;
    }
    match outcome.report {
        None => {
            view_plan(&outcome.plan, color);
            ExitCode::SUCCESS
        }
        Some(report) => view_report(&report, verb),
    }
}

/// The plan with its policy findings under it.
fn view_plan(plan: &Plan, color: bool) {
    print!("{}", plan::render_text(plan, &RenderOptions { color }));
    print!("{}", super::views::check::under_plan(&plan.policy, color));
}

/// Asks on the terminal; only `yes` proceeds.
fn ask(verb: &str) -> Result<bool, OpsError> {
    ask_question(&format!("Do you want to {verb} these changes?"))
}

/// Asks `question` on the terminal; only `yes` proceeds, and nobody at a terminal is an
/// error rather than a silent no.
pub(super) fn ask_question(question: &str) -> Result<bool, OpsError> {
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

fn capitalized(verb: &str) -> String {
    let mut chars = verb.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Prints one line per step as it starts, retries, completes or fails.
pub(super) struct Progress;

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
            ApplyEvent::ConcurrencyChanged { .. } | ApplyEvent::StatePersisted { .. } => {}
        }
    }
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

fn view_report(report: &ApplyReport, verb: &str) -> ExitCode {
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
        view_outputs(report);
        return ExitCode::SUCCESS;
    }
    eprintln!("\nError: {verb} did not finish.");
    if let Some(fatal) = &report.fatal {
        eprintln!("  {fatal}");
    }
    if report.interrupted {
        eprintln!("  interrupted: no new changes were started.");
    }
    eprintln!(
        "  Done ({} steps, all saved in state):",
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
    eprintln!("hint: fix the cause and run `cairn {verb}` again; it resumes from what was saved.");
    ExitCode::FAILURE
}

fn view_outputs(report: &ApplyReport) {
    if report.state.outputs.is_empty() {
        return;
    }
    println!("\nOutputs:\n");
    for (name, output) in &report.state.outputs {
        println!("{name} = {}", super::show::display_output(output));
    }
}

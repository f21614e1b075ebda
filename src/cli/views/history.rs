//! What `cairn history`, `cairn rollback` and `cairn promote` print.

use crate::cli::output::println;
use crate::ops::{HistoryReport, Released};
use crate::state::{Outcome, Version};
use std::process::ExitCode;

/// `cairn history`: one line per version, newest first, with its failure when it failed.
pub fn text(report: &HistoryReport) -> ExitCode {
    if report.versions.is_empty() {
        println!(
            "No versions of `{}` yet: nothing has been applied (history kept in {}).",
            report.environment, report.location
        );
        return ExitCode::SUCCESS;
    }
    println!(
        "{:>7}  {:<20}  {:<22}  {:<9}  {:>8}  {:<12}  {}",
        "VERSION", "TIME", "OPERATION", "OUTCOME", "DURATION", "CONFIG", "WHO / CHANGES"
    );
    for version in &report.versions {
        println!("{}", line(version));
        if let Some(failure) = &version.failure {
            println!("{:>9}{failure}", "");
        }
    }
    ExitCode::SUCCESS
}

fn line(version: &Version) -> String {
    let config = version
        .config_digest
        .as_deref()
        .map_or("-".to_string(), |digest| digest.chars().take(12).collect());
    format!(
        "{:>7}  {:<20}  {:<22}  {:<9}  {:>7.1}s  {:<12}  {}: {}",
        version.number,
        version.time.format("%Y-%m-%d %H:%M:%S"),
        version.operation,
        version.outcome,
        version.duration_seconds,
        config,
        version.actor,
        version.summary
    )
}

/// `cairn history --json`: the report as it is; it holds no sensitive value (none is ever
/// recorded).
pub fn json(report: &HistoryReport) -> ExitCode {
    super::print_json(report)
}

/// The end of a rollback or promote: the apply's own report, then the version it recorded.
pub fn released(released: &Released, verb: &str) -> ExitCode {
    let code = super::apply::finished(&released.outcome, "apply");
    let from = &released.from;
    match &released.recorded {
        Some(version) => {
            println!(
                "Recorded version {} ({}, {}) of the {verb} from version {} ({}).",
                version.number, version.operation, version.outcome, from.number, from.operation
            );
            if version.outcome == Outcome::Failed {
                return ExitCode::FAILURE;
            }
        }
        None => println!(
            "Nothing recorded: the cloud already matches version {} ({}).",
            from.number, from.operation
        ),
    }
    code
}

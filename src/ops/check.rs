//! `cairn check` and the policy gate of `cairn apply`: the built-in rules on one environment
//! or all of them, from the configuration or (`live`) from what a refresh reads, and the
//! record of every policy error an apply was allowed past.
//!
//! Promise: an apply that goes ahead despite a policy error leaves a line in the audit log
//! saying which rules, where, and who allowed them.

use super::OpsError;
use super::run::{PlanRequest, Stack, refresh_placed};
use crate::config::LoadOptions;
use crate::dr::Deployment;
use crate::plan::PolicyFinding;
use crate::policy::{self, Finding, Report};
use crate::state::StateBackend;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct CheckRequest {
    pub dir: PathBuf,
    /// The environments to check; empty: every environment of the stack.
    pub environments: Vec<String>,
    pub load: LoadOptions,
    /// Judge what the refresh reads from the cloud instead of the configuration.
    pub live: bool,
}

/// The verdict on each environment checked.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckOutcome {
    pub reports: Vec<Report>,
    /// Findings about the stack as a whole: `cairn:ignore` comments that excused nothing in
    /// any environment (only known when every environment was checked).
    pub stack_findings: Vec<Finding>,
}

impl CheckOutcome {
    /// Every finding, environments first.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.reports
            .iter()
            .flat_map(|report| &report.findings)
            .chain(&self.stack_findings)
    }

    /// Whether the check fails: any error, or with `strict` any warning.
    pub fn fails(&self, strict: bool) -> bool {
        self.findings().any(|finding| {
            finding.severity == policy::Severity::Error
                || (strict && finding.severity == policy::Severity::Warning)
        })
    }
}

/// Runs the policy on the requested environments.
///
/// # Errors
/// Configuration errors (suppressions included), an unknown environment, and with `live`
/// anything that stops a refresh.
pub async fn check(request: &CheckRequest) -> Result<CheckOutcome, OpsError> {
    let every = request.environments.is_empty();
    let mut config = super::phase("parse", || crate::config::load(&request.dir, &request.load))?;
    let names: Vec<String> = if every {
        config.environments.keys().cloned().collect()
    } else {
        request.environments.clone()
    };
    let mut outcome = CheckOutcome::default();
    for name in names {
        let plan_request = PlanRequest {
            dir: request.dir.clone(),
            environment: name,
            load: request.load.clone(),
            ..PlanRequest::default()
        };
        let stack = Stack::with_config(&plan_request, config)?;
        // Placed where the state says the environment runs, so a failed-over environment is
        // judged where it is; the state is only read, never locked or written.
        let deployment = Deployment::Recorded;
        let state = super::phase("state load", || stack.state(&deployment))?;
        let placement = super::phase("expand", || stack.place(&deployment, &state))?;
        let report = if request.live {
            let provider = stack.provider().await?;
            let observed = refresh_placed(
                &stack.owner(&deployment),
                &placement,
                &state,
                provider.as_ref(),
            )
            .await?;
            policy::check_live(&stack.config, &placement.expansion, &observed)?
        } else {
            super::phase("policy", || {
                policy::check(&stack.config, &placement.expansion)
            })?
        };
        outcome.reports.push(report);
        // The one loaded configuration goes on to the next environment.
        config = stack.config;
    }
    if every {
        outcome.stack_findings = policy::unused_comments(&config, &outcome.reports)?;
    }
    Ok(outcome)
}

/// Whether policy errors hold an apply back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PolicyGate {
    /// Not consulted: DR operations (a failover must not wait on a checklist) and library
    /// callers that do their own checking.
    #[default]
    Off,
    /// Errors block the apply unless their rule is in `allow`.
    Enforce { allow: Vec<String> },
}

impl PolicyGate {
    /// The errors among `findings` this gate does not let through.
    pub fn blocked(&self, findings: &[PolicyFinding]) -> Vec<PolicyFinding> {
        match self {
            PolicyGate::Off => Vec::new(),
            PolicyGate::Enforce { allow } => findings
                .iter()
                .filter(|finding| finding.is_error() && !allow.contains(&finding.rule))
                .cloned()
                .collect(),
        }
    }

    /// The errors among `findings` this gate lets through because the user allowed them.
    pub fn allowed(&self, findings: &[PolicyFinding]) -> Vec<PolicyFinding> {
        match self {
            PolicyGate::Off => Vec::new(),
            PolicyGate::Enforce { allow } => findings
                .iter()
                .filter(|finding| finding.is_error() && allow.contains(&finding.rule))
                .cloned()
                .collect(),
        }
    }
}

/// The findings of a report, in the form a plan keeps them.
pub fn plan_findings(report: &Report) -> Vec<PolicyFinding> {
    report
        .findings
        .iter()
        .map(|finding| PolicyFinding {
            rule: finding.rule.to_string(),
            severity: finding.severity.to_string(),
            message: finding.message.clone(),
            location: finding
                .location
                .as_ref()
                .map(|located| located.location.to_string()),
            addresses: finding.addresses.clone(),
        })
        .collect()
}

/// Checks `--allow` ids against the catalog, so that a typo does not silently allow nothing.
///
/// # Errors
/// [`OpsError::UnknownRule`] for the first id that names no rule.
pub fn check_allow(allow: &[String]) -> Result<(), OpsError> {
    match allow.iter().find(|id| !policy::is_known(id)) {
        Some(id) => Err(OpsError::UnknownRule { rule: id.clone() }),
        None => Ok(()),
    }
}

/// Where an apply's audit record goes: the state backend that keeps the stack's audit log
/// beside its states, and the region the record names.
#[derive(Clone)]
pub struct AuditSite {
    pub log: Arc<dyn StateBackend>,
    /// The primary region; the allowed errors name their own addresses.
    pub region: String,
}

/// The audit log line of an apply allowed past policy errors.
#[derive(Debug, Serialize)]
struct PolicyOverride<'a> {
    time: DateTime<Utc>,
    /// `apply --allow`
    operation: &'static str,
    stack: &'a str,
    environment: &'a str,
    /// The primary region; the allowed errors name their own addresses.
    region: &'a str,
    outcome: String,
    kept: bool,
    /// `user@host` of whoever ran the apply.
    actor: String,
    allowed: &'a [PolicyFinding],
}

/// Appends the record of `allowed` policy errors to the audit log at `site`.
///
/// # Errors
/// [`OpsError::Audit`] when the log cannot be written.
pub fn record_allowed(
    site: &AuditSite,
    plan: &crate::plan::Plan,
    allowed: &[PolicyFinding],
) -> Result<(), OpsError> {
    let mut rules: Vec<&str> = allowed.iter().map(|hold| hold.rule.as_str()).collect();
    rules.sort_unstable();
    rules.dedup();
    let record = PolicyOverride {
        time: Utc::now(),
        operation: "apply --allow",
        stack: &plan.stack,
        environment: &plan.environment,
        region: &site.region,
        outcome: format!("allowed {}", rules.join(", ")),
        kept: false,
        actor: crate::state::history::current_actor(),
        allowed,
    };
    crate::dr::append_audit(site.log.as_ref(), &record).map_err(|source| OpsError::Audit { source })
}

//! Operations: each user-facing verb (plan, apply, destroy, import, state edits) as one engine
//! function that wires the pipeline stages together and returns data for a view.
//!
//! This is where config, graph, state, provider, plan and apply meet; the CLI builds an options
//! struct, calls one function here and renders what comes back. Nothing here prints.
//!
//! Promises: every operation that writes state holds the environment's lock for its whole run;
//! a saved plan is applied only to the state it was made against; apply never re-reads the
//! configuration once the plan exists.

mod check;
mod error;
mod provider;
mod run;
mod state_ops;

pub use check::{CheckOutcome, CheckRequest, PolicyGate, check, check_allow};
pub use error::OpsError;
pub use provider::{open_provider, settings_for};
pub use run::{ApplyOutcome, ApplyRequest, Confirm, PlanRequest, Planned, Stack, apply, make_plan};
pub use state_ops::{ImportRequest, force_unlock, import, read_state, state_remove};

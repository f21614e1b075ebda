//! Operations: each user-facing verb (plan, apply, destroy, import, state edits, backups,
//! drills, failover, failback, DR status, history, rollback, promote) as one engine function that wires the pipeline
//! stages together and returns data for a view.
//!
//! This is where config, graph, state, provider, plan, apply and dr meet; the CLI builds an
//! options struct, calls one function here and renders what comes back. Nothing here prints.
//! `ops` is the top of the engine: it calls down into `dr` (which decides where an environment
//! runs and what a DR operation does), never the other way round.
//!
//! Promises: an operation loads the configuration at most once; an operation that writes
//! state holds the environment's lock from the one state read that decides what it does until
//! its last write, and plans from that read; a saved plan is applied only to the state it was
//! made against; apply never re-reads the configuration once the plan exists.

mod backend;
mod backup;
mod check;
mod discover;
mod drill;
mod error;
mod failover;
mod history;
mod migrate;
mod provider;
mod readiness;
mod rollback;
mod run;
mod session;
mod state_ops;
mod status;

pub use backend::{StateStore, encryption_settings};
pub use backup::{BackupRequest, list_backups, run_backups, verify_backups};
pub use check::{CheckOutcome, CheckRequest, PolicyGate, check, check_allow};
pub use discover::{DISCOVERABLE, DiscoverRequest, Discovered, Discovery, configuration, discover};
pub use drill::{DrillRequest, drill, tear_down_drill};
pub use error::OpsError;
pub use failover::{MoveConfirm, MovePlan, MoveRequest, failback, failover};
pub use history::{HistoryReport, history};
pub use migrate::{MigrateReport, MigrateRequest, migrate};
pub use provider::{open_provider, settings_for};
pub use readiness::dr_check;
pub use rollback::{PromoteRequest, Released, RollbackRequest, promote, rollback};
pub use run::{
    ApplyOutcome, ApplyRequest, Confirm, Held, PlanRequest, Planned, Stack, apply, make_plan, phase,
};
pub use state_ops::{
    ImportRequest, Imported, Move, Removal, force_unlock, import, read_state, state_move,
    state_remove,
};
pub use status::dr_status;

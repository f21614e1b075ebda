//! Plan: refresh live state in batches, diff desired against live, and order the actions.
//! How a plan is shown is the CLI's business (`cli::views::plan`).
//!
//! Planning is a pure function of the desired resources, the state and what the refresh
//! observed; its output is deterministic (sorted by address) so that the same inputs give the
//! same plan byte for byte.

mod decide;
mod diff;
mod error;
mod file;
mod held;
mod in_use;
mod interrupted;
mod model;
mod order;
mod reconcile;
mod refresh;
pub mod rollout;
mod same_name;
mod scope;

pub use crate::model::Operation;
pub use diff::{PlanOptions, plan};
pub use error::{PlanError, ProtectedResource, ReplacedInUse, SameNameReplacement};
pub use file::{PlanFile, ensure_applicable, load, save, state_digest};
pub use model::{
    Change, ChangeAction, Drift, DriftKind, Forget, HeldRollout, InUse, Interrupted, Kept, Move,
    PLAN_FORMAT_VERSION, Plan, PlannedRollout, PolicyFinding, Resolution, Step, Summary,
};
pub use reconcile::comparable_tags;
pub use refresh::{Observed, RefreshScope, refresh, refresh_scopes};
pub use rollout::plan_rollouts;

//! Plan: refresh live state in batches, diff desired against live, and order the actions.
//!
//! Planning is a pure function of the desired resources, the state and what the refresh
//! observed; its output is deterministic (sorted by address) so that the same inputs give the
//! same plan byte for byte.

mod diff;
mod error;
mod file;
mod model;
mod order;
mod refresh;
mod render;

pub use diff::{PlanOptions, plan};
pub use error::{PlanError, ProtectedResource};
pub use file::{ensure_applicable, load, save};
pub use model::{
    Change, ChangeAction, Drift, DriftKind, Operation, PLAN_FORMAT_VERSION, Plan, PolicyFinding,
    Step, Summary,
};
pub use refresh::{Observed, RefreshScope, refresh, refresh_scopes};
pub use render::{RenderOptions, render_json, render_text, summary_line};

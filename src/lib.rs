//! Cairn: a declarative infrastructure engine with a plan/apply model.
//!
//! A run is a pipeline and each stage is a module with one job; data flows one way:
//!
//! ```text
//! config ──► graph ──► plan ──► apply
//!                ▲        ▲   ▲
//!              model    state provider (sim | aws)
//! ```
//!
//! `dr` (backups, drills, failover) and `policy` (built-in checks) sit beside the pipeline;
//! `cli` sits on top and holds no engine logic.

pub mod apply;
pub mod cli;
pub mod config;
pub mod dr;
pub mod graph;
pub mod model;
pub mod ops;
pub mod plan;
pub mod policy;
pub mod provider;
pub mod state;
pub mod util;

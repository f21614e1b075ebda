//! Config: loads a stack directory of HCL, checks it against the schema and evaluates what
//! can be known before an environment is chosen (variables, environments, the backend), with
//! diagnostics that point at file, line and column.
//!
//! The pipeline is `read files → parse (hcl-edit, keeps spans) → schema check → build module
//! bodies → load called modules → resolve variables → read stack and environments`. Every
//! stage keeps going after an error so that one run reports all of them. Resource blocks are
//! kept as checked syntax; [`crate::graph`] evaluates them per environment and region.

pub mod diagnostics;
pub mod environment;
pub mod eval;
pub mod format;
pub mod functions;
pub mod import;
mod load;
pub mod module;
pub mod moved;
pub mod policy;
pub mod references;
pub mod regions;
pub mod removed;
pub mod schema;
pub mod snapshot;
pub mod source;
pub mod syntax;
pub mod tree;
pub mod types;
pub mod value;
pub mod variables;

pub use diagnostics::{Diagnostic, DiagnosticKind, Diagnostics};
pub use environment::{Backend, Cloud, DrMode, DrSpec, Environment, RegionSpec, StateEncryption};
pub use load::{StackLocation, load, locate};
pub use module::{Module, ModuleCall, Output, Variable};
pub use policy::{Ignore, PolicySpec};
pub use source::{Sources, Span};

use crate::model::{Moved, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where variable values come from besides their defaults, in rising precedence: the
/// environment, variable files, then flags.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--var NAME=VALUE` flags, in order (a later one wins).
    pub vars: Vec<(String, String)>,
    /// `--var-file FILE` flags: files of `NAME = VALUE` attributes.
    pub var_files: Vec<PathBuf>,
    /// `CAIRN_VAR_<NAME>=VALUE` environment variables, as `(NAME, VALUE)` (the CLI reads the
    /// process environment; the loader itself never does).
    pub env_vars: Vec<(String, String)>,
}

/// A loaded and checked stack.
#[derive(Debug, Clone)]
pub struct Config {
    /// The stack directory as given.
    pub dir: PathBuf,
    /// Every file read, for diagnostics that point into them.
    pub sources: Sources,
    /// The `stack "NAME"` label.
    pub stack: String,
    pub backend: Backend,
    /// The `encryption` block: where the state passphrases come from.
    pub encryption: Option<StateEncryption>,
    /// Values of the root module's variables.
    pub variables: BTreeMap<String, Value>,
    pub environments: BTreeMap<String, Environment>,
    /// The stack's own blocks.
    pub root: Module,
    /// Every module called (directly or not), by normalized directory.
    pub modules: BTreeMap<PathBuf, Module>,
    /// Top-level blocks in the stack's own files.
    pub block_count: usize,
}

/// How deep module calls may nest; loading refuses cycles, so this only bounds a bug.
const MAX_MODULE_DEPTH: usize = 64;

impl Config {
    /// Every `moved` block of the stack with stack-wide addresses: the root module's as
    /// written, then each called module's relative to the call (`firewall.old` in the module
    /// that `module "web"` calls moves `module.web.firewall.old`), in call order.
    pub fn moves(&self) -> Vec<Moved> {
        let mut moves = self.root.moves.clone();
        self.module_moves(&self.root, "", 0, &mut moves);
        moves
    }

    fn module_moves(&self, module: &Module, prefix: &str, depth: usize, moves: &mut Vec<Moved>) {
        if depth >= MAX_MODULE_DEPTH {
            return;
        }
        for call in &module.calls {
            let Some(called) = self.modules.get(&call.module_dir) else {
                continue;
            };
            let prefix = format!("{prefix}module.{}.", call.name);
            moves.extend(called.moves.iter().map(|moved| Moved {
                from: format!("{prefix}{}", moved.from),
                to: format!("{prefix}{}", moved.to),
                source: moved.source.clone(),
            }));
            self.module_moves(called, &prefix, depth + 1, moves);
        }
    }
}

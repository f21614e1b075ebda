//! `removed` blocks: what state records under an address the configuration no longer
//! declares is either destroyed (the default, as a deleted block would be) or forgotten, left
//! in the cloud without Cairn's ownership tags.

use super::{Address, SourceLocation};
use serde::{Deserialize, Serialize};

/// One `removed { from = ADDRESS  lifecycle { destroy = BOOL } }` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    /// A block path or address, matched as `--target` is: every instance under it.
    pub from: String,
    /// `false`: release the objects (ownership tags removed) and drop them from state.
    pub destroy: bool,
    /// Where the `removed` block is.
    pub source: SourceLocation,
}

impl Removed {
    /// Whether this block concerns `address`.
    pub fn covers(&self, address: &Address) -> bool {
        address.matches_target(&self.from)
    }
}

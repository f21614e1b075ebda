//! `removed { from = ADDRESS  lifecycle { destroy = false } }` blocks: the configuration
//! saying that what state records under an address it no longer declares is to be forgotten
//! (left in the cloud, released from Cairn's ownership tags) rather than destroyed; with
//! `destroy = true`, the default, it is destroyed as a deleted block would be.
//!
//! Promise: `from` is checked here as a `moved` block's ends are (a reference to a resource
//! block or a module) and `destroy` as a literal boolean; that the address is no longer
//! declared is the plan's check, per environment.

use super::diagnostics::Diagnostics;
use super::module::literal_bool;
use super::moved::block_address;
use super::source::Sources;
use super::tree::BlockDef;
use crate::model::Removed;
use std::path::Path;

/// What a `removed` block declares, or `None` after reporting what is wrong with it.
pub fn read_removed(
    sources: &Sources,
    dir: &Path,
    block: &BlockDef,
    diagnostics: &mut Diagnostics,
) -> Option<Removed> {
    let from = block_address(sources, block, block.attribute("from")?, diagnostics)?;
    // Destroying is what a deleted block does already, so it is the default; only
    // `destroy = false` says something a deleted block cannot.
    let destroy = match block.blocks_named("lifecycle").next() {
        Some(lifecycle) if lifecycle.attribute("destroy").is_some() => {
            literal_bool(sources, dir, lifecycle, "destroy", diagnostics)
        }
        _ => true,
    };
    Some(Removed {
        from,
        destroy,
        source: sources.location(block.ident_span),
    })
}

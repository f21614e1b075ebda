//! Where the executor saves state while it runs.

use crate::model::Address;
use crate::state::StateDocument;
use std::collections::BTreeSet;

/// Saves the state document. The executor calls [`StateSink::persist_changes`] once a round
/// (the results that came in together and the intents of the calls they release), before it
/// reports them or sends those calls; and [`StateSink::persist`] for the first save of a run
/// (moves, imports, adoptions and drift may change any entry), for rollouts, and at the end
/// with outputs and the history entry (which folds a journal back into the whole document).
/// A crash loses at most the steps in flight, whose intents are saved.
///
/// The executor increments `serial` itself before each call: the document a sink receives is
/// exactly the one to write, and a sink must not change its serial again.
pub trait StateSink: Send {
    /// Writes `state` durably (for the local backend: temp file, fsync, rename).
    ///
    /// # Errors
    ///
    /// Any failure to save. The executor treats it as fatal at once: it schedules nothing
    /// more, abandons the calls in flight and reports the error, because continuing would
    /// change the cloud without a record of it.
    fn persist(
        &mut self,
        state: &StateDocument,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;

    /// Writes `state` durably as [`StateSink::persist`] does, knowing that of its resources
    /// only the entries at `changed` differ from the version this sink saved last (any other
    /// field may differ): a sink that keeps a journal saves just those and the other fields
    /// that changed.
    ///
    /// # Errors
    /// As [`StateSink::persist`].
    fn persist_changes(
        &mut self,
        state: &StateDocument,
        changed: &BTreeSet<Address>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let _ = changed;
        self.persist(state)
    }
}

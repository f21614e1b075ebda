//! Small helpers every layer shares, written once: retry waits, one-line error chains, file
//! identity without reading, room reserved for a journal's appends, and a stable hash.
//!
//! Nothing here knows about HCL, clouds or the plan; each helper is the single place its job
//! is done, so that a fix to it (a better jitter, a cause printed twice) reaches every caller.

pub mod append_room;
pub mod backoff;
pub mod errors;
pub mod file_identity;
pub mod hash;

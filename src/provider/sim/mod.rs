//! The built-in simulated cloud with AWS semantics, persisted in a local file.

//! Policy: built-in checks with ids and source locations.

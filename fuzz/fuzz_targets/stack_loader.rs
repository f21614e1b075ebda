//! The HCL loader on whole stack directories: several files, modules, symlinks, any bytes.
//! Loads, checks and expands every environment (`cairn validate`), and renders every
//! diagnostic, as a user would see it.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(root) = tempfile::tempdir() else {
        return;
    };
    let Some(stack) = cairn_fuzz::unpack(data, root.path()) else {
        return;
    };
    let options = cairn::config::LoadOptions::default();
    if let Err(diagnostics) = cairn::graph::validate(&stack, &options) {
        let _ = diagnostics.to_string();
    }
});

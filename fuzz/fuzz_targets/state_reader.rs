//! The state file reader: any bytes as `.cairn/state/dev.json`, read as `cairn plan` and
//! `cairn apply` read it, then serialized the way a successful apply writes it back.

#![no_main]

use cairn::state::{LocalBackend, StateBackend};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(root) = tempfile::tempdir() else {
        return;
    };
    let Ok(backend) = LocalBackend::with_root(root.path(), "dev") else {
        return;
    };
    let Some(directory) = backend
        .state_path()
        .parent()
        .map(std::path::Path::to_path_buf)
    else {
        return;
    };
    if std::fs::create_dir_all(&directory).is_err()
        || std::fs::write(backend.state_path(), data).is_err()
    {
        return;
    }
    match backend.load() {
        Ok(Some(document)) => {
            // A successful apply writes the document back.
            let _ = serde_json::to_vec(&document);
        }
        Ok(None) => {}
        Err(error) => {
            let _ = error.to_string();
        }
    }
});

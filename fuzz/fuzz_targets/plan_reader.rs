//! The saved plan reader (`cairn apply FILE`): any bytes as a plan file, then the check an
//! apply makes before it acts on a plan.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(root) = tempfile::tempdir() else {
        return;
    };
    let path = root.path().join("plan.json");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    match cairn::plan::load(&path) {
        Ok(plan) => {
            let state = cairn::state::StateDocument::new(&plan.stack, &plan.environment);
            if let Err(error) = cairn::plan::ensure_applicable(&plan, &state) {
                let _ = error.to_string();
            }
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});

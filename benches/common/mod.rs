//! What the benchmarks that run the `cairn` binary share: a command that inherits none of the
//! caller's `CAIRN_SIM_*` or `CAIRN_VAR_*` variables. A `CAIRN_SIM_FILE` left in the shell
//! made the apply benchmark's three runs share one cloud (issue 16), and a stray latency,
//! fault or variable would change what is measured; a benchmark sets what it needs itself.

#![allow(dead_code)]

use std::ffi::OsString;
use std::process::Command;

/// Whether the variable `name` configures Cairn's simulated cloud or its variables.
pub fn is_cairn_setting(name: &OsString) -> bool {
    let name = name.to_string_lossy();
    name.starts_with("CAIRN_SIM_") || name.starts_with("CAIRN_VAR_")
}

/// Removes from `command` every variable among `inherited` that [`is_cairn_setting`].
pub fn isolate(command: &mut Command, inherited: impl IntoIterator<Item = OsString>) {
    for name in inherited {
        if is_cairn_setting(&name) {
            command.env_remove(name);
        }
    }
}

/// The `cairn` binary of this build, isolated from the caller's Cairn settings, without
/// colour.
pub fn cairn() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cairn"));
    isolate(&mut command, std::env::vars_os().map(|(name, _)| name));
    command.env("NO_COLOR", "1");
    command
}

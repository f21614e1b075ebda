//! Views of the commands that read a stack's configuration without touching a cloud:
//! `cairn validate`, `cairn graph` and `cairn fmt`, and `cairn completions`.

use crate::cli::output::{eprintln, print, println};
use crate::graph::ValidationSummary;
use std::path::{Path, PathBuf};

/// `cairn validate`: the configuration is valid, with what it holds.
pub fn valid(summary: &ValidationSummary) {
    println!(
        "Success! The configuration in {} is valid ({}, {}).",
        summary.dir,
        super::counted(summary.environments, "environment"),
        super::counted(summary.blocks, "block")
    );
}

/// `cairn graph`: the graph as DOT or SVG, exactly as produced.
pub fn graph(text: &str) {
    print!("{text}");
}

/// `cairn fmt`: the files that were (or, with `--check`, would be) rewritten.
pub fn formatted(files: &[PathBuf]) {
    for file in files {
        println!("{}", file.display());
    }
}

/// `cairn fmt`: a file that could not be read, written or parsed, left as it was.
pub fn not_formatted(file: &Path, reason: &str) {
    eprintln!("error: {}: {reason}; left unchanged", file.display());
}

/// `cairn completions SHELL`: the completion script (text clap_complete wrote).
pub fn completions(script: &[u8]) {
    print!("{}", String::from_utf8_lossy(script));
}

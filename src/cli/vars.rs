//! The `-var` and `-var-file` flags shared by every command that loads a stack.

use crate::config::LoadOptions;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct VarArgs {
    /// Set a variable: `-var NAME=VALUE` (repeatable; later wins).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,

    /// Read variables from a file of `NAME = VALUE` lines (repeatable).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
}

impl VarArgs {
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            vars: self.vars.clone(),
            var_files: self.var_files.clone(),
        }
    }
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("expected NAME=VALUE, got `{text}`")),
    }
}

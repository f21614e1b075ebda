//! The `--var` and `--var-file` flags shared by every command that loads a stack, and the
//! `CAIRN_VAR_<NAME>` environment variables they override.

use crate::config::LoadOptions;
use crate::config::variables::ENV_PREFIX;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct VarArgs {
    /// Set a variable: `--var NAME=VALUE` (repeatable; later wins). Overrides `--var-file`
    /// and `CAIRN_VAR_<NAME>` from the environment.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,

    /// Read variables from a file of `NAME = VALUE` lines (repeatable). Overrides
    /// `CAIRN_VAR_<NAME>` from the environment.
    #[arg(long = "var-file", value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub var_files: Vec<PathBuf>,
}

impl VarArgs {
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            vars: self.vars.clone(),
            var_files: self.var_files.clone(),
            env_vars: from_environment(std::env::vars_os()),
        }
    }
}

/// The `(NAME, VALUE)` pairs of the `CAIRN_VAR_<NAME>` variables in `environment`, sorted by
/// name so a run does not depend on the environment's order. A value that is not UTF-8 cannot
/// be a variable's value: it is left out with a warning (a required variable then says it has
/// no value).
fn from_environment(
    environment: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = environment
        .into_iter()
        .filter_map(|(key, value)| {
            let name = key.to_str()?.strip_prefix(ENV_PREFIX)?.to_string();
            match value.into_string() {
                Ok(value) if !name.is_empty() => Some((name, value)),
                Ok(_) => None,
                Err(_) => {
                    tracing::warn!("{ENV_PREFIX}{name} is not valid UTF-8; ignored");
                    None
                }
            }
        })
        .collect();
    found.sort();
    found
}

pub(super) fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("expected NAME=VALUE, got `{text}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn only_prefixed_variables_are_taken_with_the_prefix_removed() {
        let environment = [
            ("CAIRN_VAR_image", "ami-1"),
            ("PATH", "/usr/bin"),
            ("CAIRN_VAR_", "no name"),
            ("CAIRN_SIM_FILE", "cloud.json"),
            ("CAIRN_VAR_db_password", "s3cret=with=equals"),
        ]
        .map(|(key, value)| (OsString::from(key), OsString::from(value)));
        assert_eq!(
            from_environment(environment),
            vec![
                ("db_password".to_string(), "s3cret=with=equals".to_string()),
                ("image".to_string(), "ami-1".to_string()),
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_value_that_is_not_utf8_is_left_out() {
        use std::os::unix::ffi::OsStringExt;
        let environment = [(
            OsString::from("CAIRN_VAR_image"),
            OsString::from_vec(vec![0x61, 0xff, 0x62]),
        )];
        assert!(from_environment(environment).is_empty());
    }
}

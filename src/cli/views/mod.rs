//! Views: what commands print, human and JSON, apart from the commands that compute it. A view
//! takes the data an engine function returned and prints it; it decides nothing but the exit
//! code the data calls for.

pub mod backup;
pub mod dr;

use serde::Serialize;
use std::process::ExitCode;

/// How a command shows its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    /// One pretty-printed JSON document on stdout, nothing else.
    Json,
}

impl Format {
    /// `--json` or not.
    pub fn from_json_flag(json: bool) -> Format {
        if json { Format::Json } else { Format::Human }
    }
}

/// Shows `value` in `format` (as JSON, or through `human`) and returns `code`. A value that
/// cannot be serialized is an error (exit 1, the reason on stderr), never an empty line.
pub fn show<T: Serialize>(
    value: &T,
    format: Format,
    human: impl FnOnce(&T),
    code: ExitCode,
) -> ExitCode {
    match format {
        Format::Json => match serde_json::to_string_pretty(value) {
            Ok(text) => {
                println!("{text}");
                code
            }
            Err(error) => super::report::error(miette::miette!("cannot render JSON: {error}")),
        },
        Format::Human => {
            human(value);
            code
        }
    }
}

/// An age for people: `3d 4h`, `5h 2m`, `12m`, `40s`.
pub fn age(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
    );
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m")
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value whose serialization fails, as a map with non-string keys does.
    struct Unserializable;

    impl Serialize for Unserializable {
        fn serialize<S: serde::Serializer>(&self, _serializer: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("not representable"))
        }
    }

    #[test]
    fn json_that_cannot_be_serialized_is_an_error_not_an_empty_line() {
        let mut shown = false;
        let code = show(
            &Unserializable,
            Format::Json,
            |_| shown = true,
            ExitCode::SUCCESS,
        );
        assert_eq!(code, ExitCode::FAILURE);
        assert!(!shown, "the human view ran for --json");
    }

    #[test]
    fn the_code_the_data_calls_for_survives_json() {
        let code = show(&[1, 2], Format::Json, |_| {}, ExitCode::FAILURE);
        assert_eq!(code, ExitCode::FAILURE);
        let code = show(&[1, 2], Format::Human, |_| {}, ExitCode::SUCCESS);
        assert_eq!(code, ExitCode::SUCCESS);
    }

    #[test]
    fn ages_read_in_their_largest_units() {
        assert_eq!(age(-5), "0s");
        assert_eq!(age(40), "40s");
        assert_eq!(age(12 * 60 + 5), "12m");
        assert_eq!(age(5 * 3600 + 120), "5h 2m");
        assert_eq!(age(3 * 86_400 + 4 * 3600), "3d 4h");
    }
}

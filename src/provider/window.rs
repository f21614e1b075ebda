//! The consistency window a user sets for any cloud: `CAIRN_CONSISTENCY_WINDOW`.
//!
//! Each provider knows its cloud's own window (none for a simulated cloud without read lag,
//! tens of seconds for AWS); the variable overrides it, for a cloud that is known to be
//! faster or slower than that (an emulator, a region under load).

use std::time::Duration;

/// Environment variable: how long a new object may stay missing from reads (`30s`, `500ms`).
pub const ENV_CONSISTENCY_WINDOW: &str = "CAIRN_CONSISTENCY_WINDOW";

/// A `CAIRN_CONSISTENCY_WINDOW` that is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("{ENV_CONSISTENCY_WINDOW} is `{value}`, which is not a duration: {reason}")]
#[diagnostic(help("write it as `30s`, `1m` or `500ms`"))]
pub struct InvalidWindow {
    pub value: String,
    pub reason: String,
}

/// The window `CAIRN_CONSISTENCY_WINDOW` sets, if it is set.
///
/// # Errors
/// [`InvalidWindow`] when it is set to something that is not a duration.
pub fn window_from_env() -> Result<Option<Duration>, InvalidWindow> {
    parse_window(std::env::var(ENV_CONSISTENCY_WINDOW).ok().as_deref())
}

fn parse_window(value: Option<&str>) -> Result<Option<Duration>, InvalidWindow> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => humantime::parse_duration(text)
            .map(Some)
            .map_err(|error| InvalidWindow {
                value: text.to_string(),
                reason: error.to_string(),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_a_human_duration_and_garbage_is_refused() {
        assert_eq!(parse_window(None), Ok(None));
        assert_eq!(parse_window(Some(" ")), Ok(None));
        assert_eq!(
            parse_window(Some("1500ms")),
            Ok(Some(Duration::from_millis(1500)))
        );
        assert_eq!(parse_window(Some("30s")), Ok(Some(Duration::from_secs(30))));
        let error = parse_window(Some("soon")).unwrap_err();
        assert!(error.to_string().contains("`soon`"), "{error}");
    }
}

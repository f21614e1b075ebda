//! The consistency window: how long a new object may stay missing from reads, and the look
//! for the object of a create whose answer never came, which lasts that long.
//!
//! Each provider knows its cloud's own window (none for a simulated cloud without read lag,
//! tens of seconds for AWS); `CAIRN_CONSISTENCY_WINDOW` overrides it, for a cloud that is
//! known to be faster or slower than that (an emulator, a region under load).

use super::{LiveResource, Provider, ProviderError};
use crate::model::{Kind, Owner};
use crate::util::backoff::{Backoff, Jitter, RetryPolicy};
use std::time::Duration;
use tokio::time::Instant;

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

/// Waits between two looks: from a quarter second doubling up to four seconds, spent in full
/// (the wait is there to let the object appear, not to spread competing calls).
const LOOK_AGAIN: RetryPolicy = RetryPolicy {
    attempts: u32::MAX,
    base: Duration::from_millis(250),
    cap: Duration::from_secs(4),
    jitter: Jitter::None,
};

/// Where to look for the object a create may have made, and which objects are it.
pub(crate) struct Look<'a> {
    pub region: &'a str,
    pub kind: Kind,
    /// The ownership the object carries; reads select by it.
    pub owner: &'a Owner,
    /// Until when a new object may still be missing from reads.
    pub deadline: Instant,
}

/// Reads `look`'s objects again, with growing waits, until one `wanted` picks shows up or a
/// read that began at or after the deadline did not find one. Several picked mean an earlier
/// duplicate: the first by id is taken.
///
/// # Errors
/// A read that fails.
pub(crate) async fn look_for_made(
    provider: &dyn Provider,
    look: &Look<'_>,
    wanted: impl Fn(&LiveResource) -> bool,
) -> Result<Option<LiveResource>, ProviderError> {
    let mut waits = Backoff::of(&LOOK_AGAIN);
    let mut looks = 0;
    loop {
        looks += 1;
        // Only a read that began once the window had passed may conclude the object is not
        // there: one that began just before it may have missed an object made at its edge.
        let started = Instant::now();
        let found = provider
            .read(look.region, look.kind, look.owner)
            .await?
            .into_iter()
            .filter(|live| wanted(live))
            .min_by(|left, right| left.id.cmp(&right.id));
        if found.is_some() {
            return Ok(found);
        }
        if started >= look.deadline {
            return Ok(None);
        }
        let wait = waits
            .delay(looks)
            .min(look.deadline.saturating_duration_since(Instant::now()));
        tracing::debug!(kind = %look.kind, looks, ?wait, "not found yet");
        tokio::time::sleep(wait).await;
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

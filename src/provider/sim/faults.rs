//! Fault injection: latency, throttling, transient errors, region outages, read lag (eventual
//! consistency) and a crash after the N-th mutating call.
//!
//! Settings come from two places: environment variables read when a provider is constructed
//! ([`FaultConfig::from_env`]) and persistent settings stored in the cloud file by
//! `cairn sim fault` ([`FaultSettings`]); an environment value wins over a stored one.
//!
//! Promise: with the same seed and the same sequence of calls, the same calls fail. Every call
//! draws the same number of random values whatever its outcome, so one fault does not shift
//! the ones after it.

use super::error::SimError;
use crate::model::timings::Timings;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

/// Environment variable: milliseconds of latency added to every call.
pub const ENV_LATENCY_MS: &str = "CAIRN_SIM_LATENCY_MS";
/// Environment variable: share (0..1) of calls refused with `Throttled` before any effect.
pub const ENV_THROTTLE_RATE: &str = "CAIRN_SIM_THROTTLE_RATE";
/// Environment variable: share (0..1) of calls failing, half before their effect (`Transient`)
/// and half after it (`Ambiguous` for a call that changes something: its answer is lost).
pub const ENV_ERROR_RATE: &str = "CAIRN_SIM_ERROR_RATE";
/// Environment variable: milliseconds during which a new object is missing from reads, as
/// AWS's eventual consistency hides a new id from Describe calls for a while.
pub const ENV_READ_LAG_MS: &str = "CAIRN_SIM_READ_LAG_MS";
/// Environment variable: seed of the fault dice.
pub const ENV_SEED: &str = "CAIRN_SIM_SEED";
/// Environment variable: exit the process with code 101 right after the N-th mutating call
/// of this process took effect and was saved.
pub const ENV_CRASH_AFTER: &str = "CAIRN_SIM_CRASH_AFTER";
/// Environment variable: comma-separated regions where every call fails.
pub const ENV_OUTAGE: &str = "CAIRN_SIM_OUTAGE";
/// Environment variable: the timing profile, `instant` (the default) or `aws` (snapshots,
/// copies and boots take as long as on AWS, on the cloud's clock; see [`Timings`]).
pub const ENV_PROFILE: &str = "CAIRN_SIM_PROFILE";
/// Environment variable: `aws` makes the cloud enforce AWS's per-account, per-region API
/// token buckets on its clock, refusing calls over them with AWS's throttling errors (see
/// `rate_limits`); `off` (the default) enforces none.
pub const ENV_RATE_LIMITS: &str = "CAIRN_SIM_RATE_LIMITS";

/// The exit code of a simulated crash.
pub const CRASH_EXIT_CODE: i32 = 101;

/// Fault settings stored in the cloud file; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_lag_ms: Option<u64>,
}

impl FaultSettings {
    /// Refuses rates outside 0..=1.
    ///
    /// # Errors
    /// [`SimError::InvalidFault`] naming the first bad setting.
    pub fn validate(&self) -> Result<(), SimError> {
        for (name, rate) in [
            ("throttle_rate", self.throttle_rate),
            ("error_rate", self.error_rate),
        ] {
            if let Some(rate) = rate
                && !(0.0..=1.0).contains(&rate)
            {
                return Err(SimError::InvalidFault {
                    name: name.to_string(),
                    reason: format!("{rate} is not between 0 and 1"),
                });
            }
        }
        Ok(())
    }

    /// These settings with every field set in `over` replaced.
    pub fn overridden_by(&self, over: &FaultSettings) -> FaultSettings {
        FaultSettings {
            latency_ms: over.latency_ms.or(self.latency_ms),
            throttle_rate: over.throttle_rate.or(self.throttle_rate),
            error_rate: over.error_rate.or(self.error_rate),
            seed: over.seed.or(self.seed),
            read_lag_ms: over.read_lag_ms.or(self.read_lag_ms),
        }
    }
}

/// The faults a provider was constructed with (typically from the environment).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Overrides of the stored settings.
    pub settings: FaultSettings,
    /// Exit with code 101 right after this many mutating calls of this process took effect.
    pub crash_after: Option<u64>,
    /// Regions where every call fails with `RegionUnavailable`, in addition to stored outages.
    pub outages: BTreeSet<String>,
    /// How long snapshots, copies and boots take from now on. Not a fault, but a setting of
    /// the process like the faults: what a call starts records when it will be done, so
    /// processes with other profiles still see it finish when it said it would.
    pub timings: Timings,
    /// Whether calls draw on AWS's API token buckets and are throttled past them
    /// ([`ENV_RATE_LIMITS`]). Not a random fault: what a client that paces itself to AWS's
    /// limits is tested against.
    pub rate_limits: bool,
}

impl FaultConfig {
    /// Reads the `CAIRN_SIM_*` environment variables.
    ///
    /// # Errors
    /// [`SimError::InvalidFault`] when a variable is set to something that does not parse or
    /// is out of range.
    pub fn from_env() -> Result<FaultConfig, SimError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`FaultConfig::from_env`], reading variables through `lookup`.
    ///
    /// # Errors
    /// As [`FaultConfig::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<FaultConfig, SimError> {
        let settings = FaultSettings {
            latency_ms: parse(&lookup, ENV_LATENCY_MS)?,
            throttle_rate: parse(&lookup, ENV_THROTTLE_RATE)?,
            error_rate: parse(&lookup, ENV_ERROR_RATE)?,
            seed: parse(&lookup, ENV_SEED)?,
            read_lag_ms: parse(&lookup, ENV_READ_LAG_MS)?,
        };
        settings.validate()?;
        let outages = lookup(ENV_OUTAGE)
            .map(|text| {
                text.split(',')
                    .map(str::trim)
                    .filter(|region| !region.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let timings = match lookup(ENV_PROFILE) {
            None => Timings::INSTANT,
            Some(name) if name.trim().is_empty() => Timings::INSTANT,
            Some(name) => Timings::named(name.trim()).ok_or_else(|| SimError::InvalidFault {
                name: ENV_PROFILE.to_string(),
                reason: format!("`{name}` is not a timing profile; expected `instant` or `aws`"),
            })?,
        };
        let rate_limits = match lookup(ENV_RATE_LIMITS).as_deref().map(str::trim) {
            None | Some("" | "off") => false,
            Some("aws") => true,
            Some(other) => {
                return Err(SimError::InvalidFault {
                    name: ENV_RATE_LIMITS.to_string(),
                    reason: format!(
                        "`{other}` is not a rate-limit profile; expected `aws` or `off`"
                    ),
                });
            }
        };
        Ok(FaultConfig {
            settings,
            crash_after: parse(&lookup, ENV_CRASH_AFTER)?,
            outages,
            timings,
            rate_limits,
        })
    }
}

fn parse<T: std::str::FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<T>, SimError> {
    match lookup(name) {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| SimError::InvalidFault {
                name: name.to_string(),
                reason: format!("`{text}` does not parse"),
            }),
    }
}

/// What the dice decided for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Refuse with `Throttled` before any effect.
    Throttle,
    /// Fail with `Transient` before any effect.
    ErrorBefore,
    /// Let the effect happen and be saved, then lose the answer: `Ambiguous` for a call that
    /// changes something, `Transient` for a read.
    ErrorAfter,
}

/// Rolls the dice for one call. Always draws three values.
pub fn roll(rng: &mut fastrand::Rng, settings: &FaultSettings) -> Fault {
    let throttle = rng.f64();
    let error = rng.f64();
    let after = rng.f64();
    if throttle < settings.throttle_rate.unwrap_or(0.0) {
        Fault::Throttle
    } else if error < settings.error_rate.unwrap_or(0.0) {
        if after < 0.5 {
            Fault::ErrorBefore
        } else {
            Fault::ErrorAfter
        }
    } else {
        Fault::None
    }
}

/// Mutating calls of this process that took effect, for `CAIRN_SIM_CRASH_AFTER`.
static MUTATING_CALLS: AtomicU64 = AtomicU64::new(0);

/// Counts one mutating call that took effect; whether the process must now crash.
pub fn count_mutation_and_check_crash(crash_after: Option<u64>) -> bool {
    let done = MUTATING_CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    crash_after == Some(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn config(pairs: &[(&str, &str)]) -> Result<FaultConfig, SimError> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        FaultConfig::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn reads_every_variable() {
        let config = config(&[
            (ENV_LATENCY_MS, "25"),
            (ENV_THROTTLE_RATE, "0.1"),
            (ENV_ERROR_RATE, "0.2"),
            (ENV_SEED, "7"),
            (ENV_CRASH_AFTER, "3"),
            (ENV_OUTAGE, "us-east-1, eu-west-1"),
            (ENV_READ_LAG_MS, "300"),
            (ENV_PROFILE, "aws"),
            (ENV_RATE_LIMITS, "aws"),
        ])
        .map_err(|error| error.to_string());
        let config = config.as_ref().map_err(String::as_str);
        let expected = FaultConfig {
            settings: FaultSettings {
                latency_ms: Some(25),
                throttle_rate: Some(0.1),
                error_rate: Some(0.2),
                seed: Some(7),
                read_lag_ms: Some(300),
            },
            crash_after: Some(3),
            outages: ["eu-west-1".to_string(), "us-east-1".to_string()].into(),
            timings: Timings::AWS,
            rate_limits: true,
        };
        assert_eq!(config, Ok(&expected));
    }

    #[test]
    fn refuses_rates_out_of_range_and_garbage() {
        assert!(matches!(
            config(&[(ENV_ERROR_RATE, "1.5")]),
            Err(SimError::InvalidFault { .. })
        ));
        assert!(matches!(
            config(&[(ENV_LATENCY_MS, "soon")]),
            Err(SimError::InvalidFault { .. })
        ));
        assert!(matches!(
            config(&[(ENV_PROFILE, "fast")]),
            Err(SimError::InvalidFault { name, .. }) if name == ENV_PROFILE
        ));
        assert!(matches!(
            config(&[(ENV_RATE_LIMITS, "gcp")]),
            Err(SimError::InvalidFault { name, .. }) if name == ENV_RATE_LIMITS
        ));
    }

    #[test]
    fn the_same_seed_rolls_the_same_faults() {
        let settings = FaultSettings {
            throttle_rate: Some(0.2),
            error_rate: Some(0.3),
            ..FaultSettings::default()
        };
        let rolls = |seed| {
            let mut rng = fastrand::Rng::with_seed(seed);
            (0..200)
                .map(|_| roll(&mut rng, &settings))
                .collect::<Vec<_>>()
        };
        assert_eq!(rolls(9), rolls(9));
        assert_ne!(rolls(9), rolls(10));
        let faults = rolls(9);
        for fault in [
            Fault::None,
            Fault::Throttle,
            Fault::ErrorBefore,
            Fault::ErrorAfter,
        ] {
            assert!(faults.contains(&fault), "{fault:?} never rolled");
        }
    }

    #[test]
    fn environment_overrides_stored_settings() {
        let stored = FaultSettings {
            latency_ms: Some(5),
            error_rate: Some(0.5),
            ..FaultSettings::default()
        };
        let env = FaultSettings {
            error_rate: Some(0.0),
            ..FaultSettings::default()
        };
        let merged = stored.overridden_by(&env);
        assert_eq!(merged.latency_ms, Some(5));
        assert_eq!(merged.error_rate, Some(0.0));
    }
}

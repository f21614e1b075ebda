//! `cairn sim`: inspect and tamper with the built-in simulated cloud of a stack: list what
//! exists, change or delete a resource behind the engine's back (drift), reset it, store
//! faults and region outages, set its clock, force alarms, fail health checks, take images
//! out of regions, set quotas and load groups. Each command calls one function of [`SimCloud`] and hands the result to a view in
//! [`super::views::sim`].

use super::views::sim as view;
use crate::provider::QuotaName;
use crate::provider::sim::{FaultSettings, HealthTarget, SimCloud, SimError, cloud_file_for_stack};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Inspect and change the simulated cloud (the cloud file is `DIR/.cairn/sim/cloud.json`, or
/// `$CAIRN_SIM_FILE`).
#[derive(Debug, Args)]
pub struct SimArgs {
    #[command(subcommand)]
    pub command: SimCommand,
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// List what exists, per region and kind: id, address tag and key attributes.
    Show {
        /// The stack directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Change one attribute of a resource behind the engine's back (for drift tests).
    Set {
        /// The resource id (`sg-…`, or an autoscaling group's name).
        id: String,
        /// The attribute (`tags` replaces all tags).
        attribute: String,
        /// The new value as JSON (`3`, `true`, `["a"]`, `null` to remove); anything that is
        /// not JSON is taken as a string.
        value: String,
        /// The stack directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Delete a resource behind the engine's back (dependency checks still apply).
    Delete {
        /// The resource id.
        id: String,
        /// The stack directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Remove every resource, stored fault and outage, and the call log.
    Reset {
        /// The stack directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Store fault settings applied to every later call (CAIRN_SIM_* variables still win).
    Fault {
        /// Milliseconds added to each call.
        #[arg(long)]
        latency_ms: Option<u64>,
        /// Share of calls throttled, 0 to 1.
        #[arg(long)]
        throttle_rate: Option<f64>,
        /// Share of calls failing with a transient error, 0 to 1.
        #[arg(long)]
        error_rate: Option<f64>,
        /// Seed of the fault dice.
        #[arg(long)]
        seed: Option<u64>,
        /// Milliseconds during which a new object is missing from reads (eventual
        /// consistency).
        #[arg(long)]
        read_lag_ms: Option<u64>,
        /// Remove every stored setting first.
        #[arg(long)]
        clear: bool,
        /// The stack directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Make every call to REGION fail as unavailable until `cairn sim restore REGION`.
    Outage {
        region: String,
        /// The stack directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// End a stored outage of REGION.
    Restore {
        region: String,
        /// The stack directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Show or set the cloud's clock, which snapshots start at and backup windows and RPOs
    /// are measured on. A clock that is set stands still until set or advanced again.
    Clock {
        /// Set the clock to TIME: RFC 3339 (`2026-03-01T00:00:00Z`) or a date (`2026-03-01`,
        /// midnight UTC).
        #[arg(long, value_name = "TIME", conflicts_with_all = ["advance", "wall"], value_parser = parse_time)]
        set: Option<DateTime<Utc>>,
        /// Move the clock by DURATION (`25h`, `90m`, `2days`; `-5h` moves it back) and stop it
        /// there.
        #[arg(long, value_name = "DURATION", conflicts_with = "wall", allow_hyphen_values = true, value_parser = parse_shift)]
        advance: Option<chrono::Duration>,
        /// Follow the wall clock again.
        #[arg(long)]
        wall: bool,
        /// The stack directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Force the state of an alarm, as SetAlarmState does: it holds until the alarm's metric
    /// changes its mind.
    Alarm {
        /// The alarm's block name (`cpu_high`, `alarm.cpu_high`) or cloud name; every alarm it
        /// names is forced (in every environment and region of the cloud).
        name: String,
        state: AlarmState,
        /// The stack directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Make instances fail their load balancer health checks: every instance launched from
    /// IMAGE (now and later), or the one instance whose id is given.
    Unhealthy {
        /// An image id (`ami-…`) or an instance id (`i-…`).
        target: String,
        /// The stack directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Undo `cairn sim unhealthy` for an image or an instance.
    Healthy {
        /// An image id (`ami-…`) or an instance id (`i-…`).
        target: String,
        /// The stack directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Take an image out of a region (instances can no longer be launched from it there, as
    /// with an AMI of another region), or copy it into a region again.
    Image {
        /// The image id (`ami-…`).
        image: String,
        /// The region the image is missing from from now on.
        #[arg(long, value_name = "REGION", required_unless_present = "copy_to")]
        missing_in: Option<String>,
        /// The region the image is copied into (registered there again).
        #[arg(long, value_name = "REGION", conflicts_with = "missing_in")]
        copy_to: Option<String>,
        /// The stack directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Show or set the account quotas of a region: creates past them are refused with AWS's
    /// codes (InstanceLimitExceeded, VpcLimitExceeded) and `cairn dr check` holds a failover
    /// against them. Unset quotas are unlimited, or AWS's defaults (20 running instances, 5
    /// VPCs) under CAIRN_SIM_PROFILE=aws.
    Quota {
        region: String,
        /// The most instances that may run in the region.
        #[arg(long, value_name = "COUNT")]
        running_instances: Option<u64>,
        /// The most VPCs the region may hold.
        #[arg(long, value_name = "COUNT")]
        vpcs: Option<u64>,
        /// Remove the region's stored quotas first.
        #[arg(long)]
        default: bool,
        /// The stack directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Set the average CPU of an autoscaling group, which its CPUUtilization alarms follow.
    Load {
        /// The group's name (as `cairn sim show` lists it).
        group: String,
        /// Percent, 0 to 100.
        percent: f64,
        /// The stack directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

/// A state `cairn sim alarm` forces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AlarmState {
    Ok,
    Alarm,
}

impl AlarmState {
    /// The state as CloudWatch spells it.
    fn cloud_name(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
        }
    }
}

/// Runs a `cairn sim` command; errors are reported on stderr with exit code 1.
pub fn run(args: SimArgs) -> ExitCode {
    match execute(args.command) {
        Ok(code) => code,
        Err(error) => super::report::print(&error),
    }
}

/// What `cairn sim unhealthy|healthy` did, in words.
fn health_message(target: &str, marked: HealthTarget, verb: &str) -> String {
    match marked {
        HealthTarget::Instance => format!("instance `{target}` now {verb}s its health checks"),
        HealthTarget::Image => {
            format!("instances launched from `{target}` now {verb} their health checks")
        }
    }
}

fn open(dir: &Path) -> Result<SimCloud, SimError> {
    SimCloud::open(&cloud_file_for_stack(dir))
}

fn execute(command: SimCommand) -> Result<ExitCode, SimError> {
    match command {
        SimCommand::Show { dir, json } => {
            let cloud = open(&dir)?;
            let inventory = cloud.inventory()?;
            if json {
                return Ok(view::show_json(&inventory));
            }
            view::show(cloud.path(), &inventory);
        }
        SimCommand::Set {
            id,
            attribute,
            value,
            dir,
        } => {
            let value = serde_json::from_str(&value).unwrap_or(serde_json::Value::String(value));
            open(&dir)?.set_attribute(&id, &attribute, value)?;
            view::done(&format!("set `{attribute}` of `{id}`"));
        }
        SimCommand::Delete { id, dir } => {
            open(&dir)?.delete(&id)?;
            view::done(&format!("deleted `{id}`"));
        }
        SimCommand::Reset { dir } => {
            let cloud = open(&dir)?;
            cloud.reset()?;
            view::done(&format!(
                "reset the simulated cloud `{}`",
                cloud.path().display()
            ));
        }
        SimCommand::Fault {
            latency_ms,
            throttle_rate,
            error_rate,
            seed,
            read_lag_ms,
            clear,
            dir,
        } => {
            let cloud = open(&dir)?;
            let base = if clear {
                FaultSettings::default()
            } else {
                cloud.faults()?
            };
            let settings = base.overridden_by(&FaultSettings {
                latency_ms,
                throttle_rate,
                error_rate,
                seed,
                read_lag_ms,
            });
            cloud.set_faults(settings.clone())?;
            view::faults(&settings);
        }
        SimCommand::Outage { region, dir } => {
            open(&dir)?.set_outage(&region, true)?;
            view::done(&format!("region `{region}` is now unavailable"));
        }
        SimCommand::Restore { region, dir } => {
            open(&dir)?.set_outage(&region, false)?;
            view::done(&format!("region `{region}` is available again"));
        }
        SimCommand::Alarm { name, state, dir } => {
            let forced = open(&dir)?.force_alarm(&name, state.cloud_name())?;
            for alarm in forced {
                view::done(&format!("alarm `{alarm}` is now {}", state.cloud_name()));
            }
        }
        SimCommand::Unhealthy { target, dir } => {
            let marked = open(&dir)?.set_health(&target, false)?;
            view::done(&health_message(&target, marked, "fail"));
        }
        SimCommand::Healthy { target, dir } => {
            let marked = open(&dir)?.set_health(&target, true)?;
            view::done(&health_message(&target, marked, "pass"));
        }
        SimCommand::Image {
            image,
            missing_in,
            copy_to,
            dir,
        } => {
            let cloud = open(&dir)?;
            match (missing_in, copy_to) {
                (Some(region), _) => {
                    cloud.set_image(&image, &region, false)?;
                    view::done(&format!("image `{image}` is now missing in `{region}`"));
                }
                (None, Some(region)) => {
                    cloud.set_image(&image, &region, true)?;
                    view::done(&format!("image `{image}` is now present in `{region}`"));
                }
                // clap requires one of the two.
                (None, None) => {}
            }
        }
        SimCommand::Quota {
            region,
            running_instances,
            vpcs,
            default,
            dir,
        } => {
            let cloud = open(&dir)?;
            let mut stored = cloud.quotas(&region)?;
            for (name, limit) in [
                (QuotaName::RunningInstances, running_instances),
                (QuotaName::Vpcs, vpcs),
            ] {
                if default && limit.is_none() {
                    stored = cloud.set_quota(&region, name, None)?;
                }
                if limit.is_some() {
                    stored = cloud.set_quota(&region, name, limit)?;
                }
            }
            view::quotas(&region, &stored);
        }
        SimCommand::Load {
            group,
            percent,
            dir,
        } => {
            open(&dir)?.set_load(&group, percent)?;
            view::done(&format!("group `{group}` now runs at {percent} % CPU"));
        }
        SimCommand::Clock {
            set,
            advance,
            wall,
            dir,
        } => {
            let cloud = open(&dir)?;
            let now = match (set, advance) {
                (Some(time), _) => Some(cloud.set_clock(Some(time))?),
                (None, Some(by)) => Some(cloud.advance_clock(by)?),
                (None, None) if wall => {
                    cloud.set_clock(None)?;
                    None
                }
                (None, None) => cloud.clock()?,
            };
            view::clock(now);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A time for `sim clock --set`: RFC 3339, or a date (midnight UTC).
fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|midnight| midnight.and_utc())
        .ok_or_else(|| {
            format!(
                "`{text}` is not a time: expected RFC 3339 such as `2026-03-01T09:30:00Z`, or a \
                 date such as `2026-03-01` (midnight UTC)"
            )
        })
}

/// A shift of the clock for `sim clock --advance`: a duration (`25h`, `90m`, `2days`), back
/// in time with a leading `-`.
fn parse_shift(text: &str) -> Result<chrono::Duration, String> {
    let (back, magnitude) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let expected = || {
        format!(
            "`{text}` is not a duration: expected a number and a unit such as `25h`, `90m` or \
             `2days` (`-5h` moves the clock back)"
        )
    };
    let duration = humantime::parse_duration(magnitude).map_err(|_| expected())?;
    let duration = chrono::Duration::from_std(duration).map_err(|_| expected())?;
    Ok(if back { -duration } else { duration })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times_are_rfc_3339_or_a_date() {
        let expected = "2026-03-01T09:30:00Z".parse::<DateTime<Utc>>();
        assert_eq!(parse_time("2026-03-01T09:30:00Z").ok(), expected.ok());
        assert_eq!(
            parse_time("2026-03-01T10:30:00+01:00").ok(),
            parse_time("2026-03-01T09:30:00Z").ok()
        );
        assert_eq!(
            parse_time("2026-03-01").ok(),
            "2026-03-01T00:00:00Z".parse::<DateTime<Utc>>().ok()
        );
        let refused = parse_time("yesterday").unwrap_err();
        assert!(
            refused.contains("`yesterday` is not a time")
                && refused.contains("2026-03-01T09:30:00Z"),
            "{refused}"
        );
    }

    #[test]
    fn clock_shifts_are_durations_with_an_optional_sign() {
        assert_eq!(parse_shift("90m"), Ok(chrono::Duration::minutes(90)));
        assert_eq!(parse_shift("+2days"), Ok(chrono::Duration::days(2)));
        assert_eq!(parse_shift("-5h"), Ok(chrono::Duration::hours(-5)));
        let refused = parse_shift("-five").unwrap_err();
        assert!(
            refused.contains("`-five` is not a duration") && refused.contains("`25h`"),
            "{refused}"
        );
    }
}

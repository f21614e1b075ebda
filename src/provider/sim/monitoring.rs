//! CloudWatch metric alarms, and the simulated metrics they follow.
//!
//! AWS rules kept: an alarm is named uniquely per region and PutMetricAlarm overwrites an
//! alarm of the same name; the comparison, statistic and period must be ones CloudWatch
//! knows (a period of 10 s, 30 s or whole minutes), evaluation periods at least one.
//!
//! An alarm's `state` is worked out whenever it is read, from the metric as the simulated
//! cloud has it then; a metric the cloud has no data for leaves the alarm in
//! `INSUFFICIENT_DATA` (where AWS starts every new alarm). The simulated metrics are steady
//! values, so an alarm breaches for N periods exactly when it breaches for one:
//! - `AWS/EC2` `CPUUtilization` of an `AutoScalingGroupName`: the group's load (20 % unless
//!   `cairn sim load` set it), when the group has running instances;
//! - `AWS/ApplicationELB` by `LoadBalancer` (and `TargetGroup`): `RequestCount` (1000 a
//!   minute per listener), `HTTPCode_Target_5XX_Count` (the traffic's share that reaches
//!   unhealthy targets, by listener weights), `HTTPCode_ELB_5XX_Count` (the share sent to
//!   target groups without a healthy or unhealthy target), `HealthyHostCount` and
//!   `UnHealthyHostCount`.
//!
//! `cairn sim alarm NAME ok|alarm` forces a state, as SetAlarmState does; like AWS, the alarm
//! keeps the forced state until its metric says otherwise — until the state worked out from
//! the metric changes.

use super::attributes;
use super::cloud::{Cloud, Resource};
use super::error::api;
use super::load_balancing::{self, HEALTHY, UNHEALTHY};
use super::network::replace_attributes;
use super::operations::Context;
use crate::model::{Attributes, Kind, Tags, Value};
use crate::provider::ProviderError;
use serde_json::json;

pub const OK: &str = "OK";
pub const ALARM: &str = "ALARM";
pub const INSUFFICIENT_DATA: &str = "INSUFFICIENT_DATA";

/// Internal key of a group: its simulated average CPU, in percent (`cairn sim load`).
pub const GROUP_LOAD: &str = "cpu_load";
/// A group's CPU when nobody set one: a quiet service.
const DEFAULT_LOAD: f64 = 20.0;
/// Requests a listener serves a minute.
const REQUESTS_PER_MINUTE: f64 = 1000.0;

/// Internal keys of a forced state: the state, and the metric's own state when it was forced.
const FORCED: &str = "forced_state";
pub const FORCED_AGAINST: &str = "forced_against";

const COMPARISONS: [&str; 4] = [
    "GreaterThanThreshold",
    "GreaterThanOrEqualToThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
];
const STATISTICS: [&str; 5] = ["Average", "Sum", "Minimum", "Maximum", "SampleCount"];

/// CloudWatch's longest alarm description.
const DESCRIPTION_LIMIT: usize = 1024;

fn check_alarm(attributes: &Attributes) -> Result<(), ProviderError> {
    let invalid = |message: String| api("InvalidParameterValue", message);
    let comparison = attributes::string(attributes, "comparison")?;
    if !COMPARISONS.contains(&comparison) {
        return Err(invalid(format!(
            "The value {comparison} for parameter ComparisonOperator is not valid"
        )));
    }
    let statistic = attributes::string(attributes, "statistic")?;
    if !STATISTICS.contains(&statistic) {
        return Err(invalid(format!(
            "The value {statistic} for parameter Statistic is not valid"
        )));
    }
    let period = attributes::integer(attributes, "period")?;
    if !(period == 10 || period == 30 || (period > 0 && period % 60 == 0)) {
        return Err(invalid(format!(
            "The parameter Period must be 10, 30 or a multiple of 60, found {period}"
        )));
    }
    if attributes::integer(attributes, "periods")? < 1 {
        return Err(invalid(
            "The parameter EvaluationPeriods must be at least 1".to_string(),
        ));
    }
    attributes::optional_number(attributes, "threshold")?
        .ok_or_else(|| attributes::missing("threshold"))?;
    attributes::string(attributes, "metric")?;
    attributes::string(attributes, "namespace")?;
    if let Some(description) = attributes::optional_string(attributes, "description")?
        && description.chars().count() > DESCRIPTION_LIMIT
    {
        return Err(invalid(format!(
            "The parameter AlarmDescription must be at most {DESCRIPTION_LIMIT} characters"
        )));
    }
    match attributes.get("dimensions") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(map)) if map.values().all(Value::is_string) => Ok(()),
        Some(other) => Err(attributes::invalid(
            "dimensions",
            other,
            "expected an object of strings",
        )),
    }
}

/// PutMetricAlarm: creates the alarm, or overwrites the one of the same name.
pub fn put_alarm(
    cloud: &mut Cloud,
    context: &Context,
    attributes: &Attributes,
    tags: &Tags,
) -> Result<String, ProviderError> {
    check_alarm(attributes)?;
    let name = attributes::string(attributes, "name")?.to_string();
    if let Some(mut existing) = cloud.find_mut(context.region, Kind::Alarm, &name) {
        // Tags given when overwriting are ignored, as AWS does.
        replace_attributes(&mut existing, attributes);
    } else {
        cloud.insert(
            context.region,
            Resource::new(Kind::Alarm, name.clone(), attributes.clone(), tags.clone()),
        );
    }
    Ok(name)
}

pub fn update_alarm(
    cloud: &mut Cloud,
    context: &Context,
    name: &str,
    after: &Attributes,
) -> Result<(), ProviderError> {
    cloud.target(context.region, Kind::Alarm, name)?;
    put_alarm(cloud, context, after, &Tags::new()).map(|_| ())
}

pub fn delete_alarm(cloud: &mut Cloud, context: &Context, name: &str) -> Result<(), ProviderError> {
    cloud.remove_target(context.region, Kind::Alarm, name)
}

/// The alarm's state now (see the module documentation).
pub fn state(cloud: &Cloud, region: &str, alarm: &Resource) -> &'static str {
    let evaluated = evaluate(cloud, region, alarm);
    match (
        alarm.internal_text(FORCED),
        alarm.internal_text(FORCED_AGAINST),
    ) {
        (Some(forced), Some(against)) if against == evaluated => state_name(forced),
        _ => evaluated,
    }
}

/// Ends the forced state of every alarm of `region` whose metric has said otherwise since it
/// was forced. Run whenever the cloud changes (every call, every change behind the engine's
/// back), so that a metric that changes and changes back still ends a forced state.
pub fn settle(cloud: &mut Cloud, region: &str) {
    // Only a forced alarm can be stale: the others cost nothing here.
    let stale: Vec<String> = cloud
        .region(region)
        .into_iter()
        .flat_map(|state| state.forced_alarms())
        .filter(|alarm| {
            alarm
                .internal_text(FORCED_AGAINST)
                .is_some_and(|against| against != evaluate(cloud, region, alarm))
        })
        .map(|alarm| alarm.id.clone())
        .collect();
    for id in stale {
        if let Some(mut alarm) = cloud.find_mut(region, Kind::Alarm, &id) {
            alarm.internal.remove(FORCED);
            alarm.internal.remove(FORCED_AGAINST);
        }
    }
}

/// Forces the alarm into `state` until its metric says otherwise.
pub fn force(
    cloud: &mut Cloud,
    region: &str,
    name: &str,
    state: &str,
) -> Result<(), ProviderError> {
    let alarm = cloud.target(region, Kind::Alarm, name)?;
    let evaluated = evaluate(cloud, region, alarm);
    let mut alarm = cloud.target_mut(region, Kind::Alarm, name)?;
    alarm.internal.insert(FORCED.to_string(), json!(state));
    alarm
        .internal
        .insert(FORCED_AGAINST.to_string(), json!(evaluated));
    Ok(())
}

fn state_name(text: &str) -> &'static str {
    match text {
        ALARM => ALARM,
        OK => OK,
        _ => INSUFFICIENT_DATA,
    }
}

/// The state the alarm's metric puts it in.
fn evaluate(cloud: &Cloud, region: &str, alarm: &Resource) -> &'static str {
    let attributes = &alarm.attributes;
    let (Ok(Some(threshold)), Ok(comparison), Ok(period), Ok(statistic)) = (
        attributes::optional_number(attributes, "threshold"),
        attributes::string(attributes, "comparison"),
        attributes::integer(attributes, "period"),
        attributes::string(attributes, "statistic"),
    ) else {
        return INSUFFICIENT_DATA;
    };
    let Some(value) = metric(cloud, region, alarm, period, statistic) else {
        return INSUFFICIENT_DATA;
    };
    let breaching = match comparison {
        "GreaterThanThreshold" => value > threshold,
        "GreaterThanOrEqualToThreshold" => value >= threshold,
        "LessThanThreshold" => value < threshold,
        _ => value <= threshold,
    };
    if breaching { ALARM } else { OK }
}

/// The simulated value of the alarm's metric over one period, `None` without data.
fn metric(
    cloud: &Cloud,
    region: &str,
    alarm: &Resource,
    period: i64,
    statistic: &str,
) -> Option<f64> {
    let dimension = |name: &str| {
        alarm
            .attributes
            .get("dimensions")?
            .get(name)?
            .as_str()
            .map(str::to_string)
    };
    let namespace = alarm.text("namespace")?;
    let name = alarm.text("metric")?;
    let minutes = period as f64 / 60.0;
    match (namespace, name) {
        ("AWS/EC2", "CPUUtilization") => {
            let group = cloud.find(
                region,
                Kind::AutoscalingGroup,
                &dimension("AutoScalingGroupName")?,
            )?;
            let running = cloud.all_of(region, Kind::Instance).any(|instance| {
                instance.internal_text(super::compute::GROUP) == Some(group.id.as_str())
                    && instance.text("state") == Some("running")
            });
            running.then(|| {
                group
                    .internal
                    .get(GROUP_LOAD)
                    .and_then(Value::as_f64)
                    .unwrap_or(DEFAULT_LOAD)
            })
        }
        ("AWS/ApplicationELB", _) => {
            let suffix = dimension("LoadBalancer")?;
            let balancer = cloud
                .all_of(region, Kind::LoadBalancer)
                .find(|balancer| balancer.text("arn_suffix") == Some(suffix.as_str()))?;
            match (name, dimension("TargetGroup")) {
                ("HealthyHostCount" | "UnHealthyHostCount", Some(group_suffix)) => {
                    let group = cloud
                        .all_of(region, Kind::TargetGroup)
                        .find(|group| group.text("arn_suffix") == Some(group_suffix.as_str()))?;
                    let wanted = if name == "HealthyHostCount" {
                        HEALTHY
                    } else {
                        UNHEALTHY
                    };
                    let count = load_balancing::targets(cloud, region, &group.id)
                        .iter()
                        .filter(|(_, health)| *health == wanted)
                        .count();
                    Some(count as f64)
                }
                ("RequestCount" | "HTTPCode_Target_5XX_Count" | "HTTPCode_ELB_5XX_Count", _) => {
                    let listeners = load_balancing::traffic(cloud, region, &balancer.id);
                    if listeners.is_empty() {
                        return None;
                    }
                    let share: f64 = listeners
                        .iter()
                        .map(|groups| {
                            groups
                                .iter()
                                .map(|(weight, healthy, unhealthy)| match name {
                                    "RequestCount" => *weight,
                                    "HTTPCode_ELB_5XX_Count" if healthy + unhealthy == 0 => *weight,
                                    "HTTPCode_Target_5XX_Count" if healthy + unhealthy > 0 => {
                                        weight * *unhealthy as f64 / (healthy + unhealthy) as f64
                                    }
                                    _ => 0.0,
                                })
                                .sum::<f64>()
                        })
                        .sum();
                    let per_minute = share * REQUESTS_PER_MINUTE;
                    Some(match statistic {
                        "Sum" => (per_minute * minutes).round(),
                        "SampleCount" => minutes.max(1.0).round(),
                        _ => per_minute.round(),
                    })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

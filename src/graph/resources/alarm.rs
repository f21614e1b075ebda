//! `alarm` → a metric alarm: a metric (with its namespace and dimensions), a statistic over a
//! period, and a threshold it must stay `above` or `below` for a number of periods.
//!
//! `autoscaling = autoscaling.web` watches a group's EC2 metrics (`AWS/EC2`, dimension
//! `AutoScalingGroupName`); `load_balancer = load_balancer.web` a balancer's
//! (`AWS/ApplicationELB`, dimension `LoadBalancer`), and a target group of it adds the
//! `TargetGroup` dimension. `namespace` and `dimensions` say the rest, or everything for
//! other metrics. `name` keeps an imported alarm's own name (its id: a new one replaces it),
//! `description` its text for people.

use super::{Built, Instance, attributes};
use crate::config::diagnostics::Diagnostic;
use crate::config::eval;
use crate::model::{Kind, Value, reference};
use serde_json::{Map, json};

/// The statistics CloudWatch computes over a period.
const STATISTICS: [&str; 5] = ["Average", "Sum", "Minimum", "Maximum", "SampleCount"];

pub(super) fn build(instance: &Instance<'_>) -> Option<Built> {
    let block = instance.block;
    let metric = instance.string(block, "metric");
    let statistic = match block.attribute("statistic") {
        None => Some("Average".to_string()),
        Some(_) => match instance.value(block, "statistic") {
            Some((Value::String(text), _)) if STATISTICS.contains(&text.as_str()) => Some(text),
            Some((value, attr)) => {
                instance.problem(eval::wrong_type(
                    instance.sources,
                    attr,
                    &value,
                    "one of `\"Average\"`, `\"Sum\"`, `\"Minimum\"`, `\"Maximum\"` or `\"SampleCount\"`",
                ));
                None
            }
            None => None,
        },
    };
    let threshold = comparison(instance);
    let periods = instance.bounded(block, "periods", 1..=100, 1);
    let period = match block.attribute("period") {
        None => Some(60),
        Some(attr) => match instance.duration(block, "period", "`\"1m\"` or `\"5m\"`") {
            Some(seconds) if seconds == 10 || seconds == 30 || seconds % 60 == 0 => Some(seconds),
            Some(seconds) => {
                instance.problem(
                    Diagnostic::at(
                        instance.sources,
                        attr.value_span,
                        format!("an alarm period of {seconds} s"),
                    )
                    .expected("10 s, 30 s, or a whole number of minutes"),
                );
                None
            }
            None => None,
        },
    };
    let watched = watched(instance);
    let description = description(instance);
    let (metric, statistic, (comparison, threshold), periods, period, (namespace, dimensions)) =
        (metric?, statistic?, threshold?, periods?, period?, watched?);
    let description = description?;

    let name = super::limits::cloud_name(instance, Kind::Alarm)?;
    let address = instance.at(&instance.region.name);
    let produced = instance.produced(
        address.clone(),
        Kind::Alarm,
        attributes(vec![
            ("name", Value::String(name.clone())),
            ("namespace", Value::String(namespace)),
            ("metric", Value::String(metric)),
            ("statistic", Value::String(statistic)),
            ("comparison", Value::String(comparison.to_string())),
            ("threshold", whole_or_not(threshold)),
            ("periods", json!(periods)),
            ("period", json!(period)),
            ("dimensions", Value::Object(dimensions)),
            (
                "description",
                description.map_or(Value::Null, Value::String),
            ),
        ]),
        instance.sensitive(&[("above", "threshold"), ("below", "threshold")]),
        name.clone(),
    );
    Some(Built::one(
        produced,
        json!({
            "id": reference(&address, "id"),
            "name": name,
        }),
    ))
}

/// The longest `description`: CloudWatch takes 1024 characters, and the AWS provider adds
/// its ownership note (about 200) after the user's text.
const DESCRIPTION_LIMIT: usize = 800;

/// `description`: the alarm's text for people (an imported alarm keeps its own). `Some(None)`
/// when absent, `None` after a problem.
fn description(instance: &Instance<'_>) -> Option<Option<String>> {
    let block = instance.block;
    let Some(attr) = block.attribute("description") else {
        return Some(None);
    };
    let text = instance.optional_string(block, "description");
    match text {
        Some(text) if text.chars().count() > DESCRIPTION_LIMIT => {
            instance.problem(
                Diagnostic::at(
                    instance.sources,
                    attr.value_span,
                    format!(
                        "an alarm description of {} characters",
                        text.chars().count()
                    ),
                )
                .expected(format!("at most {DESCRIPTION_LIMIT} characters")),
            );
            None
        }
        Some(text) => Some(Some(text)),
        // `null`, or a problem already reported.
        None => instance.value(block, "description").map(|_| None),
    }
}

/// `above = N` or `below = N`: the comparison and the threshold, which must be a number.
fn comparison(instance: &Instance<'_>) -> Option<(&'static str, f64)> {
    let block = instance.block;
    match (block.attribute("above"), block.attribute("below")) {
        (Some(_), None) => instance
            .number(block, "above", "a number such as `80`")
            .map(|threshold| ("GreaterThanThreshold", threshold)),
        (None, Some(_)) => instance
            .number(block, "below", "a number such as `10`")
            .map(|threshold| ("LessThanThreshold", threshold)),
        (Some(_), Some(below)) => {
            instance.problem(
                Diagnostic::at(
                    instance.sources,
                    below.key_span,
                    format!("`{}` has both `above` and `below`", block.display()),
                )
                .hint("an alarm compares with one threshold; make a second alarm for the other"),
            );
            None
        }
        (None, None) => {
            instance.problem(
                Diagnostic::at(
                    instance.sources,
                    block.label_span,
                    format!("`{}` has no threshold", block.display()),
                )
                .hint("add `above = 80` (or `below = 10`)"),
            );
            None
        }
    }
}

/// The namespace and dimensions of what the alarm watches: from `autoscaling` or
/// `load_balancer`, then `namespace` and `dimensions` over them.
fn watched(instance: &Instance<'_>) -> Option<(String, Map<String, Value>)> {
    let block = instance.block;
    let mut namespace: Option<String> = None;
    let mut dimensions = Map::new();
    if block.attribute("autoscaling").is_some() && block.attribute("load_balancer").is_some() {
        let attr = block.attribute("load_balancer")?;
        instance.problem(
            Diagnostic::at(
                instance.sources,
                attr.key_span,
                format!(
                    "`{}` watches both a group and a load balancer",
                    block.display()
                ),
            )
            .hint("an alarm watches one metric; make one alarm each"),
        );
        return None;
    }
    if let Some((value, attr)) = instance.value(block, "autoscaling") {
        let Some(name) = value.get("name").and_then(Value::as_str) else {
            instance.problem(eval::wrong_type(
                instance.sources,
                attr,
                &value,
                "an autoscaling group such as `autoscaling.web`",
            ));
            return None;
        };
        namespace = Some("AWS/EC2".to_string());
        dimensions.insert("AutoScalingGroupName".to_string(), json!(name));
    }
    if let Some((value, attr)) = instance.value(block, "load_balancer") {
        let balancer = value
            .get("load_balancer_arn_suffix")
            .or(value.get("arn_suffix"))
            .filter(|_| value.get("target_group_ids").is_some());
        let Some(balancer) = balancer else {
            instance.problem(eval::wrong_type(
                instance.sources,
                attr,
                &value,
                "a load balancer such as `load_balancer.web`, or one of its target groups",
            ));
            return None;
        };
        namespace = Some("AWS/ApplicationELB".to_string());
        dimensions.insert("LoadBalancer".to_string(), balancer.clone());
        if let Some(group) = value
            .get("arn_suffix")
            .filter(|_| value.get("load_balancer_arn_suffix").is_some())
        {
            dimensions.insert("TargetGroup".to_string(), group.clone());
        }
    }
    if block.attribute("namespace").is_some() {
        namespace = Some(instance.string(block, "namespace")?);
    }
    if let Some((value, attr)) = instance.value(block, "dimensions") {
        let Some(given) = value
            .as_object()
            .filter(|map| map.values().all(Value::is_string))
        else {
            instance.problem(eval::wrong_type(
                instance.sources,
                attr,
                &value,
                "an object of strings such as `{ InstanceId = \"i-0abc\" }`",
            ));
            return None;
        };
        dimensions.extend(given.clone());
    }
    let Some(namespace) = namespace else {
        instance.problem(
            Diagnostic::at(
                instance.sources,
                block.label_span,
                format!("`{}` does not say what it watches", block.display()),
            )
            .hint("add `autoscaling = autoscaling.NAME`, `load_balancer = load_balancer.NAME`, or `namespace` and `dimensions`"),
        );
        return None;
    };
    Some((namespace, dimensions))
}

/// A number as CloudWatch gives it back and the plan shows it: `80`, not `80.0`.
fn whole_or_not(number: f64) -> Value {
    if number.fract() == 0.0 && number.abs() < 9.0e15 {
        json!(number as i64)
    } else {
        json!(number)
    }
}

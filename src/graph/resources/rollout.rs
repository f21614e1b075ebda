//! The `rollout` block of an `autoscaling` group: how the engine replaces the group's
//! instances when an apply changes what they run.
//!
//! Every attribute is checked here with the strategy it belongs to, and an attribute another
//! strategy uses is refused rather than ignored (`bake` means nothing to `rolling`). Defaults
//! are filled in, so the plan and apply read one complete [`RolloutSpec`].
//!
//! `abort_on` names alarms, which usually watch the group itself (`alarm.cpu_high` has
//! `autoscaling = autoscaling.web`): it is read from the syntax, not evaluated, so that it
//! orders nothing (see `graph::analysis::block_attributes`), and resolved to the alarms'
//! addresses in the group's region. The expansion checks afterwards that each exists there.

use super::Instance;
use crate::config::diagnostics::Diagnostic;
use crate::config::eval;
use crate::config::references::{Step, traversals};
use crate::config::source::Span;
use crate::config::tree::{Attr, BlockDef};
use crate::graph::{RolloutGate, RolloutSpec, RolloutStrategy};
use crate::model::Address;
use hcl_edit::expr::Expression;

/// The strategies, as written.
const STRATEGIES: [RolloutStrategy; 4] = [
    RolloutStrategy::Rolling,
    RolloutStrategy::Canary,
    RolloutStrategy::BlueGreen,
    RolloutStrategy::AllAtOnce,
];

/// The attributes each strategy takes besides `strategy`.
fn accepted(strategy: RolloutStrategy) -> &'static [&'static str] {
    match strategy {
        RolloutStrategy::Rolling => &["min_healthy", "max_surge", "warmup", "abort_on", "timeout"],
        RolloutStrategy::Canary => &[
            "checkpoints",
            "bake",
            "min_healthy",
            "warmup",
            "abort_on",
            "timeout",
        ],
        RolloutStrategy::BlueGreen => &["keep_old", "bake", "warmup", "abort_on", "timeout"],
        RolloutStrategy::AllAtOnce => &[],
    }
}

/// Defaults: a group keeps 90 % healthy, surges one instance, waits no warmup and no bake,
/// gives new instances ten minutes, keeps a blue-green old group an hour.
const DEFAULT_MIN_HEALTHY: u64 = 90;
const DEFAULT_MAX_SURGE: u64 = 1;
const DEFAULT_TIMEOUT: u64 = 600;
const DEFAULT_KEEP_OLD: u64 = 3600;
const DEFAULT_CHECKPOINTS: [u32; 3] = [10, 50, 100];

/// Reads the `rollout` block of the group being built; `None` when something is wrong
/// (reported).
pub(super) fn read(instance: &Instance<'_>, block: &BlockDef) -> Option<RolloutSpec> {
    let strategy = strategy(instance, block)?;
    let allowed = accepted(strategy);
    let mut refused = false;
    for attr in block.attributes.values() {
        if attr.name != "strategy" && !allowed.contains(&attr.name.as_str()) {
            refused = true;
            let takes = if allowed.is_empty() {
                "no other attribute: the cloud replaces instances as they cycle".to_string()
            } else {
                format!(
                    "one of {}",
                    allowed
                        .iter()
                        .map(|name| format!("`{name}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            instance.problem(
                Diagnostic::at(
                    instance.sources,
                    attr.key_span,
                    format!(
                        "`{}` does not apply to a `{}` rollout",
                        attr.name,
                        strategy.name()
                    ),
                )
                .expected(format!("a `{}` rollout takes {takes}", strategy.name())),
            );
        }
    }
    let checkpoints = match strategy {
        RolloutStrategy::Canary => checkpoints(instance, block),
        _ => Some(vec![100]),
    };
    let min_healthy = match block.attribute("min_healthy") {
        None => Some(DEFAULT_MIN_HEALTHY),
        Some(_) => instance.percentage(block, "min_healthy", 0),
    };
    let max_surge = instance.bounded(block, "max_surge", 0..=1000, DEFAULT_MAX_SURGE);
    let warmup = seconds(instance, block, "warmup", 0);
    let bake = seconds(instance, block, "bake", 0);
    let keep_old = seconds(instance, block, "keep_old", DEFAULT_KEEP_OLD);
    let timeout = seconds(instance, block, "timeout", DEFAULT_TIMEOUT);
    let abort_on = abort_on(instance, block);
    let (checkpoints, min_healthy, max_surge, warmup, bake, keep_old, timeout, abort_on) = (
        checkpoints?,
        min_healthy?,
        max_surge?,
        warmup?,
        bake?,
        keep_old?,
        timeout?,
        abort_on?,
    );
    if timeout == 0 {
        if let Some(attr) = block.attribute("timeout") {
            instance.problem(
                Diagnostic::at(instance.sources, attr.value_span, "a zero `timeout`").expected(
                    "a duration such as `\"10m\"`: how long new instances have to become healthy",
                ),
            );
        }
        return None;
    }
    if strategy == RolloutStrategy::Rolling && max_surge == 0 && min_healthy == 100 {
        let attr = block.attribute("max_surge")?;
        instance.problem(
            Diagnostic::at(
                instance.sources,
                attr.value_span,
                "a rolling rollout with `max_surge = 0` and `min_healthy = 100` can replace nothing",
            )
            .expected("a `max_surge` of at least 1, or a `min_healthy` below 100"),
        );
        return None;
    }
    if refused {
        return None;
    }
    Some(RolloutSpec {
        strategy,
        checkpoints,
        min_healthy: u32::try_from(min_healthy).ok()?,
        max_surge: u32::try_from(max_surge).ok()?,
        warmup_seconds: warmup,
        bake_seconds: bake,
        keep_old_seconds: keep_old,
        abort_on,
        timeout_seconds: timeout,
        source: instance.sources.location(block.ident_span),
    })
}

fn strategy(instance: &Instance<'_>, block: &BlockDef) -> Option<RolloutStrategy> {
    let (value, attr) = instance.value(block, "strategy")?;
    let found = STRATEGIES
        .into_iter()
        .find(|strategy| value.as_str() == Some(strategy.name()));
    match found {
        None => instance.problem(eval::wrong_type(
            instance.sources,
            attr,
            &value,
            "`\"rolling\"`, `\"canary\"` or `\"all_at_once\"`",
        )),
        // Refused rather than accepted and done some other way: the engine does not run a
        // second group beside the first yet.
        Some(RolloutStrategy::BlueGreen) => {
            instance.problem(
                Diagnostic::at(
                    instance.sources,
                    attr.value_span,
                    "`blue_green` rollouts are not supported yet",
                )
                .expected("`\"rolling\"`, `\"canary\"` or `\"all_at_once\"`")
                .hint("a `canary` rollout with `checkpoints = [100]` replaces every instance in one surged step, behind the same gates"),
            );
            return None;
        }
        Some(_) => {}
    }
    found
}

/// `checkpoints`: rising percentages from 1, ending at 100.
fn checkpoints(instance: &Instance<'_>, block: &BlockDef) -> Option<Vec<u32>> {
    let Some((value, attr)) = instance.value(block, "checkpoints") else {
        return block
            .attribute("checkpoints")
            .is_none()
            .then(|| DEFAULT_CHECKPOINTS.to_vec());
    };
    let parsed: Option<Vec<u32>> = value.as_array().and_then(|items| {
        items
            .iter()
            .map(|item| item.as_u64().and_then(|n| u32::try_from(n).ok()))
            .collect()
    });
    match parsed {
        Some(list)
            if list.first().is_some_and(|first| *first >= 1)
                && list.windows(2).all(|pair| pair[0] < pair[1])
                && list.last() == Some(&100) =>
        {
            Some(list)
        }
        _ => {
            instance.problem(eval::wrong_type(
                instance.sources,
                attr,
                &value,
                "rising percentages from 1, ending at 100, such as `[10, 50, 100]`",
            ));
            None
        }
    }
}

/// A duration attribute in whole seconds (`"30s"`, `"5m"`; `"0s"` allowed), `default` when
/// absent.
fn seconds(instance: &Instance<'_>, block: &BlockDef, name: &str, default: u64) -> Option<u64> {
    let Some((value, attr)) = instance.value(block, name) else {
        return block.attribute(name).is_none().then_some(default);
    };
    let parsed = value
        .as_str()
        .and_then(|text| humantime::parse_duration(text).ok())
        .filter(|duration| duration.subsec_nanos() == 0);
    match parsed {
        Some(duration) => Some(duration.as_secs()),
        None => {
            instance.problem(eval::wrong_type(
                instance.sources,
                attr,
                &value,
                "a duration in whole seconds such as `\"30s\"` or `\"5m\"`",
            ));
            None
        }
    }
}

/// `abort_on`: a list of alarm blocks (`[alarm.web_5xx, alarm.cpu_high]`), as the addresses
/// of those alarms in the group's region.
fn abort_on(instance: &Instance<'_>, block: &BlockDef) -> Option<Vec<RolloutGate>> {
    let Some(attr) = block.attribute("abort_on") else {
        return Some(Vec::new());
    };
    let expected = "a list of alarm blocks such as `[alarm.web_5xx, alarm.cpu_high]`";
    let Expression::Array(items) = &attr.edit else {
        instance.problem(
            Diagnostic::at(
                instance.sources,
                attr.value_span,
                "wrong type for `abort_on`",
            )
            .expected(expected),
        );
        return None;
    };
    // The group's own address without its block and key: the module the alarms are in.
    let own = format!("{}.{}", instance.block.ident, instance.block.name());
    let prefix = instance
        .address_base
        .rfind(&own)
        .map(|at| &instance.address_base[..at])
        .unwrap_or_default();
    let mut gates = Vec::new();
    let mut failed = false;
    for item in items.iter() {
        match gate(instance, attr, item, prefix) {
            Some(gate) => gates.push(gate),
            None => {
                failed = true;
                instance.problem(
                    Diagnostic::at(
                        instance.sources,
                        item_span(attr, item),
                        "`abort_on` names alarms only",
                    )
                    .expected(expected),
                );
            }
        }
    }
    (!failed).then_some(gates)
}

/// One item of `abort_on` as a gate, when it is `alarm.NAME` or `alarm.NAME["key"]`.
fn gate(
    instance: &Instance<'_>,
    attr: &Attr,
    item: &Expression,
    prefix: &str,
) -> Option<RolloutGate> {
    if !matches!(item, Expression::Traversal(_)) {
        return None;
    }
    let [traversal] = traversals(attr.file, item).try_into().ok()?;
    if traversal.root != "alarm" {
        return None;
    }
    let name = traversal.attr(0)?;
    let key = match traversal.steps.get(1..)? {
        [] => String::new(),
        [Step::Key(key)] => format!("[\"{key}\"]"),
        _ => return None,
    };
    Some(RolloutGate {
        alarm: Address::new(format!(
            "{prefix}alarm.{name}{key}[{}]",
            instance.region.name
        )),
        source: instance
            .sources
            .location(traversal.span_through(traversal.steps.len())),
    })
}

/// Where an item of `abort_on` was written (the attribute's value when it has no span).
fn item_span(attr: &Attr, item: &Expression) -> Span {
    use hcl_edit::Span as _;
    Span::from_range(attr.file, item.span(), attr.value_span)
}

//! `backup_policy` → no cloud resource: the policy the DR commands run (which volumes, how
//! often, how many snapshots to keep, where to copy them).

use super::{Built, Instance};
use crate::config::diagnostics::Diagnostic;
use crate::config::eval;
use crate::graph::BackupPolicySpec;
use crate::model::{Address, Tags, references_in};
use serde_json::json;

pub(super) fn build(instance: &Instance<'_>) -> Option<Built> {
    let block = instance.block;
    let select = match block.attribute("select") {
        Some(_) => instance.typed(block, "select", eval::as_tags),
        None => Some(Tags::new()),
    };
    let volumes: Option<Vec<Address>> = instance
        .ids(
            block,
            "volumes",
            "a list of volumes such as `[volume.data]`",
        )
        .map(|ids| {
            ids.iter()
                .flat_map(|id| references_in(id).into_iter().map(|found| found.address))
                .collect()
        });
    if block.attribute("select").is_none() && block.attribute("volumes").is_none() {
        instance.problem(
            Diagnostic::at(instance.sources, block.label_span, format!("`{}` selects no volumes", block.display()))
                .hint("add `select = { tier = \"data\" }` (volumes with these tags) or `volumes = [volume.NAME]`"),
        );
    }
    let every = instance.duration(block, "every", "`\"24h\"`, `\"30m\"` or `\"7d\"`");
    let retain = instance.count(block, "retain");
    let copy_to = instance
        .optional_string(block, "copy_to")
        .and_then(|region| super::limits::region(instance, block, "copy_to", region));
    let (select, volumes, every_seconds, retain) = (select?, volumes?, every?, retain?);
    Some(Built {
        value: json!({ "name": instance.short_name }),
        policy: Some(BackupPolicySpec {
            name: instance.short_name.clone(),
            select,
            volumes,
            every_seconds,
            retain: u32::try_from(retain).unwrap_or(u32::MAX),
            copy_to,
            source: instance.sources.location(block.label_span),
        }),
        ..Built::default()
    })
}

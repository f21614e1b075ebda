//! How a plan shows the calls an earlier run sent without learning how they ended (issue 18):
//! grouped by what was interrupted and what this plan does about it, each group one line
//! (`1 create interrupted at 12:04:11: looking for it before creating again`) followed by its
//! addresses.

use super::super::Painter;
use crate::plan::{Interrupted, Operation, Resolution};
use owo_colors::Style;
use std::collections::BTreeMap;
use std::fmt::Write;

/// What the plan does about an interrupted call, as the user reads it.
pub fn resolution_text(resolution: Resolution) -> &'static str {
    match resolution {
        Resolution::Found => "found by its ownership tags: adopting it",
        Resolution::LookFirst => "looking for it before creating again",
        Resolution::NotWanted => "no longer wanted and not found: nothing to do",
        Resolution::Reread => "read again: planning from what the cloud holds",
        Resolution::FinishDelete => "finishing the delete",
        Resolution::Gone => "the object is gone: the delete took effect",
    }
}

/// `1 create`, `2 deletes`.
fn counted(count: usize, operation: Operation) -> String {
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {operation}{plural}")
}

/// The section listing interrupted calls, ending with a blank line; empty when there are none.
pub fn render_interrupted(interrupted: &[Interrupted], painter: &Painter) -> String {
    if interrupted.is_empty() {
        return String::new();
    }
    let mut groups: BTreeMap<(Operation, Resolution), Vec<&Interrupted>> = BTreeMap::new();
    for entry in interrupted {
        groups
            .entry((entry.intent.operation, entry.resolution))
            .or_default()
            .push(entry);
    }
    let mut out = String::from(
        "An earlier run stopped without learning how these calls ended; they may or may not \
         have taken effect:\n\n",
    );
    for ((operation, resolution), entries) in groups {
        // The latest start is the one the cloud's consistency window is counted from.
        let at = entries
            .iter()
            .map(|entry| entry.intent.since)
            .max()
            .map(|since| since.format("%H:%M:%S").to_string())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {} interrupted at {at} UTC: {}",
            painter.paint("!", Style::new().yellow().bold()),
            counted(entries.len(), operation),
            resolution_text(resolution)
        );
        for entry in entries {
            let _ = writeln!(
                out,
                "      {}{}",
                painter.paint(entry.intent.address.as_str(), Style::new().bold()),
                entry
                    .intent
                    .id
                    .as_ref()
                    .map(|id| format!(" (`{id}`)"))
                    .unwrap_or_default()
            );
        }
    }
    out.push('\n');
    out
}

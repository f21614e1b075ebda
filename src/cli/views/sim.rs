//! Views of `cairn sim`: what the simulated cloud holds, per region and kind, its stored
//! faults and outages, and a one-line confirmation of each change made behind the engine's
//! back.

use super::Painter;
use crate::cli::output::println;
use crate::provider::sim::{FaultSettings, Inventory};
use owo_colors::Style;
use std::path::Path;
use std::process::ExitCode;

/// `text` in `style` when colors are on for standard output.
fn paint(text: &str, style: Style) -> String {
    Painter::for_stdout().paint(text, style)
}

/// `cairn sim show`.
pub fn show(path: &Path, inventory: &Inventory) {
    println!(
        "{} {}",
        paint("Simulated cloud", Style::new().bold()),
        path.display()
    );
    if inventory.regions.is_empty() {
        println!("  (empty)");
    }
    for (region, kinds) in &inventory.regions {
        let down = if inventory.outages.contains(region) {
            format!(" {}", paint("(outage)", Style::new().red()))
        } else {
            String::new()
        };
        println!("\n{}{down}", paint(region, Style::new().bold()));
        for (kind, items) in kinds {
            println!("  {}", paint(kind.as_str(), Style::new().cyan()));
            for item in items {
                let attributes: Vec<String> = item
                    .attributes
                    .iter()
                    .map(|(name, value)| match value {
                        serde_json::Value::String(text) => format!("{name}={text}"),
                        other => format!("{name}={other}"),
                    })
                    .collect();
                let address = item.address.as_deref().unwrap_or("-");
                println!(
                    "    {}  {}  {}",
                    item.id,
                    paint(address, Style::new().dimmed()),
                    attributes.join(" ")
                );
            }
        }
    }
    if !inventory.unhealthy_images.is_empty() {
        let images: Vec<&str> = inventory
            .unhealthy_images
            .iter()
            .map(String::as_str)
            .collect();
        println!(
            "\nfailing health checks: instances of {}",
            images.join(", ")
        );
    }
    let lone_outages: Vec<&String> = inventory
        .outages
        .iter()
        .filter(|region| !inventory.regions.contains_key(*region))
        .collect();
    if !lone_outages.is_empty() {
        let names: Vec<&str> = lone_outages.iter().map(|region| region.as_str()).collect();
        println!("\noutages: {}", names.join(", "));
    }
    if inventory.faults != FaultSettings::default() {
        println!();
        faults(&inventory.faults);
    }
    if inventory.clock.is_some() {
        println!();
        clock(inventory.clock);
    }
    println!("\n{} API calls so far", inventory.calls);
}

/// `cairn sim show --json`.
pub fn show_json(inventory: &Inventory) -> ExitCode {
    super::print_json(inventory)
}

/// The stored fault settings on one line.
pub fn faults(settings: &FaultSettings) {
    let mut parts = Vec::new();
    if let Some(latency) = settings.latency_ms {
        parts.push(format!("latency {latency} ms"));
    }
    if let Some(rate) = settings.throttle_rate {
        parts.push(format!("throttle rate {rate}"));
    }
    if let Some(rate) = settings.error_rate {
        parts.push(format!("error rate {rate}"));
    }
    if let Some(seed) = settings.seed {
        parts.push(format!("seed {seed}"));
    }
    if let Some(lag) = settings.read_lag_ms {
        parts.push(format!("read lag {lag} ms"));
    }
    if parts.is_empty() {
        println!("faults: none");
    } else {
        println!("faults: {}", parts.join(", "));
    }
}

/// A change to the simulated cloud went through.
pub fn done(message: &str) {
    println!("{} {message}", paint("✓", Style::new().green()));
}

/// `cairn sim clock`: the time the clock stands at, or that it follows the wall clock.
pub fn clock(stands_at: Option<chrono::DateTime<chrono::Utc>>) {
    match stands_at {
        Some(time) => println!(
            "clock: stands at {}",
            time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        None => println!("clock: follows the wall clock"),
    }
}

/// The quota limits stored for `region` (`cairn sim quota`).
pub fn quotas(region: &str, stored: &std::collections::BTreeMap<crate::provider::QuotaName, u64>) {
    for name in crate::provider::QuotaName::ALL {
        match stored.get(&name) {
            Some(limit) => println!("{region}: {name}: {limit}"),
            None => println!(
                "{region}: {name}: not set (unlimited; {} under CAIRN_SIM_PROFILE=aws)",
                name.aws_default()
            ),
        }
    }
}

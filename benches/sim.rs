//! How fast the simulated cloud serves calls: every call locks the cloud file, saves the whole
//! cloud and logs the call, so cost grows with the cloud's size. Prints numbers; asserts
//! nothing. The cloud is a fresh file opened with no faults, so no `CAIRN_SIM_*` variable
//! reaches it (it does not read them).
//!
//! Run with `cargo bench --no-default-features --bench sim`.

// A benchmark prints its figures for whoever runs it; the CLI's closed-pipe printing
// (`cairn::cli::output`) is for the program, not for this.
#![allow(clippy::disallowed_macros)]

use cairn::model::{Address, Kind, Owner};
use cairn::provider::sim::{FaultConfig, SimProvider};
use cairn::provider::{CreateRequest, Provider};
use serde_json::json;
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let directory = tempfile::tempdir()?;
    let provider = SimProvider::open_with_faults(
        &directory.path().join("sim/cloud.json"),
        FaultConfig::default(),
    )?;
    let owner = Owner {
        stack: "bench".to_string(),
        env: "bench".to_string(),
    };
    let request = |index: usize| CreateRequest {
        kind: Kind::Network,
        region: "us-east-1".to_string(),
        attributes: [(
            "cidr".to_string(),
            json!(format!("10.{}.{}.0/24", index / 256, index % 256)),
        )]
        .into_iter()
        .collect(),
        tags: owner.tags_for(&Address::new(format!("network.n{index}[us-east-1]"))),
        token: format!("token-{index}"),
    };
    for batch in [100usize, 400] {
        let start = Instant::now();
        for index in 0..batch {
            provider
                .create(&request(index + if batch == 100 { 0 } else { 100 }))
                .await?;
        }
        let created = start.elapsed();
        let start = Instant::now();
        let listed = provider.read("us-east-1", Kind::Network, &owner).await?;
        let read = start.elapsed();
        println!(
            "{batch} creates: {:.2} ms per create; read of {} networks: {:.2} ms",
            created.as_secs_f64() * 1000.0 / batch as f64,
            listed.len(),
            read.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}

//! `cairn discover -e ENV [--kind K] [--tag K=V] [--write FILE]`: list what no stack owns in
//! the environment's regions, and write the configuration that imports it.

use super::report::outcome;
use super::stack_args::{StackArgs, block_on};
use super::views;
use crate::ops::{self, DiscoverRequest, Discovery};
use std::path::PathBuf;
use std::process::ExitCode;

/// List objects in the environment's regions that no stack owns; write blocks that import them.
#[derive(Debug, clap::Args)]
pub struct DiscoverArgs {
    #[command(flatten)]
    pub stack: StackArgs,

    /// Only objects of block type KIND (`network`, `firewall`, `instance`, `volume`,
    /// `launch_template`, `autoscaling`, `load_balancer`, `alarm`, `dns_zone` with its
    /// records); repeatable.
    #[arg(long = "kind", value_name = "KIND")]
    pub kinds: Vec<String>,

    /// Only objects carrying tag KEY with VALUE; repeatable (all must match).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = super::vars::parse_var)]
    pub tags: Vec<(String, String)>,

    /// Write a block and an `import` block for each object to FILE (refused if it exists).
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
}

pub fn run(args: DiscoverArgs) -> ExitCode {
    let request = DiscoverRequest {
        stack: args.stack.request(),
        kinds: args.kinds.clone(),
        tags: args.tags.clone(),
    };
    outcome(block_on(ops::discover(&request)), |discovery| {
        written(discovery, args.write.as_ref())
    })
}

/// Writes the configuration when asked to, then lists what was found.
fn written(discovery: &Discovery, write: Option<&PathBuf>) -> ExitCode {
    if let Some(path) = write {
        let text = &discovery.configuration;
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|mut file| std::io::Write::write_all(&mut file, text.as_bytes()));
        if let Err(error) = created {
            return super::report::error(miette::miette!(
                help = "choose a new file: discover never overwrites one",
                "cannot write `{}`: {error}",
                path.display()
            ));
        }
    }
    views::state::discovered(discovery, write.map(PathBuf::as_path));
    ExitCode::SUCCESS
}

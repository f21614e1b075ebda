//! The arguments every command that works on one environment of a stack shares.

use super::vars::VarArgs;
use crate::ops::PlanRequest;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct StackArgs {
    /// The environment to work on (required, except when applying a saved plan file).
    #[arg(short = 'e', long = "env", value_name = "ENV")]
    pub environment: Option<String>,

    /// The stack directory.
    #[arg(default_value = ".", value_hint = clap::ValueHint::DirPath)]
    pub dir: PathBuf,

    #[command(flatten)]
    pub vars: VarArgs,
}

impl StackArgs {
    pub fn request(&self) -> PlanRequest {
        PlanRequest {
            dir: self.dir.clone(),
            environment: self.environment.clone().unwrap_or_default(),
            load: self.vars.load_options(),
            ..PlanRequest::default()
        }
    }
}

/// A runtime for the async engine; commands are short-lived, so one per command.
pub fn block_on<F: std::future::Future>(future: F) -> std::io::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(future))
}

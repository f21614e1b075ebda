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

/// A runtime for the async engine; commands are short-lived, so one per command. Ctrl-C (or
/// SIGTERM) stops the operation where it is: it is dropped, which releases the state lock it
/// holds (its guard's drop), and the command ends with an `Interrupted` error (exit 130).
pub fn block_on<F: std::future::Future>(future: F) -> std::io::Result<F::Output> {
    block_on_stoppable(future, None)
}

/// As [`block_on`], but the first Ctrl-C only sends `stop` (an apply then starts nothing new,
/// lets the calls in flight finish, saves and returns); a second one drops the operation.
pub fn block_on_stoppable<F: std::future::Future>(
    future: F,
    stop: Option<tokio::sync::watch::Sender<bool>>,
) -> std::io::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut future = std::pin::pin!(future);
        if let Some(stop) = stop {
            tokio::select! {
                output = &mut future => return Ok(output),
                () = interrupted() => {
                    tracing::warn!("interrupted: finishing the calls in flight; interrupt again to stop at once");
                    stop.send_replace(true);
                }
            }
        }
        tokio::select! {
            output = &mut future => Ok(output),
            () = interrupted() => Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "interrupted",
            )),
        }
    })
}

/// Completes at Ctrl-C, or SIGTERM where there is one; never when no handler can be set up.
async fn interrupted() {
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        result = tokio::signal::ctrl_c() => {
            if result.is_err() {
                std::future::pending::<()>().await;
            }
        }
        () = terminate => {}
    }
}

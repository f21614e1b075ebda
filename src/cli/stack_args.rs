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
///
/// The signals are listened to before the operation first runs, by a task of their own: a
/// Ctrl-C that came while the operation had not yet awaited anything met the default handler
/// (the process died where it was, without a word, leaving its state lock behind), and one
/// that came while the operation kept the thread busy (the simulated cloud answers without
/// waiting) went unseen until it ended. The task sends `stop` from another thread, and the
/// executor reads it before scheduling each step.
pub fn block_on_stoppable<F: std::future::Future>(
    future: F,
    stop: Option<tokio::sync::watch::Sender<bool>>,
) -> std::io::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut interrupts = Interrupts::listen();
        let (drop_now, dropped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            if let Some(stop) = stop {
                interrupts.next().await;
                tracing::warn!(
                    "interrupted: finishing the calls in flight; interrupt again to stop at once"
                );
                stop.send_replace(true);
            }
            interrupts.next().await;
            let _ = drop_now.send(());
        });
        let mut future = std::pin::pin!(future);
        tokio::select! {
            biased;
            Ok(()) = dropped => Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "interrupted",
            )),
            output = &mut future => Ok(output),
        }
    })
}

/// Ctrl-C and SIGTERM (where there is one), listened to from the moment this is made.
struct Interrupts {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Interrupts {
    /// Sets the handlers up now (a signal that cannot be listened to is never reported).
    fn listen() -> Interrupts {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Interrupts {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Interrupts {}
    }

    /// Completes at the next Ctrl-C or SIGTERM; never when no handler could be set up.
    async fn next(&mut self) {
        #[cfg(unix)]
        {
            async fn next_of(signal: Option<&mut tokio::signal::unix::Signal>) {
                let received = match signal {
                    Some(signal) => signal.recv().await.is_some(),
                    None => false,
                };
                if !received {
                    std::future::pending::<()>().await;
                }
            }
            let Interrupts {
                interrupt,
                terminate,
            } = self;
            tokio::select! {
                () = next_of(interrupt.as_mut()) => {}
                () = next_of(terminate.as_mut()) => {}
            }
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

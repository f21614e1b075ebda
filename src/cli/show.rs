//! Reading and editing recorded state: `show`, `output`, `state list|show|mv|rm|migrate`,
//! `import`, `force-unlock`.

use super::report::outcome;
use super::stack_args::{StackArgs, block_on};
use super::views::state as view;
use crate::config::Backend;
use crate::model::Address;
use crate::ops::{self, ImportRequest, OpsError};
use crate::state::StateDocument;
use std::process::ExitCode;

/// Show the recorded resources and outputs of an environment.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Print the state as JSON (sensitive values hidden).
    #[arg(long)]
    pub json: bool,
}

/// Print the environment's outputs.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Only this output (its raw value, sensitive or not).
    #[arg(long)]
    pub name: Option<String>,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Inspect or edit recorded state.
#[derive(Debug, clap::Args)]
pub struct StateArgs {
    #[command(subcommand)]
    pub command: StateCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum StateCommand {
    /// List recorded addresses.
    List(StackArgs),
    /// Show one recorded resource.
    Show {
        /// The resource's address.
        address: String,
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Record resources at another address, rewriting their ownership tags in place: nothing is
    /// replaced and ids stay (a one-off `moved` block).
    Mv {
        /// The address (or block path) recorded now.
        from: String,
        /// The address (or block path) to record it at.
        to: String,
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Stop managing resources: forget them and remove their ownership tags in the cloud, so
    /// they are left as they are and no plan adopts them again.
    Rm {
        /// The address (or block path) to forget.
        address: String,
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Move the environment's state (with its backup and the audit log) from the configured
    /// backend to another; the old copy is marked as migrated.
    Migrate(MigrateArgs),
}

/// Where `cairn state migrate` moves the state.
#[derive(Debug, Clone, clap::Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// The kind of backend to move the state to.
    #[arg(long, value_enum)]
    pub to: MigrateTarget,
    /// `--to local`: the state directory (relative to the stack directory).
    #[arg(long, default_value = ".cairn")]
    pub path: std::path::PathBuf,
    /// `--to s3`: the bucket.
    #[arg(long, required_if_eq("to", "s3"))]
    pub bucket: Option<String>,
    /// `--to s3`: the key prefix under which each environment keeps its objects.
    #[arg(long, required_if_eq("to", "s3"))]
    pub key: Option<String>,
    /// `--to s3`: the bucket's region.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// `--to s3`: the AWS profile.
    #[arg(long)]
    pub profile: Option<String>,
    /// `--to s3`: an S3-compatible endpoint URL (an emulator).
    #[arg(long)]
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MigrateTarget {
    Local,
    S3,
}

impl MigrateArgs {
    fn destination(&self) -> Backend {
        match self.to {
            MigrateTarget::Local => Backend::Local {
                path: self.path.clone(),
            },
            MigrateTarget::S3 => Backend::S3 {
                bucket: self.bucket.clone().unwrap_or_default(),
                key: self.key.clone().unwrap_or_default(),
                region: self.region.clone(),
                profile: self.profile.clone(),
                endpoint: self.endpoint.clone(),
                lock_stale_after_seconds: None,
            },
        }
    }
}

/// Manage an existing cloud resource: tag it as this environment's and record it in state at
/// a configured address.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The configured address to record it at.
    pub address: String,
    /// The cloud id of the resource.
    pub id: String,
    /// Import it even though another stack or environment manages it, taking it over.
    #[arg(long)]
    pub take_over: bool,
    #[command(flatten)]
    pub stack: StackArgs,
}

/// Remove a lock left behind by a run that died.
#[derive(Debug, clap::Args)]
pub struct ForceUnlockArgs {
    /// The lock id printed by the refused run.
    pub lock_id: String,
    #[command(flatten)]
    pub stack: StackArgs,
}

/// The recorded state, or the reported error: none recorded yet is an error for every command
/// here.
fn load(stack: &StackArgs) -> Result<StateDocument, ExitCode> {
    match ops::read_state(&stack.request()) {
        Ok(Some(state)) => Ok(state),
        Ok(None) => Err(super::report::ops(OpsError::NoState {
            environment: stack.environment.clone().unwrap_or_default(),
        })),
        Err(error) => Err(super::report::ops(error)),
    }
}

pub fn run_show(args: ShowArgs) -> ExitCode {
    let state = match load(&args.stack) {
        Ok(state) => state,
        Err(code) => return code,
    };
    if args.json {
        return view::show_json(&state);
    }
    view::show(&state);
    ExitCode::SUCCESS
}

pub fn run_output(args: OutputArgs) -> ExitCode {
    let state = match load(&args.stack) {
        Ok(state) => state,
        Err(code) => return code,
    };
    match &args.name {
        Some(name) => match state.outputs.get(name) {
            Some(output) => view::output_value(output, args.json),
            None => {
                return super::report::ops(OpsError::NoOutput {
                    name: name.clone(),
                    environment: state.environment,
                });
            }
        },
        None if args.json => return view::outputs_json(&state.outputs),
        None => view::outputs(&state.outputs),
    }
    ExitCode::SUCCESS
}

pub fn run_state(args: StateArgs) -> ExitCode {
    match args.command {
        StateCommand::List(stack) => match load(&stack) {
            Ok(state) => {
                view::addresses(state.resources.keys());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        StateCommand::Show { stack, address } => {
            let state = match load(&stack) {
                Ok(state) => state,
                Err(code) => return code,
            };
            match state.resources.get(&Address::new(&address)) {
                Some(resource) => {
                    view::resource(resource);
                    ExitCode::SUCCESS
                }
                None => super::report::ops(OpsError::UnknownAddress {
                    address,
                    place: "the state".to_string(),
                }),
            }
        }
        StateCommand::Mv { stack, from, to } => {
            let result = block_on(ops::state_move(&stack.request(), &from, &to));
            outcome(result, |moves| {
                view::moved(moves);
                ExitCode::SUCCESS
            })
        }
        StateCommand::Migrate(args) => {
            let request = ops::MigrateRequest {
                stack: args.stack.request(),
                to: args.destination(),
            };
            match ops::migrate(&request) {
                Ok(report) => {
                    view::migrated(&report);
                    ExitCode::SUCCESS
                }
                Err(error) => super::report::ops(error),
            }
        }
        StateCommand::Rm { stack, address } => {
            let request = stack.request();
            let result = block_on(ops::state_remove(&request, std::slice::from_ref(&address)));
            outcome(result, view::removed)
        }
    }
}

pub fn run_import(args: ImportArgs) -> ExitCode {
    let request = ImportRequest {
        stack: args.stack.request(),
        address: args.address,
        id: args.id,
        take_over: args.take_over,
    };
    outcome(block_on(ops::import(&request)), |imported| {
        view::imported(imported);
        ExitCode::SUCCESS
    })
}

pub fn run_force_unlock(args: ForceUnlockArgs) -> ExitCode {
    match ops::force_unlock(&args.stack.request(), &args.lock_id) {
        Ok(()) => {
            view::unlocked(&args.lock_id);
            ExitCode::SUCCESS
        }
        Err(error) => super::report::ops(error),
    }
}

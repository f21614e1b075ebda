//! Reading and editing recorded state: `show`, `output`, `state list|show|rm`, `import`,
//! `force-unlock`.

use super::stack_args::{StackArgs, block_on};
use crate::model::is_known;
use crate::ops::{self, ImportRequest};
use crate::state::{StateDocument, StateOutput, StateResource};
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
    /// Forget resources without touching the cloud.
    Rm {
        /// The address (or block path) to forget.
        address: String,
        #[command(flatten)]
        stack: StackArgs,
    },
}

/// Record an existing cloud resource in state at a configured address.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The configured address to record it at.
    pub address: String,
    /// The cloud id of the resource.
    pub id: String,
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

fn load(stack: &StackArgs) -> Result<StateDocument, ExitCode> {
    match ops::read_state(&stack.request()) {
        Ok(Some(state)) => Ok(state),
        Ok(None) => Err({
            eprintln!(
                "No state for environment `{}` yet: nothing has been applied.",
                stack.environment.as_deref().unwrap_or_default()
            );
            ExitCode::FAILURE
        }),
        Err(error) => Err(super::report::ops(error)),
    }
}

pub fn run_show(args: ShowArgs) -> ExitCode {
    let state = match load(&args.stack) {
        Ok(state) => state,
        Err(code) => return code,
    };
    if args.json {
        println!("{}", redacted_json(&state));
        return ExitCode::SUCCESS;
    }
    println!(
        "Environment {} of stack {} (serial {}, {} resources)",
        state.environment,
        state.stack,
        state.serial,
        state.resources.len()
    );
    for resource in state.resources.values() {
        println!();
        view_resource(resource);
    }
    if !state.outputs.is_empty() {
        println!("\nOutputs:\n");
        for (name, output) in &state.outputs {
            println!("{name} = {}", display_output(output));
        }
    }
    ExitCode::SUCCESS
}

pub fn run_output(args: OutputArgs) -> ExitCode {
    let state = match load(&args.stack) {
        Ok(state) => state,
        Err(code) => return code,
    };
    if let Some(name) = &args.name {
        let Some(output) = state.outputs.get(name) else {
            eprintln!(
                "Error: no output `{name}` in environment `{}`",
                state.environment
            );
            return ExitCode::FAILURE;
        };
        match &output.value {
            serde_json::Value::String(text) if !args.json => println!("{text}"),
            other => println!("{other}"),
        }
        return ExitCode::SUCCESS;
    }
    if args.json {
        let outputs: serde_json::Map<String, serde_json::Value> = state
            .outputs
            .iter()
            .map(|(name, output)| {
                let value = if output.sensitive {
                    serde_json::Value::String("(sensitive)".to_string())
                } else {
                    output.value.clone()
                };
                (name.clone(), value)
            })
            .collect();
        println!("{}", serde_json::Value::Object(outputs));
    } else {
        for (name, output) in &state.outputs {
            println!("{name} = {}", display_output(output));
        }
    }
    ExitCode::SUCCESS
}

pub fn run_state(args: StateArgs) -> ExitCode {
    match args.command {
        StateCommand::List(stack) => match load(&stack) {
            Ok(state) => {
                for address in state.resources.keys() {
                    println!("{address}");
                }
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        StateCommand::Show { stack, address } => match load(&stack) {
            Ok(state) => match state.resources.get(&crate::model::Address::new(&address)) {
                Some(resource) => {
                    view_resource(resource);
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!("Error: no resource `{address}` in the state");
                    ExitCode::FAILURE
                }
            },
            Err(code) => code,
        },
        StateCommand::Rm { stack, address } => {
            match ops::state_remove(&stack.request(), std::slice::from_ref(&address)) {
                Ok(removed) => {
                    for address in &removed {
                        println!("Removed {address}");
                    }
                    println!(
                        "Successfully removed {} resource(s) from state; the cloud is unchanged.",
                        removed.len()
                    );
                    ExitCode::SUCCESS
                }
                Err(error) => super::report::ops(error),
            }
        }
    }
}

pub fn run_import(args: ImportArgs) -> ExitCode {
    let request = ImportRequest {
        stack: args.stack.request(),
        address: args.address,
        id: args.id,
    };
    match block_on(ops::import(&request)) {
        Ok(Ok(resource)) => {
            println!("{}: imported {}", resource.address, resource.id);
            println!("Import successful! The resource is now managed by cairn.");
            ExitCode::SUCCESS
        }
        Ok(Err(error)) => super::report::ops(error),
        Err(error) => super::report::error(miette::miette!("cannot start: {error}")),
    }
}

pub fn run_force_unlock(args: ForceUnlockArgs) -> ExitCode {
    match ops::force_unlock(&args.stack.request(), &args.lock_id) {
        Ok(()) => {
            println!("Cairn state has been unlocked (lock {}).", args.lock_id);
            ExitCode::SUCCESS
        }
        Err(error) => super::report::ops(error),
    }
}

fn view_resource(resource: &StateResource) {
    println!(
        "# {} ({} in {})",
        resource.address, resource.kind, resource.region
    );
    println!("    id = {}", resource.id);
    for (name, value) in &resource.attributes {
        if name == "id" {
            continue;
        }
        let shown = if resource.sensitive.contains(name) {
            "(sensitive value)".to_string()
        } else {
            value.to_string()
        };
        println!("    {name} = {shown}");
    }
    for (key, value) in &resource.tags {
        println!("    tags.{key} = {value:?}");
    }
}

/// An output as a user reads it: sensitive values hidden, unknown ones marked.
pub fn display_output(output: &StateOutput) -> String {
    if output.sensitive {
        "(sensitive value)".to_string()
    } else if !is_known(&output.value) {
        "(known after apply)".to_string()
    } else {
        output.value.to_string()
    }
}

fn redacted_json(state: &StateDocument) -> String {
    let mut state = state.clone();
    for resource in state.resources.values_mut() {
        for name in resource.sensitive.clone() {
            if let Some(value) = resource.attributes.get_mut(&name) {
                *value = serde_json::Value::String("(sensitive)".to_string());
            }
        }
    }
    for output in state.outputs.values_mut() {
        if output.sensitive {
            output.value = serde_json::Value::String("(sensitive)".to_string());
        }
    }
    serde_json::to_string_pretty(&state).unwrap_or_default()
}

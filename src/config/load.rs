//! Loading a stack directory: read every `*.hcl` file, parse, check against the schema, read
//! the stack, environments and variables, and load the modules it calls, collecting every
//! problem on the way.

use super::diagnostics::{Diagnostic, Diagnostics, did_you_mean};
use super::environment::{read_backend, read_encryption, read_environment};
use super::module::{Module, build_module, normalize};
use super::schema::{MODULE_BLOCKS, STACK_BLOCKS, check_top_level};
use super::source::Sources;
use super::tree::{BlockDef, parse_file};
use super::value::from_model;
use super::variables::resolve_root;
use super::{Config, LoadOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Reads, checks and prepares the stack in `dir`.
///
/// # Errors
///
/// Every problem found, as [`Diagnostics`]: unreadable files, syntax errors, unknown blocks
/// and attributes, missing stack or environments, bad variable values, bad module calls.
pub fn load(dir: &Path, options: &LoadOptions) -> Result<Config, Diagnostics> {
    let mut sources = Sources::default();
    let mut diagnostics = Diagnostics::new();
    let files = read_dir(&mut sources, dir)?;
    let blocks = parse_all(&sources, &files, &mut diagnostics);
    // A file that does not parse may hold the stack or environment blocks; saying they are
    // missing would only add noise to the syntax error.
    let complete = diagnostics.is_empty();

    let known = check_top_level(
        &sources,
        &blocks,
        &STACK_BLOCKS,
        "in a stack",
        &mut diagnostics,
    );
    let root = build_module(&sources, dir, &known, &mut diagnostics);

    let mut modules = BTreeMap::new();
    load_calls(
        &mut sources,
        &root,
        &mut modules,
        &mut vec![identity(dir)],
        &mut diagnostics,
    );

    let stacks: Vec<&BlockDef> = blocks
        .iter()
        .filter(|block| block.ident == "stack")
        .collect();
    let stack_block = match stacks.as_slice() {
        [] => {
            if complete {
                diagnostics.push(
                    Diagnostic::error(format!("no `stack` block in `{}`", dir.display()))
                        .hint("add `stack \"NAME\" {}` to one of the stack's files"),
                );
            }
            None
        }
        [first, rest @ ..] => {
            for extra in rest {
                diagnostics.push(
                    Diagnostic::at(
                        &sources,
                        extra.ident_span,
                        "a stack has exactly one `stack` block",
                    )
                    .note(format!(
                        "the first is at {}",
                        sources.location(first.ident_span)
                    )),
                );
            }
            Some(*first)
        }
    };

    let variables = match resolve_root(&mut sources, &root, options) {
        Ok(values) => values,
        Err(found) => {
            diagnostics.extend(found);
            BTreeMap::new()
        }
    };
    let bindings = var_bindings(&variables);

    let backend = stack_block.and_then(|block| {
        read_backend(&sources, block, &bindings, dir)
            .map_err(|found| diagnostics.extend(found))
            .ok()
    });

    let encryption = stack_block.and_then(|block| {
        read_encryption(&sources, block, &bindings, dir)
            .map_err(|found| diagnostics.extend(found))
            .ok()
            .flatten()
    });

    let mut environments = BTreeMap::new();
    for block in blocks.iter().filter(|block| block.ident == "environment") {
        if environments.contains_key(block.name()) {
            diagnostics.push(Diagnostic::at(
                &sources,
                block.label_span,
                format!("environment `{}` is declared twice", block.name()),
            ));
            continue;
        }
        match read_environment(&sources, block, &bindings, dir) {
            Ok(environment) => {
                environments.insert(environment.name.clone(), environment);
            }
            Err(found) => diagnostics.extend(found),
        }
    }
    if complete && !blocks.iter().any(|block| block.ident == "environment") {
        diagnostics.push(
            Diagnostic::error(format!("no `environment` block in `{}`", dir.display()))
                .hint("add `environment \"dev\" { cloud = \"sim\" ... }` with at least one region"),
        );
    }

    // Promote reads the stack's own variables; an artifact inside a module would be ignored.
    for module in modules.values() {
        for variable in module
            .variables
            .values()
            .filter(|variable| variable.artifact)
        {
            diagnostics.push(
                Diagnostic::at(
                    &sources,
                    variable.span,
                    format!(
                        "module variable `{}` cannot be an `artifact`",
                        variable.name
                    ),
                )
                .hint(
                    "mark the stack's own variable as `artifact = true` and pass it to the module",
                ),
            );
        }
    }

    let (Some(stack_block), Some(backend)) = (stack_block, backend) else {
        return Err(diagnostics);
    };
    let config = Config {
        dir: dir.to_path_buf(),
        stack: stack_block.name().to_string(),
        backend,
        encryption,
        variables,
        environments,
        block_count: blocks.len(),
        root,
        modules,
        sources,
    };
    diagnostics.into_result(config)
}

/// `var.*` for evaluating the stack and environment blocks.
fn var_bindings(variables: &BTreeMap<String, crate::model::Value>) -> super::eval::Bindings {
    vec![(
        "var".to_string(),
        hcl::Value::Object(
            variables
                .iter()
                .map(|(name, value)| (name.clone(), from_model(value)))
                .collect(),
        ),
    )]
}

/// Where a stack keeps its state, read without the rest of the configuration.
#[derive(Debug, Clone)]
pub struct StackLocation {
    /// The `stack "NAME"` label.
    pub stack: String,
    pub backend: super::Backend,
    pub encryption: Option<super::StateEncryption>,
    /// The names of the stack's environments.
    pub environments: Vec<String>,
}

/// Reads only the `stack` block of the stack in `dir`: for commands that work on what is
/// recorded (`cairn history`, `rollback`, `promote`) and must find it even when the current
/// files need variables those commands supply from the history. Variables that have no value
/// are left unknown; the backend is read with the rest.
///
/// # Errors
/// Unreadable files, syntax errors, no `stack` block, or a backend that needs a variable
/// without a value (with that variable's diagnostic).
pub fn locate(dir: &Path, options: &LoadOptions) -> Result<StackLocation, Diagnostics> {
    let mut sources = Sources::default();
    let mut diagnostics = Diagnostics::new();
    let files = read_dir(&mut sources, dir)?;
    let blocks = parse_all(&sources, &files, &mut diagnostics);
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    let known = check_top_level(
        &sources,
        &blocks,
        &STACK_BLOCKS,
        "in a stack",
        &mut Diagnostics::new(),
    );
    let root = build_module(&sources, dir, &known, &mut Diagnostics::new());
    let Some(stack_block) = blocks.iter().find(|block| block.ident == "stack") else {
        return Err(Diagnostic::error(format!("no `stack` block in `{}`", dir.display())).into());
    };
    let (variables, unresolved) = match resolve_root(&mut sources, &root, options) {
        Ok(values) => (values, Diagnostics::new()),
        Err(found) => (BTreeMap::new(), found),
    };
    let bindings = var_bindings(&variables);
    let backend = read_backend(&sources, stack_block, &bindings, dir);
    let encryption = read_encryption(&sources, stack_block, &bindings, dir);
    match (backend, encryption) {
        (Ok(backend), Ok(encryption)) => Ok(StackLocation {
            stack: stack_block.name().to_string(),
            backend,
            encryption,
            environments: blocks
                .iter()
                .filter(|block| block.ident == "environment")
                .map(|block| block.name().to_string())
                .collect(),
        }),
        (backend, encryption) => {
            let mut diagnostics = unresolved;
            for found in [backend.err(), encryption.err()].into_iter().flatten() {
                diagnostics.extend(found);
            }
            Err(diagnostics)
        }
    }
}

/// Largest `.hcl` file read: stacks are hand-written text, and a bigger file is far more
/// likely a mistake (a log or a disk image renamed) than a configuration.
const FILE_LIMIT_BYTES: u64 = 16 * 1024 * 1024;

/// Registers the directory's `*.hcl` files, sorted by name so that results never depend on
/// the order the file system lists them in. An entry named `*.hcl` that is not a regular file
/// (a directory, a FIFO, a dangling symlink) is an error rather than silently skipped: the
/// user meant something by that name.
fn read_dir(sources: &mut Sources, dir: &Path) -> Result<Vec<super::source::FileId>, Diagnostics> {
    let entries = fs_err::read_dir(dir)
        .map_err(|error| Diagnostic::error(format!("cannot read directory: {error}")))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "hcl"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(Diagnostic::error(format!("no `.hcl` files in `{}`", dir.display())).into());
    }
    let mut files = Vec::new();
    let mut diagnostics = Diagnostics::new();
    for path in paths {
        match read_file(&path) {
            Ok(text) => files.push(sources.add(path.display().to_string(), text)),
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    diagnostics.into_result(files)
}

/// The text of one configuration file.
fn read_file(path: &Path) -> Result<String, Diagnostic> {
    use std::io::Read as _;
    let shown = path.display();
    // `metadata` follows symlinks, so a link to a directory or a device is refused too.
    let metadata = fs_err::metadata(path)
        .map_err(|error| Diagnostic::error(format!("cannot read `{shown}`: {error}")))?;
    if !metadata.is_file() {
        let what = if metadata.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        return Err(
            Diagnostic::error(format!("`{shown}` is {what}, not a configuration file"))
                .hint("every `*.hcl` entry of a stack directory is read: rename or move it"),
        );
    }
    let mut bytes = Vec::new();
    fs_err::File::open(path)
        .and_then(|file| file.take(FILE_LIMIT_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|error| Diagnostic::error(format!("cannot read `{shown}`: {error}")))?;
    if bytes.len() as u64 > FILE_LIMIT_BYTES {
        return Err(Diagnostic::error(format!(
            "`{shown}` is larger than {} MiB, too large for a configuration file",
            FILE_LIMIT_BYTES / 1024 / 1024
        )));
    }
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let valid = &error.as_bytes()[..offset];
        let line = valid.iter().filter(|byte| **byte == b'\n').count() + 1;
        Diagnostic::error(format!(
            "`{shown}` is not UTF-8 text: invalid byte at line {line}, byte offset {offset}"
        ))
        .hint("save the file as UTF-8")
    })
}

fn parse_all(
    sources: &Sources,
    files: &[super::source::FileId],
    diagnostics: &mut Diagnostics,
) -> Vec<BlockDef> {
    let mut blocks = Vec::new();
    for file in files {
        match parse_file(sources, *file) {
            Ok(body) => {
                for attr in body.attributes.values() {
                    diagnostics.push(
                        Diagnostic::at(
                            sources,
                            attr.key_span,
                            format!("attribute `{}` outside of any block", attr.name),
                        )
                        .hint("put it in a `locals { ... }` block, or in a `--var-file`"),
                    );
                }
                blocks.extend(body.blocks);
            }
            Err(found) => diagnostics.extend(found),
        }
    }
    blocks
}

/// What identifies a directory for cycle checks: its canonical path, so that a symlink back
/// to a directory being loaded (`modules/loop -> ..`) is seen as the same directory; the path
/// as written when it cannot be resolved (a dangling link is reported when it is read).
fn identity(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// Loads every module `module` calls, depth first, and checks each call's inputs against the
/// called module's variables. `path` is the chain of directories being loaded (the stack's
/// first, by [`identity`]), to catch a module that calls itself, through symlinks too.
fn load_calls(
    sources: &mut Sources,
    module: &Module,
    modules: &mut BTreeMap<PathBuf, Module>,
    path: &mut Vec<PathBuf>,
    diagnostics: &mut Diagnostics,
) {
    for call in &module.calls {
        let called_identity = identity(&call.module_dir);
        if path.contains(&called_identity) {
            diagnostics.push(Diagnostic::at(
                sources,
                call.block.label_span,
                format!(
                    "module `{}` calls itself through `{}`",
                    call.name, call.source
                ),
            ));
            continue;
        }
        if !modules.contains_key(&call.module_dir) {
            let Some(loaded) = load_module(sources, &call.module_dir, call, diagnostics) else {
                continue;
            };
            path.push(called_identity);
            load_calls(sources, &loaded, modules, path, diagnostics);
            path.pop();
            modules.insert(call.module_dir.clone(), loaded);
        }
        let Some(called) = modules.get(&call.module_dir) else {
            continue;
        };
        let names: Vec<&str> = called.variables.keys().map(String::as_str).collect();
        for input in call.inputs.values() {
            if !called.variables.contains_key(&input.name) {
                let mut diagnostic = Diagnostic::at(
                    sources,
                    input.key_span,
                    format!("module `{}` has no variable `{}`", call.name, input.name),
                )
                .expected(if names.is_empty() {
                    "no inputs: the module declares no variables".to_string()
                } else {
                    format!("one of {}", super::schema::list(&names))
                });
                if let Some(hint) = did_you_mean(&input.name, names.iter().copied()) {
                    diagnostic = diagnostic.hint(hint);
                }
                diagnostics.push(diagnostic);
            }
        }
        for variable in called.variables.values() {
            if variable.default.is_none() && !call.inputs.contains_key(&variable.name) {
                diagnostics.push(
                    Diagnostic::at(
                        sources,
                        call.block.label_span,
                        format!(
                            "module `{}` is missing input `{}`",
                            call.name, variable.name
                        ),
                    )
                    .note(format!(
                        "`{}` is declared at {} without a default",
                        variable.name,
                        sources.location(variable.span)
                    ))
                    .hint(format!("add `{} = ...` to the module block", variable.name)),
                );
            }
        }
    }
}

fn load_module(
    sources: &mut Sources,
    dir: &Path,
    call: &super::module::ModuleCall,
    diagnostics: &mut Diagnostics,
) -> Option<Module> {
    let files = match read_dir(sources, dir) {
        Ok(files) => files,
        Err(found) => {
            let source_span = call
                .block
                .attribute("source")
                .map_or(call.block.label_span, |attr| attr.value_span);
            diagnostics.push(
                found.iter().fold(
                    Diagnostic::at(
                        sources,
                        source_span,
                        format!("module `{}`: cannot load `{}`", call.name, dir.display()),
                    )
                    .hint(
                        "`source` is relative to the directory of the file that calls the module",
                    ),
                    |diagnostic, cause| diagnostic.note(cause.message.clone()),
                ),
            );
            return None;
        }
    };
    let blocks = parse_all(sources, &files, diagnostics);
    let known = check_top_level(sources, &blocks, &MODULE_BLOCKS, "in a module", diagnostics);
    Some(build_module(sources, &normalize(dir), &known, diagnostics))
}

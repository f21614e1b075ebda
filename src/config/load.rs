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
        &mut Vec::new(),
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
    let bindings = vec![(
        "var".to_string(),
        hcl::Value::Object(
            variables
                .iter()
                .map(|(name, value)| (name.clone(), from_model(value)))
                .collect(),
        ),
    )];

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

/// Registers the directory's `*.hcl` files, sorted by name so that results never depend on
/// the order the file system lists them in.
fn read_dir(sources: &mut Sources, dir: &Path) -> Result<Vec<super::source::FileId>, Diagnostics> {
    let entries = fs_err::read_dir(dir)
        .map_err(|error| Diagnostic::error(format!("cannot read directory: {error}")))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension().is_some_and(|extension| extension == "hcl") && path.is_file()
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(Diagnostic::error(format!("no `.hcl` files in `{}`", dir.display())).into());
    }
    let mut files = Vec::new();
    let mut diagnostics = Diagnostics::new();
    for path in paths {
        match fs_err::read_to_string(&path) {
            Ok(text) => files.push(sources.add(path.display().to_string(), text)),
            Err(error) => diagnostics.push(Diagnostic::error(format!("cannot read file: {error}"))),
        }
    }
    diagnostics.into_result(files)
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

/// Loads every module `module` calls, depth first, and checks each call's inputs against the
/// called module's variables. `path` is the chain of modules being loaded, to catch a module
/// that calls itself.
fn load_calls(
    sources: &mut Sources,
    module: &Module,
    modules: &mut BTreeMap<PathBuf, Module>,
    path: &mut Vec<PathBuf>,
    diagnostics: &mut Diagnostics,
) {
    for call in &module.calls {
        if path.contains(&call.module_dir) {
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
            path.push(call.module_dir.clone());
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
        Err(_) => {
            let source_span = call
                .block
                .attribute("source")
                .map_or(call.block.label_span, |attr| attr.value_span);
            diagnostics.push(
                Diagnostic::at(
                    sources,
                    source_span,
                    format!(
                        "module `{}`: no `.hcl` files in `{}`",
                        call.name,
                        dir.display()
                    ),
                )
                .hint("`source` is relative to the directory of the file that calls the module"),
            );
            return None;
        }
    };
    let blocks = parse_all(sources, &files, diagnostics);
    let known = check_top_level(sources, &blocks, &MODULE_BLOCKS, "in a module", diagnostics);
    Some(build_module(sources, &normalize(dir), &known, diagnostics))
}

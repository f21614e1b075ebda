//! A module body, the unit of scoping: the stack's own directory is the root module, and each
//! `modules/<name>/` directory a `module` block calls is another. Each holds its variables,
//! locals, resource blocks, calls to further modules and outputs.

use super::diagnostics::{Diagnostic, Diagnostics};
use super::eval;
use super::schema::BlockSchema;
use super::source::{Sources, Span};
use super::tree::{Attr, BlockDef};
use super::types::TypeConstraint;
use crate::model::{Moved, Removed, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A `variable` block.
#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub type_constraint: TypeConstraint,
    pub default: Option<Attr>,
    pub sensitive: bool,
    /// `artifact = true`: the value is a build artifact (an image) that `cairn promote`
    /// carries from one environment to the next as it was applied there.
    pub artifact: bool,
    pub description: Option<String>,
    pub validations: Vec<Validation>,
    pub span: Span,
}

/// A `validation { condition, error_message }` block of a variable.
#[derive(Debug, Clone)]
pub struct Validation {
    pub condition: Attr,
    pub error_message: Attr,
}

/// A `module "NAME" { source = ..., inputs... }` block.
#[derive(Debug, Clone)]
pub struct ModuleCall {
    pub name: String,
    pub block: BlockDef,
    /// The `source` as written.
    pub source: String,
    /// The called module's directory, the key into [`super::Config::modules`].
    pub module_dir: PathBuf,
    /// Every attribute but `source` and the meta-arguments: the module's variables.
    pub inputs: BTreeMap<String, Attr>,
}

/// An `output` block.
#[derive(Debug, Clone)]
pub struct Output {
    pub name: String,
    pub value: Attr,
    pub sensitive: bool,
    pub description: Option<String>,
    pub span: Span,
}

/// One module body.
#[derive(Debug, Clone, Default)]
pub struct Module {
    pub dir: PathBuf,
    pub variables: BTreeMap<String, Variable>,
    pub locals: BTreeMap<String, Attr>,
    /// Resource blocks (`network` ... `backup_policy`), in file and source order.
    pub resources: Vec<BlockDef>,
    pub calls: Vec<ModuleCall>,
    pub outputs: BTreeMap<String, Output>,
    /// `moved` blocks, in file and source order, with addresses relative to the module (see
    /// [`super::Config::moves`]).
    pub moves: Vec<Moved>,
    /// `removed` blocks, in file and source order (the root module's only).
    pub removed: Vec<Removed>,
    /// `import` blocks, in file and source order (the root module's only).
    pub imports: Vec<super::import::ImportBlock>,
    /// `(type, name)` → position in `resources`, so lookups stay fast in large stacks.
    resource_index: BTreeMap<(String, String), usize>,
}

impl Module {
    /// How many blocks the module itself declares (not counting called modules).
    pub fn block_count(&self) -> usize {
        self.variables.len() + self.resources.len() + self.calls.len() + self.outputs.len()
    }

    /// The resource block `TYPE.NAME`, if declared.
    pub fn resource(&self, block_type: &str, name: &str) -> Option<&BlockDef> {
        self.resource_index
            .get(&(block_type.to_string(), name.to_string()))
            .and_then(|index| self.resources.get(*index))
    }
}

/// Builds a module from schema-checked blocks. `stack` and `environment` blocks are skipped
/// (the loader reads them itself).
pub fn build_module(
    sources: &Sources,
    dir: &Path,
    blocks: &[(&'static BlockSchema, &BlockDef)],
    diagnostics: &mut Diagnostics,
) -> Module {
    let mut module = Module {
        dir: dir.to_path_buf(),
        ..Module::default()
    };
    let mut declared: BTreeMap<(String, String), Span> = BTreeMap::new();
    for (_, block) in blocks {
        let key = (block.ident.clone(), block.name().to_string());
        if !matches!(
            block.ident.as_str(),
            "locals" | "stack" | "moved" | "removed" | "import"
        ) {
            if let Some(first) = declared.get(&key) {
                diagnostics.push(
                    Diagnostic::at(
                        sources,
                        block.label_span,
                        format!("`{}` is declared twice", block.display()),
                    )
                    .note(format!("first declared at {}", sources.location(*first))),
                );
                continue;
            }
            declared.insert(key, block.label_span);
        }
        match block.ident.as_str() {
            "variable" => {
                if let Some(variable) = read_variable(sources, dir, block, diagnostics) {
                    module.variables.insert(variable.name.clone(), variable);
                }
            }
            "locals" => {
                for attr in block.attributes.values() {
                    if let Some(first) = module.locals.get(&attr.name) {
                        diagnostics.push(
                            Diagnostic::at(
                                sources,
                                attr.key_span,
                                format!("local `{}` is defined twice", attr.name),
                            )
                            .note(format!(
                                "first defined at {}",
                                sources.location(first.key_span)
                            )),
                        );
                        continue;
                    }
                    module.locals.insert(attr.name.clone(), attr.clone());
                }
            }
            "module" => {
                if let Some(call) = read_call(sources, dir, block, diagnostics) {
                    module.calls.push(call);
                }
            }
            "output" => {
                let Some(value) = block.attribute("value") else {
                    continue;
                };
                module.outputs.insert(
                    block.name().to_string(),
                    Output {
                        name: block.name().to_string(),
                        value: value.clone(),
                        sensitive: literal_bool(sources, dir, block, "sensitive", diagnostics),
                        description: literal_string(
                            sources,
                            dir,
                            block,
                            "description",
                            diagnostics,
                        ),
                        span: block.label_span,
                    },
                );
            }
            "moved" => {
                if let Some(moved) = super::moved::read_moved(sources, block, diagnostics) {
                    module.moves.push(moved);
                }
            }
            "removed" => {
                if let Some(removed) =
                    super::removed::read_removed(sources, dir, block, diagnostics)
                {
                    module.removed.push(removed);
                }
            }
            "import" => {
                if let Some(import) = super::import::read_import(sources, block, diagnostics) {
                    module.imports.push(import);
                }
            }
            "stack" | "environment" => {}
            _ => {
                module.resource_index.insert(
                    (block.ident.clone(), block.name().to_string()),
                    module.resources.len(),
                );
                module.resources.push((*block).clone());
            }
        }
    }
    module
}

fn literal(
    sources: &Sources,
    dir: &Path,
    block: &BlockDef,
    name: &str,
    diagnostics: &mut Diagnostics,
) -> Option<(Value, Attr)> {
    let attr = block.attribute(name)?;
    match eval::evaluate(sources, attr, Vec::new(), dir) {
        Ok(value) => Some((value, attr.clone())),
        Err(diagnostic) => {
            diagnostics.push(diagnostic.hint(format!("`{name}` must be a literal value")));
            None
        }
    }
}

/// The literal boolean attribute `name` of `block`, `false` when absent or after reporting
/// a value that is not one.
pub(super) fn literal_bool(
    sources: &Sources,
    dir: &Path,
    block: &BlockDef,
    name: &str,
    diagnostics: &mut Diagnostics,
) -> bool {
    literal(sources, dir, block, name, diagnostics)
        .and_then(|(value, attr)| {
            eval::as_bool(sources, &attr, &value)
                .map_err(|diagnostic| diagnostics.push(diagnostic))
                .ok()
        })
        .unwrap_or(false)
}

fn literal_string(
    sources: &Sources,
    dir: &Path,
    block: &BlockDef,
    name: &str,
    diagnostics: &mut Diagnostics,
) -> Option<String> {
    literal(sources, dir, block, name, diagnostics).and_then(|(value, attr)| {
        eval::as_string(sources, &attr, &value)
            .map_err(|diagnostic| diagnostics.push(diagnostic))
            .ok()
    })
}

fn read_variable(
    sources: &Sources,
    dir: &Path,
    block: &BlockDef,
    diagnostics: &mut Diagnostics,
) -> Option<Variable> {
    let type_constraint = match block.attribute("type") {
        Some(attr) => match TypeConstraint::parse(&attr.expr) {
            Ok(parsed) => parsed,
            Err(message) => {
                diagnostics.push(
                    Diagnostic::at(sources, attr.value_span, "invalid variable type")
                        .expected(message),
                );
                TypeConstraint::Any
            }
        },
        None => TypeConstraint::Any,
    };
    let validations = block
        .blocks_named("validation")
        .filter_map(|validation| {
            Some(Validation {
                condition: validation.attribute("condition")?.clone(),
                error_message: validation.attribute("error_message")?.clone(),
            })
        })
        .collect();
    let sensitive = literal_bool(sources, dir, block, "sensitive", diagnostics);
    let artifact = literal_bool(sources, dir, block, "artifact", diagnostics);
    if let (true, true, Some(attr)) = (artifact, sensitive, block.attribute("artifact")) {
        // A promoted artifact is recorded in the history and shown in plans; a secret is never.
        diagnostics.push(
            Diagnostic::at(
                sources,
                attr.key_span,
                format!(
                    "variable `{}` cannot be both `sensitive` and an `artifact`",
                    block.name()
                ),
            )
            .expected("an artifact (an image id, a version) that is not a secret")
            .hint("history records artifact values so that `cairn promote` can carry them; keep secrets out of them"),
        );
    }
    Some(Variable {
        name: block.name().to_string(),
        type_constraint,
        default: block.attribute("default").cloned(),
        sensitive,
        artifact,
        description: literal_string(sources, dir, block, "description", diagnostics),
        validations,
        span: block.label_span,
    })
}

fn read_call(
    sources: &Sources,
    dir: &Path,
    block: &BlockDef,
    diagnostics: &mut Diagnostics,
) -> Option<ModuleCall> {
    let source = literal_string(sources, dir, block, "source", diagnostics)?;
    let source_attr = block.attribute("source")?;
    if !(source.starts_with("./") || source.starts_with("../")) {
        diagnostics.push(
            Diagnostic::at(
                sources,
                source_attr.value_span,
                format!("module source `{source}` is not a local path"),
            )
            .expected("a path relative to this directory, such as `\"./modules/network\"`"),
        );
        return None;
    }
    let module_dir = normalize(&dir.join(&source));
    let inputs = block
        .attributes
        .values()
        .filter(|attr| !matches!(attr.name.as_str(), "source" | "depends_on" | "regions"))
        .map(|attr| (attr.name.clone(), attr.clone()))
        .collect();
    Some(ModuleCall {
        name: block.name().to_string(),
        block: block.clone(),
        source,
        module_dir,
        inputs,
    })
}

/// Removes `.` and `..` components without touching the file system, so the same module
/// reached by two relative paths is loaded once and shown with a tidy path.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => match out.components().next_back() {
                Some(std::path::Component::Normal(_)) => {
                    out.pop();
                }
                Some(std::path::Component::RootDir | std::path::Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_relative_module_paths() {
        assert_eq!(
            normalize(Path::new("examples/webapp/../../modules/network")),
            PathBuf::from("modules/network")
        );
        assert_eq!(normalize(Path::new("./a/./b")), PathBuf::from("a/b"));
        assert_eq!(normalize(Path::new("../x")), PathBuf::from("../x"));
        assert_eq!(normalize(Path::new("a/..")), PathBuf::from("."));
        assert_eq!(normalize(Path::new("a/../../b")), PathBuf::from("../b"));
    }
}

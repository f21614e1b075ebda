//! `cairn fmt [DIR] [--check]`: rewrite `.hcl` files in the canonical format, or list the
//! ones that are not.

use super::views;
use crate::config::format::format_hcl;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Rewrite a stack's `.hcl` files in the canonical format.
#[derive(Debug, clap::Args)]
pub struct FmtArgs {
    /// The directory to format (its `.hcl` files, and those of its subdirectories).
    #[arg(default_value = ".")]
    pub dir: PathBuf,

    /// Change nothing; list the files that are not formatted and exit 1 if there are any.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: FmtArgs) -> ExitCode {
    let files = match hcl_files(&args.dir) {
        Ok(files) => files,
        Err(error) => {
            return super::report::error(miette::miette!(
                "cannot read `{}`: {error}",
                args.dir.display()
            ));
        }
    };
    let mut unformatted = Vec::new();
    let mut failed = false;
    for file in files {
        let text = match fs_err::read_to_string(&file) {
            Ok(text) => text,
            Err(error) => {
                views::config::not_formatted(&file, &error.to_string());
                failed = true;
                continue;
            }
        };
        match format_hcl(&text) {
            Ok(formatted) if formatted == text => {}
            Ok(formatted) => {
                if !args.check
                    && let Err(error) = fs_err::write(&file, formatted)
                {
                    views::config::not_formatted(&file, &error.to_string());
                    failed = true;
                    continue;
                }
                unformatted.push(file);
            }
            Err(error) => {
                // Said as `validate` says it, at the string or bracket left open: the
                // parser's own message points where it gave up, often the end of the file.
                match crate::config::tree::syntax_errors(&file.display().to_string(), &text) {
                    Some(diagnostics) => {
                        super::report::print(&diagnostics);
                    }
                    None => views::config::not_formatted(&file, &format!("not valid HCL: {error}")),
                }
                failed = true;
            }
        }
    }
    views::config::formatted(&unformatted);
    if failed || (args.check && !unformatted.is_empty()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Every `.hcl` file under `dir`, sorted; hidden directories (such as `.cairn`) are skipped.
fn hcl_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs_err::read_dir(&current)? {
            let path = entry?.path();
            let hidden = path
                .file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with('.'));
            if path.is_dir() && !hidden {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "hcl") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

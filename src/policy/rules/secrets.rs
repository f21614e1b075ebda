//! Secrets written in the configuration (CAIRN007): in user data, in tags, and in variables'
//! defaults. Findings name the kind of secret and where it is, never its text.

use super::super::catalog::SECRET_LITERAL;
use super::super::context::Context;
use super::super::finding::Finding;
use super::super::locate::Part;
use crate::config::{Module, Variable};
use crate::model::{Address, Kind, Value};
use regex::Regex;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::LazyLock;

/// What a secret looks like, with the name findings use for it.
const PATTERNS: [(&str, &str); 4] = [
    ("an AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    (
        "an AWS secret access key",
        r#"(?i)aws_?secret_?access_?key\s*[=:]\s*["']?[A-Za-z0-9/+]{40}"#,
    ),
    (
        "a private key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----",
    ),
    // A value right after the name: `password=hunter22`, `api_key: abc123`; placeholders
    // (`$VAR`, `${...}`, `<...>`, `{{...}}`) are not secrets.
    (
        "a password",
        r#"(?i)(?:password|passwd|pwd|secret|api_?key|token)\s*[=:]\s*["']?[^\s"'$<{][^\s"']{3,}"#,
    ),
];

static COMPILED: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    PATTERNS
        .iter()
        .filter_map(|(name, pattern)| Regex::new(pattern).ok().map(|regex| (*name, regex)))
        .collect()
});

/// Names of variables that hold secrets by what they are called.
static SECRET_NAME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:password|passwd|secret|token|api_?key|private_?key)").ok()
});

/// Hides what follows the attribute name on the line a secret finding shows: the line may
/// hold the secret itself.
fn redacted(mut finding: Finding) -> Finding {
    if let Some(located) = &mut finding.location {
        let kept: String = located
            .line_text
            .chars()
            .take(located.location.column.saturating_sub(1) + located.width)
            .collect();
        located.line_text = format!("{kept} = (hidden: it holds a secret)");
    }
    finding
}

/// The kind of the first secret found in `text`, if any.
pub fn secret_in(text: &str) -> Option<&'static str> {
    COMPILED
        .iter()
        .find(|(_, regex)| regex.is_match(text))
        .map(|(name, _)| *name)
}

/// CAIRN007 over user data, tags and variables' defaults.
pub fn secret_literals(context: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for template in context.of_kind(Kind::LaunchTemplate) {
        // User data built from a sensitive variable came from outside the code.
        if template.sensitive.contains("user_data") {
            continue;
        }
        let Some(kind) = template
            .attributes
            .get("user_data")
            .and_then(Value::as_str)
            .and_then(secret_in)
        else {
            continue;
        };
        let finding = Finding::new(
            SECRET_LITERAL,
            format!(
                "the user data of `{}` holds what looks like {kind}",
                template.address.block_path()
            ),
            template.address.clone(),
        );
        findings.push(redacted(context.locator.place(
            finding,
            &template.address,
            Part::Attribute("user_data"),
        )));
    }
    findings.extend(secret_tags(context));
    findings.extend(secret_defaults(context));
    findings
}

fn secret_tags(context: &Context<'_>) -> Vec<Finding> {
    let environment = &context.expansion.environment;
    let mut findings = Vec::new();
    for resource in context.resources.values() {
        if resource.sensitive.contains("tags") {
            continue;
        }
        let Some(kind) = resource
            .tags
            .iter()
            .filter(|(key, _)| !key.starts_with("cairn:") && !key.starts_with("aws:"))
            .find_map(|(key, value)| secret_in(&format!("{key}={value}")))
        else {
            continue;
        };
        let finding = Finding::new(
            SECRET_LITERAL,
            format!(
                "a tag of `{}` holds what looks like {kind}",
                resource.address.block_path()
            ),
            resource.address.clone(),
        );
        // Tags come from the block's `tags` or from the environment's.
        let from_block = context
            .locator
            .origin(&resource.address)
            .is_some_and(|origin| origin.block.attribute("tags").is_some());
        findings.push(if from_block {
            redacted(
                context
                    .locator
                    .place(finding, &resource.address, Part::Attribute("tags")),
            )
        } else {
            context.locator.place_location(finding, &environment.source)
        });
    }
    findings
}

fn secret_defaults(context: &Context<'_>) -> Vec<Finding> {
    let config = context.config;
    let mut findings = Vec::new();
    for (prefix, module) in modules_by_prefix(config) {
        for variable in module.variables.values() {
            let Some(default) = &variable.default else {
                continue;
            };
            let Some(problem) = secret_default(config, variable, default) else {
                continue;
            };
            let address = Address::new(format!("{prefix}var.{}", variable.name));
            let finding = Finding::new(
                SECRET_LITERAL,
                format!("variable `{}` {problem}", variable.name),
                address,
            );
            findings.push(redacted(context.locator.place_span(
                finding,
                default.key_span,
                variable.span,
            )));
        }
    }
    findings
}

/// What is wrong with a variable's default, if it is a secret.
fn secret_default(
    config: &crate::config::Config,
    variable: &Variable,
    default: &crate::config::tree::Attr,
) -> Option<String> {
    let text = config.sources.text(default.value_span);
    if let Some(kind) = secret_in(text) {
        return Some(format!("has a default that holds what looks like {kind}"));
    }
    // A literal string default of a variable that is a secret by declaration or by name.
    let hcl::Expression::String(literal) = &default.expr else {
        return None;
    };
    if literal.is_empty() {
        return None;
    }
    if variable.sensitive {
        return Some("is sensitive but has its value written as a default".to_string());
    }
    let named = SECRET_NAME
        .as_ref()
        .is_some_and(|regex| regex.is_match(&variable.name));
    named.then(|| "is named as a secret and has its value written as a default".to_string())
}

/// Every module body with the address prefix of the first call that reaches it (`""` for the
/// root, `module.web.` for a module), in a stable order.
fn modules_by_prefix(config: &crate::config::Config) -> Vec<(String, &Module)> {
    let mut found: BTreeMap<PathBuf, (String, &Module)> = BTreeMap::new();
    let mut pending: Vec<(String, &Module)> = vec![(String::new(), &config.root)];
    let mut ordered = Vec::new();
    while let Some((prefix, module)) = pending.pop() {
        if found.contains_key(&module.dir) {
            continue;
        }
        found.insert(module.dir.clone(), (prefix.clone(), module));
        ordered.push((prefix.clone(), module));
        for call in module.calls.iter().rev() {
            if let Some(called) = config.modules.get(&call.module_dir) {
                pending.push((format!("{prefix}module.{}.", call.name), called));
            }
        }
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(COMPILED.len(), PATTERNS.len());
        assert!(SECRET_NAME.is_some());
    }

    #[test]
    fn recognises_secrets_but_not_placeholders() {
        assert_eq!(
            secret_in("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"),
            Some("an AWS access key id")
        );
        assert_eq!(
            secret_in("-----BEGIN RSA PRIVATE KEY-----\nMIIE"),
            Some("a private key")
        );
        assert_eq!(secret_in("DB_PASSWORD=hunter22"), Some("a password"));
        assert_eq!(secret_in("DB_PASSWORD=$DB_PASSWORD"), None);
        assert_eq!(secret_in("password: ${password}"), None);
        assert_eq!(secret_in("echo starting web server"), None);
    }
}

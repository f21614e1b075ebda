//! The shape of the language: which blocks exist, their labels, attributes and nested blocks.
//!
//! Checking against this table happens before any evaluation, so a misspelt name is reported
//! with the closest valid one and every such mistake of a run is reported together. Value
//! types are checked later, when expressions are evaluated.

use super::diagnostics::{Diagnostic, Diagnostics, did_you_mean};
use super::source::{Sources, Span};
use super::tree::BlockDef;

/// One attribute a block accepts.
#[derive(Debug)]
pub struct AttrSchema {
    pub name: &'static str,
    pub required: bool,
}

/// One block type.
#[derive(Debug)]
pub struct BlockSchema {
    pub ident: &'static str,
    /// Names of the labels, for messages (`["NAME"]`); their count is checked.
    pub labels: &'static [&'static str],
    pub attributes: &'static [AttrSchema],
    pub blocks: &'static [&'static BlockSchema],
    /// Whether any attribute is accepted (`locals`, module inputs).
    pub open: bool,
    /// Whether resource meta-arguments (`depends_on`, `for_each`, `regions`, `lifecycle`) apply.
    pub meta: bool,
}

const fn required(name: &'static str) -> AttrSchema {
    AttrSchema {
        name,
        required: true,
    }
}

const fn optional(name: &'static str) -> AttrSchema {
    AttrSchema {
        name,
        required: false,
    }
}

const fn block(
    ident: &'static str,
    labels: &'static [&'static str],
    attributes: &'static [AttrSchema],
    blocks: &'static [&'static BlockSchema],
) -> BlockSchema {
    BlockSchema {
        ident,
        labels,
        attributes,
        blocks,
        open: false,
        meta: false,
    }
}

const fn resource(
    ident: &'static str,
    attributes: &'static [AttrSchema],
    blocks: &'static [&'static BlockSchema],
) -> BlockSchema {
    BlockSchema {
        meta: true,
        ..block(ident, &["NAME"], attributes, blocks)
    }
}

/// The meta-arguments every resource block accepts.
pub const META_ATTRIBUTES: [&str; 3] = ["depends_on", "for_each", "regions"];

static LIFECYCLE: BlockSchema = block(
    "lifecycle",
    &[],
    &[
        optional("create_before_destroy"),
        optional("prevent_destroy"),
        optional("ignore_changes"),
    ],
    &[],
);

static BACKEND: BlockSchema = block(
    "backend",
    &["TYPE"],
    &[
        optional("path"),
        optional("bucket"),
        optional("key"),
        optional("region"),
        optional("profile"),
        optional("endpoint"),
        optional("lock_stale_after"),
    ],
    &[],
);

static ENCRYPTION: BlockSchema = block(
    "encryption",
    &[],
    &[optional("key_env"), optional("fallback_key_env")],
    &[],
);

pub static STACK: BlockSchema = block("stack", &["NAME"], &[], &[&BACKEND, &ENCRYPTION]);

static VALIDATION: BlockSchema = block(
    "validation",
    &[],
    &[required("condition"), required("error_message")],
    &[],
);

pub static VARIABLE: BlockSchema = block(
    "variable",
    &["NAME"],
    &[
        optional("type"),
        optional("default"),
        optional("sensitive"),
        optional("artifact"),
        optional("description"),
    ],
    &[&VALIDATION],
);

pub static LOCALS: BlockSchema = BlockSchema {
    open: true,
    ..block("locals", &[], &[], &[])
};

static REGION: BlockSchema = block(
    "region",
    &["NAME"],
    &[required("zones"), optional("image")],
    &[],
);

static DR: BlockSchema = block(
    "dr",
    &[],
    &[
        required("region"),
        required("zones"),
        optional("mode"),
        optional("capacity"),
        optional("image"),
    ],
    &[],
);

static IGNORE: BlockSchema = block(
    "ignore",
    &["RULE"],
    &[required("reason"), optional("addresses")],
    &[],
);

static POLICY: BlockSchema = block("policy", &[], &[], &[&IGNORE]);

pub static ENVIRONMENT: BlockSchema = block(
    "environment",
    &["NAME"],
    &[
        required("cloud"),
        optional("vars"),
        optional("tags"),
        optional("protect"),
        optional("profile"),
        optional("endpoint"),
    ],
    &[&REGION, &DR, &POLICY],
);

static SUBNET: BlockSchema = block(
    "subnet",
    &["NAME"],
    &[required("newbits"), optional("public"), optional("offset")],
    &[],
);

pub static NETWORK: BlockSchema = resource(
    "network",
    &[required("cidr"), optional("tags")],
    &[&SUBNET, &LIFECYCLE],
);

static INGRESS: BlockSchema = block(
    "ingress",
    &[],
    &[
        required("protocol"),
        optional("ports"),
        required("from"),
        optional("description"),
    ],
    &[],
);

static EGRESS: BlockSchema = block(
    "egress",
    &[],
    &[
        required("protocol"),
        optional("ports"),
        required("to"),
        optional("description"),
    ],
    &[],
);

pub static FIREWALL: BlockSchema = resource(
    "firewall",
    &[
        required("network"),
        optional("name"),
        optional("description"),
        optional("tags"),
    ],
    &[&INGRESS, &EGRESS, &LIFECYCLE],
);

static TEMPLATE_VOLUME: BlockSchema = block(
    "volume",
    &[],
    &[
        required("size_gb"),
        optional("encrypted"),
        optional("device"),
    ],
    &[],
);

pub static LAUNCH_TEMPLATE: BlockSchema = resource(
    "launch_template",
    &[
        optional("name"),
        required("image"),
        required("instance_type"),
        optional("firewalls"),
        optional("user_data"),
        optional("http_tokens"),
        optional("tags"),
    ],
    &[&TEMPLATE_VOLUME, &LIFECYCLE],
);

static SCALING: BlockSchema = block("scaling", &["NAME"], &[required("target_cpu")], &[]);

static ROLLOUT: BlockSchema = block(
    "rollout",
    &[],
    &[
        required("strategy"),
        optional("checkpoints"),
        optional("bake"),
        optional("min_healthy"),
        optional("max_surge"),
        optional("warmup"),
        optional("keep_old"),
        optional("abort_on"),
        optional("timeout"),
    ],
    &[],
);

pub static AUTOSCALING: BlockSchema = resource(
    "autoscaling",
    &[
        required("template"),
        required("subnets"),
        required("min"),
        required("max"),
        optional("desired"),
        optional("load_balancer"),
        optional("target_groups"),
        optional("name"),
        optional("template_version"),
        optional("tags"),
    ],
    &[&SCALING, &ROLLOUT, &LIFECYCLE],
);

static LISTENER: BlockSchema = block(
    "listener",
    &[],
    &[
        required("port"),
        optional("protocol"),
        optional("certificate"),
        optional("forward"),
    ],
    &[],
);

static HEALTH_CHECK: BlockSchema = block(
    "health_check",
    &[],
    &[
        optional("path"),
        optional("port"),
        optional("protocol"),
        optional("interval"),
        optional("timeout"),
        optional("healthy"),
        optional("unhealthy"),
        optional("matcher"),
    ],
    &[],
);

static TARGET_GROUP: BlockSchema = block(
    "target_group",
    &["NAME"],
    &[optional("port"), optional("protocol"), optional("name")],
    &[&HEALTH_CHECK],
);

pub static LOAD_BALANCER: BlockSchema = resource(
    "load_balancer",
    &[
        required("network"),
        required("subnets"),
        required("firewalls"),
        optional("target_port"),
        optional("name"),
        optional("tags"),
    ],
    &[&LISTENER, &HEALTH_CHECK, &TARGET_GROUP, &LIFECYCLE],
);

pub static ALARM: BlockSchema = resource(
    "alarm",
    &[
        required("metric"),
        optional("namespace"),
        optional("statistic"),
        optional("above"),
        optional("below"),
        optional("periods"),
        optional("period"),
        optional("dimensions"),
        optional("autoscaling"),
        optional("load_balancer"),
        optional("name"),
        optional("description"),
        optional("tags"),
    ],
    &[&LIFECYCLE],
);

pub static DNS_ZONE: BlockSchema = resource(
    "dns_zone",
    &[required("name"), optional("tags")],
    &[&LIFECYCLE],
);

// No `tags`: the cloud keeps none on a record.
pub static DNS_RECORD: BlockSchema = resource(
    "dns_record",
    &[required("zone"), required("name"), required("target")],
    &[&LIFECYCLE],
);

pub static VOLUME: BlockSchema = resource(
    "volume",
    &[
        required("zone"),
        required("size_gb"),
        optional("encrypted"),
        optional("type"),
        optional("snapshot"),
        optional("tags"),
    ],
    &[&LIFECYCLE],
);

pub static INSTANCE: BlockSchema = resource(
    "instance",
    &[
        required("image"),
        required("instance_type"),
        required("subnet"),
        optional("firewalls"),
        optional("tags"),
    ],
    &[&LIFECYCLE],
);

pub static BACKUP_POLICY: BlockSchema = resource(
    "backup_policy",
    &[
        optional("select"),
        optional("volumes"),
        required("every"),
        required("retain"),
        optional("copy_to"),
    ],
    &[],
);

pub static MODULE: BlockSchema = BlockSchema {
    open: true,
    ..block("module", &["NAME"], &[required("source")], &[])
};

pub static OUTPUT: BlockSchema = block(
    "output",
    &["NAME"],
    &[
        required("value"),
        optional("sensitive"),
        optional("description"),
    ],
    &[],
);

/// `moved { from = network.main  to = network.core }`: see [`super::moved`].
pub static MOVED: BlockSchema = block("moved", &[], &[required("from"), required("to")], &[]);

static REMOVED_LIFECYCLE: BlockSchema = block("lifecycle", &[], &[optional("destroy")], &[]);

/// `removed { from = volume.scratch  lifecycle { destroy = false } }`: see [`super::removed`].
pub static REMOVED: BlockSchema = block("removed", &[], &[required("from")], &[&REMOVED_LIFECYCLE]);

/// `import { to = network.legacy  id = "vpc-..." }`, with an optional `for_each`: see
/// [`super::import`].
pub static IMPORT: BlockSchema = block(
    "import",
    &[],
    &[required("to"), required("id"), optional("for_each")],
    &[],
);

/// Blocks a stack's own files may hold.
pub static STACK_BLOCKS: [&BlockSchema; 20] = [
    &STACK,
    &VARIABLE,
    &LOCALS,
    &ENVIRONMENT,
    &NETWORK,
    &FIREWALL,
    &LAUNCH_TEMPLATE,
    &AUTOSCALING,
    &VOLUME,
    &INSTANCE,
    &BACKUP_POLICY,
    &LOAD_BALANCER,
    &ALARM,
    &DNS_ZONE,
    &DNS_RECORD,
    &MODULE,
    &OUTPUT,
    &MOVED,
    &REMOVED,
    &IMPORT,
];

/// Blocks a module's files may hold: a module has no stack and no environments of its own;
/// its `moved` and `removed` blocks name addresses relative to the module. `import` blocks
/// belong to the root module, as in Terraform: an id is one object, a module may be called
/// many times.
pub static MODULE_BLOCKS: [&BlockSchema; 17] = [
    &VARIABLE,
    &LOCALS,
    &NETWORK,
    &FIREWALL,
    &LAUNCH_TEMPLATE,
    &AUTOSCALING,
    &VOLUME,
    &INSTANCE,
    &BACKUP_POLICY,
    &LOAD_BALANCER,
    &ALARM,
    &DNS_ZONE,
    &DNS_RECORD,
    &MODULE,
    &OUTPUT,
    &MOVED,
    &REMOVED,
];

/// Checks top-level `blocks` against `allowed`, recursively, reporting every mismatch.
/// Returns the blocks whose type is known.
pub fn check_top_level<'a>(
    sources: &Sources,
    blocks: &'a [BlockDef],
    allowed: &[&'static BlockSchema],
    where_: &str,
    diagnostics: &mut Diagnostics,
) -> Vec<(&'static BlockSchema, &'a BlockDef)> {
    let mut known = Vec::new();
    for block in blocks {
        match allowed.iter().find(|schema| schema.ident == block.ident) {
            Some(schema) => {
                check_block(sources, block, schema, diagnostics);
                known.push((*schema, block));
            }
            None => {
                let names: Vec<&str> = allowed.iter().map(|schema| schema.ident).collect();
                let mut diagnostic = Diagnostic::at(
                    sources,
                    block.ident_span,
                    format!("unknown block type `{}` {where_}", block.ident),
                )
                .expected(format!("one of {}", list(&names)));
                if let Some(hint) = did_you_mean(&block.ident, names.iter().copied()) {
                    diagnostic = diagnostic.hint(hint);
                }
                diagnostics.push(diagnostic);
            }
        }
    }
    known
}

/// Checks one block (labels, attributes, nested blocks) against its schema.
pub fn check_block(
    sources: &Sources,
    block: &BlockDef,
    schema: &BlockSchema,
    diagnostics: &mut Diagnostics,
) {
    if block.labels.len() != schema.labels.len() {
        let expected = if schema.labels.is_empty() {
            format!("`{} {{ ... }}` without labels", schema.ident)
        } else {
            let labels: Vec<String> = schema
                .labels
                .iter()
                .map(|label| format!("\"{label}\""))
                .collect();
            format!("`{} {} {{ ... }}`", schema.ident, labels.join(" "))
        };
        diagnostics.push(
            Diagnostic::at(
                sources,
                block.label_span,
                format!(
                    "block `{}` takes {} label(s), found {}",
                    schema.ident,
                    schema.labels.len(),
                    block.labels.len()
                ),
            )
            .expected(expected),
        );
    }
    let mut names: Vec<&str> = schema
        .attributes
        .iter()
        .map(|attribute| attribute.name)
        .collect();
    if schema.meta {
        names.extend(META_ATTRIBUTES);
    }
    if !schema.open {
        for attribute in block.attributes.values() {
            if names.contains(&attribute.name.as_str()) {
                continue;
            }
            diagnostics.push(unknown(
                sources,
                attribute.key_span,
                ("attribute", &attribute.name),
                block,
                &names,
            ));
        }
    }
    // A misspelt required attribute is reported once, as the misspelling with its hint.
    let misspelt: Vec<&str> = block
        .attributes
        .keys()
        .filter(|name| !names.contains(&name.as_str()))
        .filter_map(|name| super::diagnostics::closest(name, names.iter().copied()))
        .collect();
    for attribute in schema
        .attributes
        .iter()
        .filter(|attribute| attribute.required)
    {
        if !block.attributes.contains_key(attribute.name) && !misspelt.contains(&attribute.name) {
            diagnostics.push(
                Diagnostic::at(
                    sources,
                    block.label_span,
                    format!(
                        "missing required attribute `{}` in `{}`",
                        attribute.name,
                        block.display()
                    ),
                )
                .hint(format!("add `{} = ...` to the block", attribute.name)),
            );
        }
    }
    for nested in &block.blocks {
        match schema
            .blocks
            .iter()
            .find(|candidate| candidate.ident == nested.ident)
        {
            Some(nested_schema) => check_block(sources, nested, nested_schema, diagnostics),
            None => {
                let names: Vec<&str> = schema
                    .blocks
                    .iter()
                    .map(|candidate| candidate.ident)
                    .collect();
                diagnostics.push(unknown(
                    sources,
                    nested.ident_span,
                    ("block type", &nested.ident),
                    block,
                    &names,
                ));
            }
        }
    }
}

/// An attribute or nested block the schema does not know: where it is, what the block accepts
/// instead and the nearest spelling, if one is close.
fn unknown(
    sources: &Sources,
    span: Span,
    (what, name): (&str, &str),
    block: &BlockDef,
    names: &[&str],
) -> Diagnostic {
    let expected = match what {
        "attribute" if names.is_empty() => "no attributes here".to_string(),
        _ if names.is_empty() => "no nested blocks here".to_string(),
        _ => format!("one of {}", list(names)),
    };
    let diagnostic = Diagnostic::at(
        sources,
        span,
        format!("unknown {what} `{name}` in `{}`", block.display()),
    )
    .expected(expected);
    match did_you_mean(name, names.iter().copied()) {
        Some(hint) => diagnostic.hint(hint),
        None => diagnostic,
    }
}

/// `` `a`, `b` or `c` `` for messages.
pub fn list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tree::parse_file;

    fn check(text: &str) -> Vec<String> {
        let mut sources = Sources::default();
        let file = sources.add("main.hcl".into(), text.into());
        let Ok(body) = parse_file(&sources, file) else {
            panic!("test input parses");
        };
        let mut diagnostics = Diagnostics::new();
        check_top_level(
            &sources,
            &body.blocks,
            &STACK_BLOCKS,
            "in a stack",
            &mut diagnostics,
        );
        diagnostics
            .iter()
            .map(|diagnostic| {
                format!(
                    "{} {}",
                    diagnostic
                        .location()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    diagnostic.message
                )
            })
            .collect()
    }

    #[test]
    fn reports_every_unknown_name_once() {
        let found =
            check("netwrk \"a\" {\n}\nnetwork \"b\" {\n  cidrr = \"x\"\n  subnt \"c\" {\n  }\n}\n");
        assert_eq!(
            found,
            [
                "main.hcl:1:1 unknown block type `netwrk` in a stack",
                "main.hcl:4:3 unknown attribute `cidrr` in `network \"b\"`",
                "main.hcl:5:3 unknown block type `subnt` in `network \"b\"`",
            ]
        );
    }

    #[test]
    fn meta_arguments_are_accepted_on_resources_only() {
        let found = check(
            "volume \"v\" {\n  zone = \"a\"\n  size_gb = 1\n  regions = [\"x\"]\n}\noutput \"o\" {\n  value = 1\n  depends_on = []\n}\n",
        );
        assert_eq!(
            found,
            ["main.hcl:8:3 unknown attribute `depends_on` in `output \"o\"`"]
        );
    }

    #[test]
    fn reports_a_missing_required_attribute() {
        let found = check("network \"b\" {\n  tags = {}\n}\n");
        assert_eq!(
            found,
            ["main.hcl:1:9 missing required attribute `cidr` in `network \"b\"`"]
        );
    }
}

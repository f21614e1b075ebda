//! Environments and the stack's backend: where a stack runs and where its state lives.
//!
//! Both are read at load time with only `var.*` in scope, because everything else (blocks,
//! regions) depends on which environment is chosen.

use super::diagnostics::{Diagnostic, Diagnostics};
use super::eval::{self, Bindings};
use super::source::Sources;
use super::tree::BlockDef;
use crate::model::{SourceLocation, Tags, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which cloud an environment runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    /// The built-in simulated cloud.
    Sim,
    /// Amazon Web Services (or an emulator at `endpoint`).
    Aws,
}

impl Cloud {
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Sim => "sim",
            Cloud::Aws => "aws",
        }
    }
}

/// One region an environment runs in, with its zones in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionSpec {
    pub name: String,
    pub zones: Vec<String>,
    /// The machine image to use in this region (`region.image` in expressions): images are
    /// regional, so a template that should run in several regions reads it from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// How the secondary region is kept ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrMode {
    /// Nothing runs in the DR region; backups are copied there and restored on demand.
    BackupRestore,
    /// The networks, subnets and firewalls exist in the DR region all the time (kept by normal
    /// applies); everything else is created on failover.
    PilotLight,
    /// A scaled-down copy (see [`DrSpec::capacity`]) runs in the DR region all the time, kept
    /// by normal applies; data volumes are restored from backups on failover.
    WarmStandby,
}

impl DrMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DrMode::BackupRestore => "backup_restore",
            DrMode::PilotLight => "pilot_light",
            DrMode::WarmStandby => "warm_standby",
        }
    }
}

/// The `dr { ... }` block of an environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrSpec {
    pub region: String,
    /// Zones of the DR region; the n-th primary zone maps to the n-th of these.
    pub zones: Vec<String>,
    pub mode: DrMode,
    /// The size of each autoscaling group in the DR region before it is scaled up (a warm
    /// standby, a drill): below 1 a fraction of the group's `desired` (`0.5`), from 1 a number
    /// of instances (`2`); `None`: one instance for a warm standby, the full size for a drill.
    pub capacity: Option<f64>,
    /// The machine image in the DR region (`region.image` while deployed there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

impl DrSpec {
    /// The `desired` of a group scaled down by [`DrSpec::capacity`], at least one instance;
    /// `None` when no capacity is set.
    pub fn scaled_desired(&self, desired: u64) -> Option<u64> {
        let capacity = self.capacity?;
        let scaled = if capacity < 1.0 {
            // Rounded up: a fraction of a group still runs an instance.
            (desired as f64 * capacity).ceil() as u64
        } else {
            capacity.floor() as u64
        };
        Some(scaled.max(1))
    }
}

/// One environment of a stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub name: String,
    pub cloud: Cloud,
    /// Active regions in declaration order; the first is the primary.
    pub regions: Vec<RegionSpec>,
    pub dr: Option<DrSpec>,
    /// `vars = { ... }`, exposed to expressions as `env.vars.*`.
    pub vars: BTreeMap<String, Value>,
    /// Tags every resource of the environment carries.
    pub tags: Tags,
    /// Whether destroying the environment needs an explicit override.
    pub protect: bool,
    /// AWS profile to use.
    pub profile: Option<String>,
    /// Endpoint override (an AWS emulator such as moto).
    pub endpoint: Option<String>,
    /// Policy findings accepted in this environment (`policy { ignore ... }`).
    #[serde(default)]
    pub policy: super::PolicySpec,
    pub source: SourceLocation,
}

impl Environment {
    /// The value of `env` in expressions.
    pub fn to_value(&self) -> Value {
        let dr = match &self.dr {
            Some(dr) => serde_json::json!({
                "region": dr.region,
                "zones": dr.zones,
                "mode": dr.mode.as_str(),
                "capacity": dr.capacity,
                "image": dr.image,
            }),
            None => Value::Null,
        };
        serde_json::json!({
            "name": self.name,
            "cloud": self.cloud.as_str(),
            "regions": self.regions.iter().map(|region| region.name.clone()).collect::<Vec<_>>(),
            "dr": dr,
            "vars": self.vars,
            "tags": self.tags,
            "protect": self.protect,
        })
    }
}

/// Where the stack keeps its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Backend {
    /// A directory on this machine (relative paths are resolved against the stack directory).
    Local { path: PathBuf },
    /// An S3 bucket (or an S3-compatible endpoint): each environment's objects under the
    /// prefix `key`.
    S3 {
        bucket: String,
        key: String,
        region: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        profile: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        endpoint: Option<String>,
        /// Seconds without a heartbeat after which a lock is reported as stale.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lock_stale_after_seconds: Option<u64>,
    },
}

impl Backend {
    /// The backend's type as the configuration spells it: `local` or `s3`.
    pub fn kind(&self) -> &'static str {
        match self {
            Backend::Local { .. } => "local",
            Backend::S3 { .. } => "s3",
        }
    }
}

/// The stack's `encryption` block: which environment variables hold the state passphrases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateEncryption {
    pub key_env: String,
    pub fallback_key_env: Option<String>,
}

/// Reads the `encryption` block of the `stack` block, if any.
///
/// # Errors
///
/// A wrong attribute type, or a variable name that cannot name an environment variable.
pub fn read_encryption(
    sources: &Sources,
    stack: &BlockDef,
    bindings: &Bindings,
    dir: &Path,
) -> Result<Option<StateEncryption>, Diagnostics> {
    let Some(block) = stack.blocks_named("encryption").next() else {
        return Ok(None);
    };
    let mut diagnostics = Diagnostics::new();
    let mut name = |attribute: &str| -> Option<String> {
        let attr = block.attribute(attribute)?;
        let value = eval::evaluate(sources, attr, bindings.clone(), dir)
            .and_then(|value| eval::as_string(sources, attr, &value))
            .map_err(|diagnostic| diagnostics.push(diagnostic))
            .ok()?;
        let valid = !value.is_empty()
            && !value.starts_with(|character: char| character.is_ascii_digit())
            && value
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || character == '_');
        if !valid {
            diagnostics.push(
                Diagnostic::at(
                    sources,
                    attr.key_span,
                    format!("`{value}` cannot name an environment variable"),
                )
                .expected("letters, digits and `_`, such as `\"CAIRN_STATE_KEY\"`")
                .hint("name the variable that holds the passphrase; never write the passphrase itself in a file"),
            );
            return None;
        }
        Some(value)
    };
    let key_env = name("key_env").unwrap_or_else(|| "CAIRN_STATE_KEY".to_string());
    let fallback_key_env = name("fallback_key_env");
    diagnostics.into_result(Some(StateEncryption {
        key_env,
        fallback_key_env,
    }))
}

/// Reads one `environment "NAME"` block.
///
/// # Errors
///
/// Every wrong value in the block.
pub fn read_environment(
    sources: &Sources,
    block: &BlockDef,
    bindings: &Bindings,
    dir: &Path,
) -> Result<Environment, Diagnostics> {
    let mut diagnostics = Diagnostics::new();
    let mut problems = Vec::new();
    let cloud = match eval_attr(sources, bindings, dir, &mut diagnostics, block, "cloud") {
        Some((Value::String(text), _)) if text == "sim" => Some(Cloud::Sim),
        Some((Value::String(text), _)) if text == "aws" => Some(Cloud::Aws),
        Some((value, attr)) => {
            problems.push(eval::wrong_type(
                sources,
                attr,
                &value,
                "`\"sim\"` or `\"aws\"`",
            ));
            None
        }
        None => None,
    };
    let vars = match eval_attr(sources, bindings, dir, &mut diagnostics, block, "vars") {
        Some((Value::Object(map), _)) => map.into_iter().collect(),
        Some((value, attr)) => {
            problems.push(eval::wrong_type(sources, attr, &value, "an object"));
            BTreeMap::new()
        }
        None => BTreeMap::new(),
    };
    let tags = match eval_attr(sources, bindings, dir, &mut diagnostics, block, "tags") {
        Some((value, attr)) => eval::as_tags(sources, attr, &value).unwrap_or_else(|diagnostic| {
            problems.push(diagnostic);
            Tags::new()
        }),
        None => Tags::new(),
    };
    let protect = match eval_attr(sources, bindings, dir, &mut diagnostics, block, "protect") {
        Some((value, attr)) => eval::as_bool(sources, attr, &value).unwrap_or_else(|diagnostic| {
            problems.push(diagnostic);
            false
        }),
        None => false,
    };
    let context = (sources, bindings, dir);
    let profile = optional_string(context, (&mut diagnostics, &mut problems), block, "profile");
    let endpoint = optional_string(
        context,
        (&mut diagnostics, &mut problems),
        block,
        "endpoint",
    );

    // Zones are checked against the catalog for the cloud named; a wrong `cloud` was reported
    // above, and the stricter `sim` rules keep the zone checks meaningful meanwhile.
    let zone_cloud = cloud.unwrap_or(Cloud::Sim);
    let mut regions: Vec<RegionSpec> = Vec::new();
    for region in block.blocks_named("region") {
        problems.extend(super::regions::check_region(
            sources,
            region.label_span,
            region.name(),
        ));
        let image = optional_string(context, (&mut diagnostics, &mut problems), region, "image");
        let Some((value, attr)) =
            eval_attr(sources, bindings, dir, &mut diagnostics, region, "zones")
        else {
            continue;
        };
        match eval::as_string_list(sources, attr, &value) {
            Ok(zones) if zones.is_empty() => problems.push(
                Diagnostic::at(
                    sources,
                    attr.value_span,
                    format!("region `{}` has no zones", region.name()),
                )
                .expected("at least one zone, for example `[\"us-east-1a\"]`"),
            ),
            Ok(zones) => {
                problems.extend(super::regions::check_zones(
                    sources,
                    attr,
                    zone_cloud,
                    region.name(),
                    &zones,
                ));
                if regions.iter().any(|known| known.name == region.name()) {
                    problems.push(Diagnostic::at(
                        sources,
                        region.label_span,
                        format!("region `{}` is declared twice", region.name()),
                    ));
                }
                regions.push(RegionSpec {
                    name: region.name().to_string(),
                    zones,
                    image,
                });
            }
            Err(diagnostic) => problems.push(diagnostic),
        }
    }
    if block.blocks_named("region").next().is_none() {
        problems.push(
            Diagnostic::at(
                sources,
                block.label_span,
                format!("environment `{}` has no region", block.name()),
            )
            .hint("add `region \"us-east-1\" { zones = [\"us-east-1a\"] }` inside the environment"),
        );
    }

    let mut dr = None;
    for dr_block in block.blocks_named("dr") {
        if dr.is_some() {
            problems.push(Diagnostic::at(
                sources,
                dr_block.ident_span,
                "only one `dr` block is allowed per environment",
            ));
            continue;
        }
        let region = match eval_attr(sources, bindings, dir, &mut diagnostics, dr_block, "region") {
            Some((value, attr)) => match eval::as_string(sources, attr, &value) {
                Ok(region) => match super::regions::check_region(sources, attr.value_span, &region)
                {
                    Some(unknown) => {
                        problems.push(unknown);
                        None
                    }
                    None => Some(region),
                },
                Err(diagnostic) => {
                    problems.push(diagnostic);
                    None
                }
            },
            None => None,
        };
        let zones = match eval_attr(sources, bindings, dir, &mut diagnostics, dr_block, "zones") {
            Some((value, attr)) => match eval::as_string_list(sources, attr, &value) {
                // Zones map by position: each primary zone needs a DR zone.
                Ok(zones)
                    if regions
                        .first()
                        .is_some_and(|primary| zones.len() < primary.zones.len()) =>
                {
                    let primary = &regions[0];
                    problems.push(
                        Diagnostic::at(
                            sources,
                            attr.value_span,
                            format!(
                                "the DR region has {} zone(s) but the primary region `{}` has {}",
                                zones.len(),
                                primary.name,
                                primary.zones.len()
                            ),
                        )
                        .expected(format!(
                            "at least {} zones: the n-th primary zone moves to the n-th DR zone",
                            primary.zones.len()
                        )),
                    );
                    None
                }
                Ok(zones) => {
                    let wrong = region.as_deref().map_or_else(Vec::new, |region| {
                        super::regions::check_zones(sources, attr, zone_cloud, region, &zones)
                    });
                    if wrong.is_empty() {
                        Some(zones)
                    } else {
                        problems.extend(wrong);
                        None
                    }
                }
                Err(diagnostic) => {
                    problems.push(diagnostic);
                    None
                }
            },
            None => None,
        };
        let mode = match eval_attr(sources, bindings, dir, &mut diagnostics, dr_block, "mode") {
            None => Some(DrMode::BackupRestore),
            Some((Value::String(text), _)) if text == "backup_restore" => {
                Some(DrMode::BackupRestore)
            }
            Some((Value::String(text), _)) if text == "pilot_light" => Some(DrMode::PilotLight),
            Some((Value::String(text), _)) if text == "warm_standby" => Some(DrMode::WarmStandby),
            Some((value, attr)) => {
                problems.push(eval::wrong_type(
                    sources,
                    attr,
                    &value,
                    "`\"backup_restore\"`, `\"pilot_light\"` or `\"warm_standby\"`",
                ));
                None
            }
        };
        let capacity = match eval_attr(
            sources,
            bindings,
            dir,
            &mut diagnostics,
            dr_block,
            "capacity",
        ) {
            None | Some((Value::Null, _)) => Some(None),
            Some((Value::Number(number), _))
                if number.as_f64().is_some_and(|n| n > 0.0 && n.is_finite()) =>
            {
                Some(number.as_f64())
            }
            Some((value, attr)) => {
                problems.push(eval::wrong_type(
                    sources,
                    attr,
                    &value,
                    "a fraction of each group's size (`0.5`) or a number of instances (`2`)",
                ));
                None
            }
        };
        let image = optional_string(
            context,
            (&mut diagnostics, &mut problems),
            dr_block,
            "image",
        );
        if let (Some(region), Some(zones), Some(mode), Some(capacity)) =
            (region, zones, mode, capacity)
        {
            if regions.iter().any(|active| active.name == region) {
                problems.push(
                    Diagnostic::at(
                        sources,
                        dr_block.ident_span,
                        format!("the DR region `{region}` is also an active region"),
                    )
                    .hint("pick a region the environment does not already run in"),
                );
            }
            dr = Some(DrSpec {
                region,
                zones,
                mode,
                capacity,
                image,
            });
        }
    }
    let policy =
        super::policy::read_policy(sources, block, bindings, dir).unwrap_or_else(|found| {
            diagnostics.extend(found);
            super::PolicySpec::default()
        });
    for problem in problems {
        diagnostics.push(problem);
    }
    let Some(cloud) = cloud else {
        return Err(diagnostics);
    };
    diagnostics.into_result(Environment {
        name: block.name().to_string(),
        cloud,
        regions,
        dr,
        vars,
        tags,
        protect,
        profile,
        endpoint,
        policy,
        source: sources.location(block.label_span),
    })
}

/// An optional string attribute; `null` counts as absent.
fn optional_string(
    (sources, bindings, dir): (&Sources, &Bindings, &Path),
    (diagnostics, problems): (&mut Diagnostics, &mut Vec<Diagnostic>),
    block: &BlockDef,
    name: &str,
) -> Option<String> {
    match eval_attr(sources, bindings, dir, diagnostics, block, name) {
        Some((Value::Null, _)) | None => None,
        Some((value, attr)) => eval::as_string(sources, attr, &value)
            .map_err(|diagnostic| problems.push(diagnostic))
            .ok(),
    }
}

fn eval_attr<'b>(
    sources: &Sources,
    bindings: &Bindings,
    dir: &Path,
    diagnostics: &mut Diagnostics,
    block: &'b BlockDef,
    name: &str,
) -> Option<(Value, &'b super::tree::Attr)> {
    let attr = block.attribute(name)?;
    match eval::evaluate(sources, attr, bindings.clone(), dir) {
        Ok(value) => Some((value, attr)),
        Err(diagnostic) => {
            diagnostics.push(diagnostic);
            None
        }
    }
}

/// Reads the `backend` block of the `stack` block (a local `.cairn` directory when absent).
///
/// # Errors
///
/// An unknown backend type, or a missing or wrong attribute.
pub fn read_backend(
    sources: &Sources,
    stack: &BlockDef,
    bindings: &Bindings,
    dir: &Path,
) -> Result<Backend, Diagnostics> {
    let Some(block) = stack.blocks_named("backend").next() else {
        return Ok(Backend::Local {
            path: dir.join(".cairn"),
        });
    };
    let mut diagnostics = Diagnostics::new();
    let mut string = |name: &str, required: bool| -> Option<String> {
        match block.attribute(name) {
            Some(attr) => eval::evaluate(sources, attr, bindings.clone(), dir)
                .and_then(|value| eval::as_string(sources, attr, &value))
                .map_err(|diagnostic| diagnostics.push(diagnostic))
                .ok(),
            None => {
                if required {
                    diagnostics.push(Diagnostic::at(
                        sources,
                        block.label_span,
                        format!("backend `{}` needs `{name}`", block.name()),
                    ));
                }
                None
            }
        }
    };
    let backend = match block.name() {
        "local" => {
            let path = string("path", false).unwrap_or_else(|| ".cairn".to_string());
            for name in [
                "bucket",
                "key",
                "region",
                "profile",
                "endpoint",
                "lock_stale_after",
            ] {
                if let Some(attr) = block.attribute(name) {
                    diagnostics.push(
                        Diagnostic::at(
                            sources,
                            attr.key_span,
                            format!("backend `local` has no `{name}`"),
                        )
                        .expected("only `path`"),
                    );
                }
            }
            Some(Backend::Local {
                path: dir.join(path),
            })
        }
        "s3" => {
            let bucket = string("bucket", true);
            let key = string("key", true);
            let region = string("region", false).unwrap_or_else(|| "us-east-1".to_string());
            let profile = string("profile", false);
            let endpoint = string("endpoint", false);
            let stale_after = string("lock_stale_after", false);
            let lock_stale_after_seconds = match (stale_after, block.attribute("lock_stale_after"))
            {
                (Some(text), Some(attr)) => match humantime::parse_duration(&text) {
                    Ok(duration) if duration.as_secs() >= 1 => Some(duration.as_secs()),
                    _ => {
                        diagnostics.push(
                            Diagnostic::at(
                                sources,
                                attr.key_span,
                                format!("`{text}` is not a duration of at least one second"),
                            )
                            .expected("a duration such as `\"60s\"` or `\"5m\"`"),
                        );
                        None
                    }
                },
                _ => None,
            };
            if let Some(unknown) = block
                .attribute("region")
                .and_then(|attr| super::regions::check_region(sources, attr.value_span, &region))
            {
                diagnostics.push(unknown);
            }
            if let Some(attr) = block.attribute("path") {
                diagnostics.push(
                    Diagnostic::at(sources, attr.key_span, "backend `s3` has no `path`").expected(
                        "`bucket`, `key`, `region`, `profile`, `endpoint` or `lock_stale_after`",
                    ),
                );
            }
            match (bucket, key) {
                (Some(bucket), Some(key)) => Some(Backend::S3 {
                    bucket,
                    key,
                    region,
                    profile,
                    endpoint,
                    lock_stale_after_seconds,
                }),
                _ => None,
            }
        }
        other => {
            diagnostics.push(
                Diagnostic::at(
                    sources,
                    block.label_span,
                    format!("unknown backend `{other}`"),
                )
                .expected("`\"local\"` or `\"s3\"`"),
            );
            None
        }
    };
    match backend {
        Some(backend) => diagnostics.into_result(backend),
        None => Err(diagnostics),
    }
}

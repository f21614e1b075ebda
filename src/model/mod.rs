//! The cloud resource model: the kinds of resource Cairn manages, their stable addresses, the
//! attribute values the engine passes around, and for each kind which attribute changes update
//! in place and which force a replacement.
//!
//! This module knows nothing about HCL or about any particular cloud API. Config evaluation
//! produces [`DesiredResource`]s; providers receive and return plain [`Attributes`]; the plan
//! compares the two using [`Kind::change_for`]. The few spellings of the cloud the kinds
//! mirror that the engine needs (id prefixes, the cloud's own tags, device names) are in
//! [`cloud`], and nowhere else outside the providers.

mod address;
pub mod cloud;
mod kind;
pub mod limits;
mod moved;
mod operation;
mod reference;
pub mod regions;
mod removed;
pub mod rollout;

pub use address::Address;
pub use kind::{AttributeChange, Kind};
pub use moved::{MoveCollision, Moved, name_parts, original_path, resolve as resolve_moves};
pub use operation::Operation;
pub use reference::{Reference, contains_reference, is_known, reference, references_in, resolve};
pub use removed::Removed;

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A JSON-shaped attribute value. Values that only the cloud knows (ids) are written as
/// reference strings (see [`reference`]) until they can be resolved.
pub type Value = serde_json::Value;

/// Attribute name → value, ordered so that plans and state files are deterministic.
pub type Attributes = BTreeMap<String, Value>;

/// Tag key → value.
pub type Tags = BTreeMap<String, String>;

/// Ownership tag: the stack that created the resource.
pub const TAG_STACK: &str = "cairn:stack";
/// Ownership tag: the environment that created the resource.
pub const TAG_ENV: &str = "cairn:env";
/// Ownership tag: the resource's address, which lets a refresh adopt a resource that a crash
/// left out of state.
pub const TAG_ADDRESS: &str = "cairn:address";

/// The ownership tags, the only tags [`crate::provider::Provider::set_ownership`] rewrites.
pub const OWNERSHIP_TAGS: [&str; 3] = [TAG_STACK, TAG_ENV, TAG_ADDRESS];

/// Who owns a resource: the pair of ownership tags every batched read filters on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Owner {
    pub stack: String,
    pub env: String,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "environment `{}` of stack `{}`", self.env, self.stack)
    }
}

impl Owner {
    /// The three ownership tags for a resource at `address`.
    pub fn tags_for(&self, address: &Address) -> Tags {
        Tags::from([
            (TAG_STACK.to_string(), self.stack.clone()),
            (TAG_ENV.to_string(), self.env.clone()),
            (TAG_ADDRESS.to_string(), address.to_string()),
        ])
    }

    /// Whether `tags` mark a resource as owned by this stack and environment.
    pub fn owns(&self, tags: &Tags) -> bool {
        tags.get(TAG_STACK) == Some(&self.stack) && tags.get(TAG_ENV) == Some(&self.env)
    }

    /// The owner `tags` name, if they carry both ownership tags.
    pub fn of(tags: &Tags) -> Option<Owner> {
        Some(Owner {
            stack: tags.get(TAG_STACK)?.clone(),
            env: tags.get(TAG_ENV)?.clone(),
        })
    }
}

/// `lifecycle { ... }` meta-arguments of a block, copied onto each resource it expands to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    #[serde(default)]
    pub create_before_destroy: bool,
    #[serde(default)]
    pub prevent_destroy: bool,
    /// Attribute names whose differences the plan ignores.
    #[serde(default)]
    pub ignore_changes: BTreeSet<String>,
}

/// Where a resource was defined, for messages that point back at the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceLocation {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One resource instance as the configuration wants it, in one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredResource {
    pub address: Address,
    pub kind: Kind,
    pub region: String,
    /// Desired attributes. Values that depend on other resources' cloud-assigned attributes
    /// hold reference strings; [`references_in`] finds them and [`resolve`] fills them in.
    pub attributes: Attributes,
    /// User tags (ownership tags are added by the engine, not the config).
    #[serde(default)]
    pub tags: Tags,
    /// Every resource this one must come after: references and `depends_on`.
    #[serde(default)]
    pub depends_on: BTreeSet<Address>,
    #[serde(default)]
    pub lifecycle: Lifecycle,
    /// Attribute names whose values are sensitive and never shown.
    #[serde(default)]
    pub sensitive: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceLocation>,
}

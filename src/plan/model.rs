//! The plan document: what a plan decided, in a form that can be rendered, saved to a file and
//! executed by `apply` without reading the configuration again.

use crate::model::{Address, Attributes, Kind, Lifecycle, Operation, Tags};
use crate::provider::CallCount;
use crate::state::{Intent, RolledBack, RolloutCourse, RolloutPhase, StateOutput, StateResource};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The plan file format this build writes and reads. Version 2 typed where a plan is
/// applied (the cloud as an enum, the state backend as its own field); plans are short-lived,
/// so a file of another version is refused rather than converted.
pub const PLAN_FORMAT_VERSION: u32 = 2;

/// A complete plan for one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub stack: String,
    pub environment: String,
    /// The state the plan was made against; a saved plan is refused when either changed.
    pub state_lineage: String,
    pub state_serial: u64,
    /// What the user sees: one entry per address that changes, in a stable order.
    pub changes: Vec<Change>,
    /// What apply executes: primitive cloud operations with their ordering edges.
    pub steps: Vec<Step>,
    /// Differences between state and the cloud found by the refresh.
    #[serde(default)]
    pub drift: Vec<Drift>,
    /// Resources found by their ownership tags that state did not know (a crash's trace), and
    /// that this plan records instead of creating again.
    #[serde(default)]
    pub adopted: Vec<StateResource>,
    /// Objects that stay as they are but are recorded at a new address (`moved` blocks): apply
    /// rewrites their address tags and their state entries before any step runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moves: Vec<Move>,
    /// Objects `removed` blocks (with `destroy = false`) forget: apply releases their
    /// ownership tags and drops them from state, after the moves and before any step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forgets: Vec<Forget>,
    /// Objects `import` blocks import, as they will be recorded (with this environment's
    /// ownership tags): apply tags them as owned and records them, after the forgets and
    /// before any step; differences from the configuration are updates among the steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<StateResource>,
    /// Outputs as the configuration defines them (may hold references resolved at apply).
    #[serde(default)]
    pub outputs: BTreeMap<String, StateOutput>,
    /// API calls the refresh made.
    #[serde(default)]
    pub refresh_calls: CallCount,
    /// A `--refresh-only` plan records drift into state and changes nothing in the cloud.
    #[serde(default)]
    pub refresh_only: bool,
    /// Calls a run sent without learning how they ended (it was killed, or gave up waiting
    /// for an answer), as state records them, and what this plan does about each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interrupted: Vec<Interrupted>,
    /// The policy findings of the configuration planned. Applying the plan is refused while
    /// an error among them is not allowed (`--allow CAIRN001`), so a saved plan keeps the
    /// verdict with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy: Vec<PolicyFinding>,
    /// Autoscaling groups whose instances the apply replaces step by step once every step
    /// above completed (or, to resume an interrupted rollout, before them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rollouts: Vec<PlannedRollout>,
    /// Groups held on the version a rollback took them back to, though the configuration
    /// still asks for the version rolled back: the plan neither moves them nor rolls out,
    /// until the definition changes or `--retry-rollout` names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<HeldRollout>,
    /// Objects the plan would delete but leaves in place while something still uses them
    /// (a security group the instances of a group still run with): a later plan deletes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_use: Vec<InUse>,
    /// Deposed objects kept until a deadline (the old group of a blue-green rollout during
    /// `keep_old`): left alive before it, deleted by the plan's steps once it has passed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<Kept>,
}

/// A deposed object kept alive until a deadline (a blue-green rollout's old group, kept for
/// `keep_old` after the switch); the first plan after it deletes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    pub address: Address,
    pub kind: Kind,
    pub region: String,
    pub id: String,
    pub until: chrono::DateTime<chrono::Utc>,
    /// The deadline has passed: the plan deletes it.
    pub expired: bool,
}

/// A rollout the apply will drive: a group's instances replaced by those of its new launch
/// template version, as the group's `rollout` block says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedRollout {
    pub address: Address,
    #[serde(flatten)]
    pub course: RolloutCourse,
    /// Set when this continues a rollout an earlier apply left unfinished (state holds its
    /// record): the direction it was going, and the step it had reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<(RolloutPhase, usize)>,
    /// Whether it runs before the plan's steps: a resumed rollout whose group the plan does
    /// not move to another version (the group must run one version before anything else
    /// changes). A new rollout, or one the plan moves on to a newer version, runs after them.
    #[serde(default)]
    pub first: bool,
}

/// A group the plan holds on its version because a rollback undid the version the
/// configuration asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldRollout {
    pub address: Address,
    #[serde(flatten)]
    pub rolled_back: RolledBack,
}

/// An object no longer wanted that the plan does not delete yet, because something still
/// uses it and the cloud would refuse the delete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InUse {
    pub address: Address,
    pub kind: Kind,
    pub region: String,
    pub id: String,
    /// What uses it: the autoscaling groups whose instances may run with it.
    pub users: Vec<Address>,
}

/// A call of an earlier run whose outcome is unknown, and how this plan resolves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interrupted {
    pub intent: Intent,
    pub resolution: Resolution,
}

/// How a plan resolves an interrupted call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// A create whose object the refresh found by its ownership tags: it is adopted.
    Found,
    /// A create whose object the refresh did not see: apply looks for it again, waiting out
    /// the cloud's consistency window, before it creates it again (with the same token).
    LookFirst,
    /// A create that is no longer wanted and whose object the refresh did not see. Were it to
    /// appear later, it carries its ownership tags, and the next plan deletes it.
    NotWanted,
    /// An update: the refresh read the object again, and this plan is made from what it holds.
    Reread,
    /// A delete whose object is still there: apply deletes it again.
    FinishDelete,
    /// A delete whose object is gone: it took effect.
    Gone,
}

/// One policy finding, as a plan keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyFinding {
    /// The rule id (`CAIRN001`).
    pub rule: String,
    /// `error` (holds apply back) or `warning`.
    pub severity: String,
    pub message: String,
    /// `file:line:column` of the block or attribute that causes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub addresses: Vec<Address>,
}

impl PolicyFinding {
    /// Whether the finding holds an apply back.
    pub fn is_error(&self) -> bool {
        self.severity == "error"
    }
}

/// One object a `moved` block moves: the same object, recorded and tagged at `to` from now on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    pub from: Address,
    pub to: Address,
    pub kind: Kind,
    pub region: String,
    pub id: String,
}

/// One object a `removed` block forgets: left in the cloud as it is, without Cairn's
/// ownership tags, and no longer in state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forget {
    pub address: Address,
    pub kind: Kind,
    pub region: String,
    pub id: String,
}

/// What happens to one address, as the user reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    Create,
    Update,
    /// Delete then create (or create then delete with `create_before_destroy`).
    Replace,
    Delete,
}

/// One user-visible change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub address: Address,
    pub kind: Kind,
    pub region: String,
    pub action: ChangeAction,
    /// Attributes before (None for a create).
    pub before: Option<Attributes>,
    /// Attributes after (None for a delete); unresolved references are "known after apply".
    pub after: Option<Attributes>,
    #[serde(default)]
    pub before_tags: Tags,
    #[serde(default)]
    pub after_tags: Tags,
    /// For a replace: the attributes that force it.
    #[serde(default)]
    pub replace_because: Vec<String>,
    #[serde(default)]
    pub create_before_destroy: bool,
    /// For a `create_before_destroy` replace: the old object stays, deposed, while instances
    /// use it (see [`Plan::in_use`]); this plan creates the new one and destroys nothing.
    #[serde(default)]
    pub keeps_old: bool,
    #[serde(default)]
    pub sensitive: BTreeSet<String>,
}

/// One operation apply performs, after every step in `after` has completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Index of this step in `Plan::steps`.
    pub index: usize,
    pub address: Address,
    pub kind: Kind,
    pub region: String,
    pub operation: Operation,
    /// The existing cloud id (update and delete).
    pub id: Option<String>,
    /// Attributes as last seen (update and delete).
    pub before: Option<Attributes>,
    /// Desired attributes (create and update); references are resolved from state when the
    /// step runs.
    pub after: Option<Attributes>,
    /// User tags plus ownership tags.
    #[serde(default)]
    pub tags: Tags,
    /// Whether this delete removes the deposed old object of a `create_before_destroy`
    /// replacement (so state drops the deposed entry, not the live one).
    #[serde(default)]
    pub deposed: bool,
    /// Indices of the steps that must complete before this one starts.
    pub after_steps: Vec<usize>,
    /// Recorded into state with the resource.
    #[serde(default)]
    pub dependencies: BTreeSet<Address>,
    #[serde(default)]
    pub lifecycle: Lifecycle,
    #[serde(default)]
    pub sensitive: BTreeSet<String>,
    /// The interrupted call this step carries on: it is sent with that call's token, and a
    /// create looks for the object the call may have made before it creates again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumes: Option<Intent>,
}

/// A difference between state and the cloud found by refresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub address: Address,
    pub kind: Kind,
    pub region: String,
    pub what: DriftKind,
    /// For a change: attribute → (recorded, live).
    #[serde(default)]
    pub attributes: BTreeMap<String, (serde_json::Value, serde_json::Value)>,
    /// Attribute names whose values are sensitive, so views can hide them.
    #[serde(default)]
    pub sensitive: BTreeSet<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// Attributes changed outside Cairn.
    Changed,
    /// Deleted outside Cairn.
    Deleted,
}

/// Counts for the summary line and the JSON `summary` object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    /// Of `replace`, those whose old object stays while instances use it: they add an object
    /// and destroy none. Left out of JSON when 0, so the summary readers compare whole keeps
    /// its shape for every plan without such a replacement.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub kept_old: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

impl Summary {
    /// The objects the plan destroys: deletes, and the old objects of replacements that do
    /// not keep theirs.
    pub fn destroyed(&self) -> usize {
        self.delete + self.replace - self.kept_old
    }
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for change in &self.changes {
            match change.action {
                ChangeAction::Create => summary.create += 1,
                ChangeAction::Update => summary.update += 1,
                ChangeAction::Replace => {
                    summary.replace += 1;
                    summary.kept_old += usize::from(change.keeps_old);
                }
                ChangeAction::Delete => summary.delete += 1,
            }
        }
        summary
    }

    /// Whether applying this plan changes anything (cloud or state): an interrupted call
    /// at least leaves state once resolved.
    pub fn has_changes(&self) -> bool {
        !self.steps.is_empty()
            || !self.moves.is_empty()
            || !self.forgets.is_empty()
            || !self.imports.is_empty()
            || !self.rollouts.is_empty()
            || !self.adopted.is_empty()
            || !self.interrupted.is_empty()
            || (self.refresh_only && !self.drift.is_empty())
    }
}

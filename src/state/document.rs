//! The state document: what Cairn knows it manages in one environment.

use super::Intent;
use crate::model::{Address, Attributes, Kind, Lifecycle, Reference, Tags, Value};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The state format this build writes. A document with a larger number is refused.
pub const FORMAT_VERSION: u32 = 1;

/// One environment's state: every resource Cairn manages there, with its cloud id and the
/// attributes last seen, plus outputs and the history of applied versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateDocument {
    pub format_version: u32,
    /// Random id fixed when the state is first created; a document of another lineage is
    /// never written over this one.
    pub lineage: String,
    /// Increases by one on every write.
    pub serial: u64,
    pub stack: String,
    pub environment: String,
    #[serde(default)]
    pub resources: BTreeMap<Address, StateResource>,
    /// Old objects of a `create_before_destroy` replacement that still exist in the cloud
    /// and wait to be deleted.
    #[serde(default)]
    pub deposed: Vec<StateResource>,
    #[serde(default)]
    pub outputs: BTreeMap<String, StateOutput>,
    /// Set while the environment runs in another region than its configured primary (after
    /// `cairn dr failover`, until `cairn dr failback`): later plans target that region and
    /// leave the primary's resources as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<Failover>,
    /// Data volumes restored from backups, as the snapshot each one starts from: a volume
    /// created (or created again) at one of these addresses is restored from its snapshot.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub restores: BTreeMap<Address, String>,
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    /// Mutating calls sent and not yet answered (see [`super::intent`]). Empty between runs
    /// unless a run stopped without knowing how a call ended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<Intent>,
    /// When the last mutating call recorded here returned. Until the cloud's consistency
    /// window has passed since then, a read may still miss what that call created, so a
    /// refresh waits before it calls a recorded object deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<DateTime<Utc>>,
    /// Rollouts in progress, by autoscaling group address (see [`super::rollout`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rollouts: BTreeMap<Address, super::rollout::RolloutRecord>,
    /// Releases an automatic rollback undid, by autoscaling group address: plans hold the
    /// group on the version it went back to (see [`super::rollout::RolledBack`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rolled_back: BTreeMap<Address, super::rollout::RolledBack>,
    /// Deposed objects kept alive until a deadline, by id: the old group of a blue-green
    /// rollout, kept scaled as it was for `keep_old` after the switch. Until then no plan
    /// deletes it; the first plan after it deletes it as any deposed object.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keep_until: BTreeMap<String, DateTime<Utc>>,
    /// The security groups of each launch template version Cairn made, by template id and
    /// version number, recorded when the version is made: instances keep running a version
    /// after the template moves on, and a security group they run with cannot be deleted.
    /// The cloud reads only a template's latest version, so this is where older ones are known.
    /// A persistent map: the journal compares it with the last save's copy for the templates
    /// that changed, which costs what changed, not the number of templates (issue 14).
    #[serde(default, skip_serializing_if = "TemplateVersions::is_empty")]
    pub template_versions: TemplateVersions,
    /// Set on the copy left behind by `cairn state migrate`: the state now lives elsewhere,
    /// and this copy is refused for any further use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrated: Option<Migrated>,
}

impl StateDocument {
    /// Renames every `(from, to)` pair through a detour of fresh keys, so moves that swap two
    /// addresses (or shift a row of `for_each` keys) never overwrite an entry yet to move.
    pub fn rename_all(&mut self, renames: &[(Address, Address)]) {
        let detour = |address: &Address| Address::new(format!("\u{0}moving\u{0}{address}"));
        for (from, _) in renames {
            self.rename(from, &detour(from));
        }
        for (from, to) in renames {
            self.rename(&detour(from), to);
        }
    }

    /// Records the resource at `from` under `to` instead (a move), with the dependencies of
    /// every other resource that named `from` rewritten, so deletes keep their order. Returns
    /// whether `from` was recorded; an existing entry at `to` is the caller's to refuse.
    pub fn rename(&mut self, from: &Address, to: &Address) -> bool {
        let Some(mut resource) = self.resources.remove(from) else {
            return false;
        };
        resource.address = to.clone();
        if let Some(rolled_back) = self.rolled_back.remove(from) {
            self.rolled_back.insert(to.clone(), rolled_back);
        }
        if let Some(tag) = resource.tags.get_mut(crate::model::TAG_ADDRESS) {
            *tag = to.to_string();
        }
        self.resources.insert(to.clone(), resource);
        for other in self.resources.values_mut().chain(self.deposed.iter_mut()) {
            if other.dependencies.remove(from) {
                other.dependencies.insert(to.clone());
            }
        }
        for deposed in &mut self.deposed {
            if &deposed.address == from {
                deposed.address = to.clone();
            }
        }
        true
    }

    /// Takes the resource at `address` out of state, with what state remembers about the
    /// address: a release a rollback undid is held for the group it was rolled back in, not for
    /// whatever is recorded at the address later (an import, an adoption). Every path by which
    /// a resource leaves state (a delete, a forget, `cairn state rm`, a refresh that finds it
    /// gone) goes through here.
    pub fn remove(&mut self, address: &Address) -> Option<StateResource> {
        let removed = self.resources.remove(address)?;
        self.rolled_back.remove(address);
        self.forget_versions(&removed);
        Some(removed)
    }

    /// Takes the deposed object with cloud id `id` out of state, with what state remembers
    /// about it: its keep deadline (a blue-green rollout's old group) and, for a template,
    /// its versions. Every path by which a deposed object leaves state goes through here.
    pub fn remove_deposed(&mut self, id: &str) -> Option<StateResource> {
        let position = self.deposed.iter().position(|entry| entry.id == id)?;
        let removed = self.deposed.remove(position);
        self.keep_until.remove(&removed.id);
        self.forget_versions(&removed);
        Some(removed)
    }

    /// Forgets what was recorded about the versions of `object` once it is gone from state
    /// (a launch template deleted, forgotten, or a deposed one deleted).
    pub fn forget_versions(&mut self, object: &StateResource) {
        if object.kind == Kind::LaunchTemplate {
            self.template_versions.remove(&object.id);
        }
    }

    /// Records the security groups of launch template `template`'s latest version, as a create
    /// or an update answered it (`latest_version`, `security_group_ids`); an answer without
    /// them records nothing, and the version's groups stay unknown.
    ///
    /// Only the versions instances may still run are kept (see [`Self::versions_in_use`]):
    /// a template updated daily gained an entry a day for good, each carried in every save
    /// and journal line of the template. A version pruned and run again later reads as
    /// unknown, which the in-use check answers with "may use any".
    pub fn record_template_version(&mut self, template: &str, attributes: &Attributes) {
        let Some(version) = attributes.get("latest_version").and_then(version_key) else {
            return;
        };
        let Some(groups) = attributes
            .get("security_group_ids")
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
        else {
            return;
        };
        // Looking for the versions in use reads every group: only when there is an older
        // version to forget, so the creates of a large apply do not each read them all.
        let older = self
            .template_versions
            .get(template)
            .is_some_and(|versions| versions.keys().any(|recorded| *recorded != version));
        let in_use = older.then(|| self.versions_in_use(template));
        let versions = self
            .template_versions
            .entry(template.to_string())
            .or_default();
        if let Some(in_use) = in_use {
            versions.retain(|recorded, _| in_use.contains(recorded));
        }
        versions.insert(version, groups);
    }

    /// The versions of launch template `template` that recorded autoscaling groups (deposed
    /// ones too) may run instances of: the version each group on it launches, the ones its
    /// instances were launched from, and both sides of a release a rollback undid for it.
    fn versions_in_use(&self, template: &str) -> BTreeSet<String> {
        let mut versions = BTreeSet::new();
        let groups = self
            .resources
            .values()
            .chain(&self.deposed)
            .filter(|object| object.kind == Kind::AutoscalingGroup);
        for group in groups {
            let on_template = group
                .attributes
                .get("launch_template_id")
                .and_then(Value::as_str)
                == Some(template);
            if on_template {
                versions.extend(
                    group
                        .attributes
                        .get("launch_template_version")
                        .and_then(version_key),
                );
                if let Some(rolled_back) = self.rolled_back.get(&group.address) {
                    versions.extend(version_key(&rolled_back.version));
                    versions.extend(version_key(&rolled_back.back_to));
                }
            }
            let instances = group.attributes.get("instances").and_then(Value::as_array);
            for instance in instances.into_iter().flatten() {
                // An instance that does not say its template (an older read) runs the group's.
                let launched_from = instance.get("launch_template_id").and_then(Value::as_str);
                if launched_from.map_or(on_template, |id| id == template) {
                    versions.extend(
                        instance
                            .get("launch_template_version")
                            .and_then(version_key),
                    );
                }
            }
        }
        versions
    }

    /// The security groups of version `version` of launch template `template`, when a create
    /// or update recorded them.
    pub fn template_version_groups(&self, template: &str, version: &Value) -> Option<&[String]> {
        let versions = self.template_versions.get(template)?;
        versions.get(&version_key(version)?).map(Vec::as_slice)
    }

    /// An empty state with a fresh lineage.
    pub fn new(stack: &str, environment: &str) -> Self {
        StateDocument {
            format_version: FORMAT_VERSION,
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            stack: stack.to_string(),
            environment: environment.to_string(),
            resources: BTreeMap::new(),
            deposed: Vec::new(),
            outputs: BTreeMap::new(),
            failover: None,
            restores: BTreeMap::new(),
            history: Vec::new(),
            intents: Vec::new(),
            changed_at: None,
            rollouts: BTreeMap::new(),
            rolled_back: BTreeMap::new(),
            keep_until: BTreeMap::new(),
            template_versions: TemplateVersions::new(),
            migrated: None,
        }
    }

    /// The recorded value of a reference: `id` is the cloud id, any other attribute comes from
    /// the recorded attributes. `None` when the resource or attribute is not known.
    pub fn lookup(&self, reference: &Reference) -> Option<Value> {
        let resource = self.resources.get(&reference.address)?;
        if reference.attribute == "id" {
            return Some(Value::String(resource.id.clone()));
        }
        resource.attributes.get(&reference.attribute).cloned()
    }
}

/// A launch template version number as the key of [`StateDocument::template_versions`]: AWS
/// answers a number in one place and its text in another; an alias (`$Latest`) is no number.
fn version_key(version: &Value) -> Option<String> {
    match version {
        Value::Number(number) => number.as_u64().map(|number| number.to_string()),
        Value::String(text) => text.parse::<u64>().ok().map(|number| number.to_string()),
        _ => None,
    }
}

/// The security groups of each launch template version Cairn made: template id → version
/// number → security group ids.
pub type TemplateVersions = imbl::OrdMap<String, BTreeMap<String, Vec<String>>>;

/// One managed resource as last recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateResource {
    pub address: Address,
    pub kind: Kind,
    pub region: String,
    /// The cloud's id.
    pub id: String,
    /// Attributes as last read or written, computed ones included.
    pub attributes: Attributes,
    #[serde(default)]
    pub tags: Tags,
    /// What this resource depended on when it was applied, so a delete of a resource that is
    /// gone from the config still runs in reverse dependency order.
    #[serde(default)]
    pub dependencies: BTreeSet<Address>,
    #[serde(default)]
    pub lifecycle: Lifecycle,
    #[serde(default)]
    pub sensitive: BTreeSet<String>,
}

/// An output value; sensitive outputs are stored but never shown unless asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateOutput {
    pub value: Value,
    #[serde(default)]
    pub sensitive: bool,
}

/// Where a failed-over environment runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failover {
    /// The active region.
    pub region: String,
    /// Its zones; the n-th zone of the primary maps to the n-th of these.
    pub zones: Vec<String>,
    /// The configured primary region it replaces.
    pub primary: String,
    /// RFC 3339 time of the failover.
    pub since: String,
}

/// One applied version of the state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub serial: u64,
    /// RFC 3339 time of the write.
    pub time: String,
    /// `apply`, `destroy`, `import`, `state rm`, `dr failover`, …
    pub operation: String,
    pub summary: String,
}

/// Where a state was migrated to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migrated {
    /// The new location (`s3://bucket/key/env.json`, a local path).
    pub to: String,
    /// RFC 3339 time of the migration.
    pub time: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::RolledBack;

    /// A resource of `kind` with cloud id `id` recorded at `address`, with `attributes`.
    fn recorded(address: &Address, kind: Kind, id: &str, attributes: Attributes) -> StateResource {
        StateResource {
            address: address.clone(),
            kind,
            region: "us-east-1".to_string(),
            id: id.to_string(),
            attributes,
            tags: Tags::new(),
            dependencies: BTreeSet::new(),
            lifecycle: Lifecycle::default(),
            sensitive: BTreeSet::new(),
        }
    }

    /// The attributes a template's create or update answers: `version` with `groups`.
    fn template_answer(version: u64, groups: &[&str]) -> Attributes {
        Attributes::from([
            ("latest_version".to_string(), Value::from(version)),
            (
                "security_group_ids".to_string(),
                Value::from(groups.to_vec()),
            ),
        ])
    }

    /// The recorded versions of template `lt-1`.
    fn recorded_versions(state: &StateDocument) -> Vec<String> {
        state
            .template_versions
            .get("lt-1")
            .map(|versions| versions.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// A `removed` block (or `cairn state rm`) forgot a group and kept the memory of its
    /// rolled-back release: a group imported at the address later was held on a version of
    /// another group's history (review).
    #[test]
    fn a_resource_leaving_state_takes_its_rolled_back_release_with_it() {
        let mut state = StateDocument::new("shop", "staging");
        let group = Address::new("autoscaling.web[us-east-1]");
        state.resources.insert(
            group.clone(),
            recorded(&group, Kind::AutoscalingGroup, "web", Attributes::new()),
        );
        state.rolled_back.insert(
            group.clone(),
            RolledBack {
                version: Value::from(2),
                back_to: Value::from(1),
                reason: "step 1 of 3: unhealthy".to_string(),
                at: DateTime::<Utc>::UNIX_EPOCH,
            },
        );
        assert!(state.remove(&group).is_some());
        assert!(state.resources.is_empty() && state.rolled_back.is_empty());
        assert!(state.remove(&group).is_none());
    }

    #[test]
    fn a_template_versions_groups_are_known_by_number_or_text_until_the_template_goes() {
        let mut state = StateDocument::new("shop", "staging");
        let template = Address::new("launch_template.web[us-east-1]");
        let group = Address::new("autoscaling.web[us-east-1]");
        let on_version_1 = serde_json::json!({"launch_template_id": "lt-1",
            "launch_template_version": 1, "instances": []});
        state.resources.insert(
            group.clone(),
            recorded(
                &group,
                Kind::AutoscalingGroup,
                "web",
                attributes(on_version_1),
            ),
        );
        state.record_template_version("lt-1", &template_answer(1, &["sg-1"]));
        state.record_template_version("lt-1", &template_answer(2, &["sg-2"]));
        let groups = |state: &StateDocument, version: Value| {
            state
                .template_version_groups("lt-1", &version)
                .map(<[String]>::to_vec)
        };
        assert_eq!(
            groups(&state, Value::from(1)),
            Some(vec!["sg-1".to_string()])
        );
        assert_eq!(
            groups(&state, Value::from("2")),
            Some(vec!["sg-2".to_string()])
        );
        assert_eq!(groups(&state, Value::from(3)), None);
        assert_eq!(groups(&state, Value::from("$Latest")), None);
        state.resources.insert(
            template.clone(),
            recorded(&template, Kind::LaunchTemplate, "lt-1", Attributes::new()),
        );
        state.remove(&template);
        assert!(state.template_versions.is_empty());
    }

    /// `template_versions` kept every version a template ever had: a template updated daily
    /// gained an entry a day, each journalled whole with every change (review). Recording a
    /// version keeps only the versions a group may still run: the new one, the one each group
    /// on the template launches, the ones its instances run (of this template), and both
    /// sides of a rolled-back release.
    #[test]
    fn recording_a_template_version_forgets_the_versions_no_group_runs() {
        let mut state = StateDocument::new("shop", "staging");
        let group = Address::new("autoscaling.web[us-east-1]");
        let group_on = |version: u64, instances: Value| {
            let attributes = attributes(serde_json::json!({"launch_template_id": "lt-1",
                "launch_template_version": version, "instances": instances}));
            recorded(&group, Kind::AutoscalingGroup, "web", attributes)
        };
        for version in 1..=5 {
            state.record_template_version("lt-1", &template_answer(version, &["sg-1"]));
        }
        assert_eq!(recorded_versions(&state), ["5"]);

        // Instances of version 5 and of another template's version 6 (kept by neither), the
        // group launching version 5, a release of 7 rolled back to 5.
        let instances = serde_json::json!([{"id": "i-1", "launch_template_version": 5},
            {"id": "i-2", "launch_template_id": "lt-0", "launch_template_version": 6}]);
        state
            .resources
            .insert(group.clone(), group_on(5, instances));
        for version in [6, 7] {
            state.record_template_version("lt-1", &template_answer(version, &["sg-1"]));
        }
        assert_eq!(recorded_versions(&state), ["5", "7"]);
        state.rolled_back.insert(
            group.clone(),
            RolledBack {
                version: Value::from(7),
                back_to: Value::from(5),
                reason: "step 1 of 3: unhealthy".to_string(),
                at: DateTime::<Utc>::UNIX_EPOCH,
            },
        );
        state.record_template_version("lt-1", &template_answer(8, &["sg-1"]));
        assert_eq!(recorded_versions(&state), ["5", "7", "8"]);
        // Deposed groups run instances too.
        let deposed = state.resources.remove(&group).into_iter();
        state.deposed.extend(deposed);
        state.rolled_back.clear();
        state.record_template_version("lt-1", &template_answer(9, &["sg-1"]));
        assert_eq!(recorded_versions(&state), ["5", "9"]);
    }

    /// Attributes from a JSON object.
    fn attributes(value: Value) -> Attributes {
        value
            .as_object()
            .map(|object| object.clone().into_iter().collect())
            .unwrap_or_default()
    }
}

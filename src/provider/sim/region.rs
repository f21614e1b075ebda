//! One region's resources, with the lookups the simulated cloud makes on every call kept
//! beside them: resources by kind, the instances and snapshots time moves on, forced alarms,
//! each group's instances, names, private addresses, the references a delete checks, and the
//! groups that may be short of instances.
//!
//! Promises:
//! - The lookups are derived from the resources alone and kept in step with them by every
//!   change: [`RegionState::insert`], [`RegionState::remove`], and [`RegionState::get_mut`],
//!   whose guard files the resource again, when its keys changed, as it is dropped. So a
//!   call costs what it looks at, not the size of the region: scanning the region before
//!   every call made a large apply quadratic (issue 14).
//! - They are never stored: the cloud file and its journal hold the resources as before, and
//!   the lookups are rebuilt when a region is read. Two regions are equal when their
//!   resources are.
//! - Like the resources, the lookups are persistent sets ([`imbl::OrdSet`]): a draft of the
//!   cloud shares them with its original for the price of what it changes. Their keys, like
//!   the resources' ids, are shared text ([`Text`]): the first change a draft makes to a node
//!   of a set copies the node's up to 64 keys, which then counts references instead of
//!   copying strings (issue 14).
//! - A resource replaced ([`RegionState::insert`]) or changed in place on a copy
//!   ([`RegionState::get_mut`] during a call, whose undo log holds the old version) and still
//!   filed under the same keys leaves the sets untouched: most changes (a state, a count, a
//!   tag) touch no key, and taking the resource out of every set and filing it again cost
//!   lookups that grow with the region (issue 14). A change made in place, with no other
//!   holder to compare with, is taken out and filed again rather than copied.
//! - Every change is noted ([`ChangeLog`]): the ids changed since the region was last saved,
//!   which the journal's next line holds, and, while a call is attempted, what each change
//!   replaced, to put back if the call fails. Neither needs a copy of the region: a copy
//!   shares the persistent maps' nodes, so each change made beside it copied up to 64 entries
//!   per level of the tree, a cost that grew with the region (issue 14).

use super::cloud::Resource;
use super::compute::{GROUP, RUNNING_AT};
use super::monitoring::FORCED_AGAINST;
use crate::model::Kind;
use imbl::{OrdMap, OrdSet};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// The state of a pending instance or snapshot.
const PENDING: &str = "pending";

/// The attributes whose references deletes check, each holding an id or name as text or as a
/// list of them: a network's and a subnet's members, a group's scaling policies, a security
/// group's users, a load balancer's listeners. `source_group_id` is the source of a security
/// group's ingress or egress rule.
pub const REFERENCES: [&str; 5] = [
    "network_id",
    "subnet_id",
    "group_name",
    "security_group_ids",
    "load_balancer_id",
];
/// The attribute of a security group rule naming its source group.
pub const SOURCE_GROUP: &str = "source_group_id";

/// An id, name or other text as the region's map and lookups hold it: shared, so that
/// copying a node copies pointers.
pub type Text = Arc<str>;

/// The resources of one region.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "Stored")]
pub struct RegionState {
    /// Id → resource. Autoscaling groups and scaling policies are keyed by name. Shared
    /// (`Arc`): a draft of the region copies the map's nodes it changes, and a node holds
    /// up to 64 resources, which it then copies as pointers instead of whole (issue 14).
    resources: OrdMap<Text, Arc<Resource>>,
    #[serde(skip)]
    index: Index,
    #[serde(skip)]
    log: ChangeLog,
}

/// What changed in a region, kept beside it (never stored).
#[derive(Debug, Clone, Default)]
struct ChangeLog {
    /// Ids changed since the region was last saved or read.
    unsaved: BTreeSet<Text>,
    /// While a call is attempted: for each change in order, the id and the version it
    /// replaced (`None`: there was none).
    undo: Option<Vec<(Text, Option<Arc<Resource>>)>>,
}

/// What the cloud file holds of a region.
#[derive(Deserialize)]
struct Stored {
    resources: OrdMap<Text, Arc<Resource>>,
}

impl From<Stored> for RegionState {
    fn from(stored: Stored) -> Self {
        let mut index = Index::default();
        for (id, resource) in &stored.resources {
            index.learn(id, resource);
        }
        RegionState {
            resources: stored.resources,
            index,
            log: ChangeLog::default(),
        }
    }
}

impl PartialEq for RegionState {
    /// The lookups follow from the resources (and the groups left to check are a cache).
    fn eq(&self, other: &Self) -> bool {
        self.resources == other.resources
    }
}

/// The lookups, each a set of keys ending with the resource's id (so that two resources
/// never share a key and a removal takes out exactly what the resource put in).
#[derive(Debug, Clone, Default)]
struct Index {
    /// (kind, id) of every resource.
    kinds: OrdSet<(Kind, Text)>,
    /// (kind, id) of the instances and snapshots in state `pending`: what time moves on.
    pending: OrdSet<(Kind, Text)>,
    /// (time it is running at, id) of the pending instances, the time as the instance holds
    /// it (RFC 3339, whole seconds, UTC) or empty when it has none: under a timing profile
    /// many instances boot at once, and a call looks only at those whose time has come.
    booting: OrdSet<(Text, Text)>,
    /// Alarms held in a forced state until their metric says otherwise.
    forced: OrdSet<Text>,
    /// (group, instance id) of every instance launched by an autoscaling group.
    members: OrdSet<(Text, Text)>,
    /// (kind, name, id) of every resource with a `name` attribute.
    names: OrdSet<(Kind, Text, Text)>,
    /// (subnet id, private address, instance id) of every instance with an address; the
    /// address as a number, so that the subnet's addresses are in address order.
    addresses: OrdSet<(Text, u32, Text)>,
    /// (attribute, id or name referred to, referrer id) of every reference in
    /// [`REFERENCES`]: what a delete asks "who still uses this?", answered without scanning
    /// the region (which made destroying a large stack quadratic, issue 14).
    references: OrdSet<(&'static str, Text, Text)>,
    /// Groups that may not have their desired instances: every group that changed, or whose
    /// instances changed, since the background reconcile last found it settled. Not derived
    /// from the resources, but a superset of the unsettled groups, which is all the reconcile
    /// needs; a region read from the file starts with every group.
    unchecked_groups: OrdSet<Text>,
}

/// What a resource is filed under, borrowed from it: two versions of a resource with equal
/// keys are filed alike.
#[derive(PartialEq)]
struct Keys<'a> {
    kind: Kind,
    /// An instance or snapshot in state `pending`.
    pending: bool,
    /// A pending instance's time it is running at (empty when it holds none).
    booting: Option<&'a str>,
    /// An alarm held in a forced state.
    forced: bool,
    name: Option<&'a str>,
    /// The autoscaling group that launched an instance.
    group: Option<&'a str>,
    /// An instance's subnet and private address.
    address: Option<(&'a str, u32)>,
    references: Vec<(&'static str, &'a str)>,
}

impl<'a> Keys<'a> {
    fn of(resource: &'a Resource) -> Keys<'a> {
        let kind = resource.kind;
        let pending = matches!(kind, Kind::Instance | Kind::Snapshot)
            && resource.text("state") == Some(PENDING);
        let instance = kind == Kind::Instance;
        Keys {
            kind,
            pending,
            booting: (pending && instance)
                .then(|| resource.internal_text(RUNNING_AT).unwrap_or_default()),
            forced: kind == Kind::Alarm && resource.internal_text(FORCED_AGAINST).is_some(),
            name: resource.text("name"),
            group: instance.then(|| resource.internal_text(GROUP)).flatten(),
            address: instance
                .then(|| {
                    let address = resource.text("private_ip")?.parse::<Ipv4Addr>().ok()?;
                    Some((resource.text("subnet_id")?, u32::from(address)))
                })
                .flatten(),
            references: references(resource),
        }
    }
}

impl ChangeLog {
    /// Notes a change to `id`; `old` is the version it replaces, asked for only while a call
    /// is attempted.
    fn changed(&mut self, id: &Text, old: impl FnOnce() -> Option<Arc<Resource>>) {
        if !self.unsaved.contains(id) {
            self.unsaved.insert(id.clone());
        }
        if let Some(undo) = &mut self.undo {
            undo.push((id.clone(), old()));
        }
    }
}

impl Index {
    fn learn(&mut self, id: &Text, resource: &Resource) {
        let keys = Keys::of(resource);
        self.file(id, &keys, true);
        self.touched(id, &keys);
    }

    fn forget(&mut self, id: &Text, resource: &Resource) {
        let keys = Keys::of(resource);
        self.file(id, &keys, false);
        self.touched(id, &keys);
    }

    /// Files `new` in place of `old`, both versions of the resource `id`: only when they are
    /// filed under other keys.
    fn refile(&mut self, id: &Text, old: &Resource, new: &Resource) {
        let (old, new) = (Keys::of(old), Keys::of(new));
        if old != new {
            self.file(id, &old, false);
            self.file(id, &new, true);
        }
        self.touched(id, &old);
        self.touched(id, &new);
    }

    /// Adds (`present`) or removes the keys of the resource `id`.
    fn file(&mut self, id: &Text, keys: &Keys, present: bool) {
        let kind = keys.kind;
        put(&mut self.kinds, (kind, id.clone()), present);
        if keys.pending {
            put(&mut self.pending, (kind, id.clone()), present);
        }
        if let Some(due) = keys.booting {
            put(&mut self.booting, (due.into(), id.clone()), present);
        }
        if keys.forced {
            put(&mut self.forced, id.clone(), present);
        }
        if let Some(name) = keys.name {
            put(&mut self.names, (kind, name.into(), id.clone()), present);
        }
        if let Some(group) = keys.group {
            put(&mut self.members, (group.into(), id.clone()), present);
        }
        if let Some((subnet, address)) = keys.address {
            put(
                &mut self.addresses,
                (subnet.into(), address, id.clone()),
                present,
            );
        }
        for &(attribute, target) in &keys.references {
            put(
                &mut self.references,
                (attribute, target.into(), id.clone()),
                present,
            );
        }
    }

    /// Notes that the resource `id`, filed under `keys`, came, changed or went: a group
    /// that changed, or gained or lost an instance, may now be settled or unsettled.
    fn touched(&mut self, id: &Text, keys: &Keys) {
        if let Some(group) = keys.group {
            self.unchecked_groups.insert(group.into());
        }
        if keys.kind == Kind::AutoscalingGroup {
            self.unchecked_groups.insert(id.clone());
        }
    }
}

/// The references of `resource` the region keeps: (attribute, what it names).
fn references(resource: &Resource) -> Vec<(&'static str, &str)> {
    let mut found = Vec::new();
    for attribute in REFERENCES {
        match resource.attributes.get(attribute) {
            Some(Value::String(target)) => found.push((attribute, target.as_str())),
            Some(Value::Array(targets)) => found.extend(
                targets
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|target| (attribute, target)),
            ),
            _ => {}
        }
    }
    if resource.kind == Kind::SecurityGroup {
        let rules = ["ingress", "egress"]
            .into_iter()
            .filter_map(|direction| resource.attributes.get(direction)?.as_array())
            .flatten();
        found.extend(
            rules
                .filter_map(|rule| rule.get(SOURCE_GROUP)?.as_str())
                .map(|target| (SOURCE_GROUP, target)),
        );
    }
    found
}

fn put<T: Ord + Clone>(set: &mut OrdSet<T>, key: T, present: bool) {
    if present {
        set.insert(key);
    } else {
        set.remove(&key);
    }
}

/// The ids of `set` whose keys start with `prefix`, in order: the keys are `(prefix, id)`.
fn ids_under<'a, P: Ord + Clone + 'a>(
    set: &'a OrdSet<(P, Text)>,
    prefix: P,
) -> impl Iterator<Item = &'a str> + 'a {
    set.range((prefix.clone(), Text::from(""))..)
        .take_while(move |(first, _)| *first == prefix)
        .map(|(_, id)| &**id)
}

/// A resource being changed in place: when the change is done (the guard dropped), the
/// resource is filed again under what it has become, if that changed its keys.
pub struct ResourceMut<'a> {
    id: Text,
    /// The resource as it was, when another holder (the undo log of a call, a reader's copy
    /// of the region) shares it, so that the change is made on a copy anyway: what its keys
    /// were. `None` when the change is made in place (time moving on outside a call); the
    /// resource is then taken out of the lookups before, rather than copied.
    old: Option<Arc<Resource>>,
    resource: &'a mut Resource,
    index: &'a mut Index,
}

impl std::ops::Deref for ResourceMut<'_> {
    type Target = Resource;

    fn deref(&self) -> &Resource {
        self.resource
    }
}

impl std::ops::DerefMut for ResourceMut<'_> {
    fn deref_mut(&mut self) -> &mut Resource {
        self.resource
    }
}

impl Drop for ResourceMut<'_> {
    fn drop(&mut self) {
        match &self.old {
            Some(old) => self.index.refile(&self.id, old, self.resource),
            None => self.index.learn(&self.id, self.resource),
        }
    }
}

impl RegionState {
    /// Every resource by id.
    pub fn resources(&self) -> &OrdMap<Text, Arc<Resource>> {
        &self.resources
    }

    pub fn get(&self, id: &str) -> Option<&Resource> {
        self.resources.get(id).map(Arc::as_ref)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.resources.contains_key(id)
    }

    /// The resource `id`, to change in place (see [`ResourceMut`]).
    pub fn get_mut(&mut self, id: &str) -> Option<ResourceMut<'_>> {
        let (id, resource) = self.resources.get_key_value_mut(id)?;
        let id = id.clone();
        self.log.changed(&id, || Some(Arc::clone(resource)));
        let old = (Arc::strong_count(resource) > 1).then(|| Arc::clone(resource));
        let resource = Arc::make_mut(resource);
        if old.is_none() {
            self.index.forget(&id, resource);
        }
        Some(ResourceMut {
            id,
            old,
            resource,
            index: &mut self.index,
        })
    }

    /// Adds `resource`, or replaces the one with its id.
    pub fn insert(&mut self, resource: impl Into<Arc<Resource>>) {
        let resource = resource.into();
        let id = match self.resources.get_key_value(resource.id.as_str()) {
            Some((id, old)) => {
                let id = id.clone();
                self.index.refile(&id, old, &resource);
                self.log.changed(&id, || Some(Arc::clone(old)));
                id
            }
            None => {
                let id = Text::from(resource.id.as_str());
                self.index.learn(&id, &resource);
                self.log.changed(&id, || None);
                id
            }
        };
        self.resources.insert(id, resource);
    }

    /// Removes a resource, returning it.
    pub fn remove(&mut self, id: &str) -> Option<Resource> {
        let (id, removed) = self.resources.remove_with_key(id)?;
        self.index.forget(&id, &removed);
        self.log.changed(&id, || Some(Arc::clone(&removed)));
        Some(Arc::unwrap_or_clone(removed))
    }

    /// The ids changed since the region was last saved or read, in id order: the resource
    /// now, or gone.
    pub fn unsaved(&self) -> impl Iterator<Item = (&Text, Option<&Arc<Resource>>)> {
        self.log
            .unsaved
            .iter()
            .map(|id| (id, self.resources.get(id)))
    }

    /// Records that the region as it is now is saved (or was just read).
    pub fn saved(&mut self) {
        self.log.unsaved.clear();
    }

    /// Starts noting what each change replaces, if not already: returns where the changes
    /// made from now on start, for [`RegionState::undo_to`].
    pub fn begin_undo(&mut self) -> usize {
        self.log.undo.get_or_insert_with(Vec::new).len()
    }

    /// Puts back what the changes since `mark` replaced, latest first.
    pub fn undo_to(&mut self, mark: usize) {
        let Some(mut undo) = self.log.undo.take() else {
            return;
        };
        for (id, old) in undo.drain(mark.min(undo.len())..).rev() {
            match old {
                Some(old) => self.insert(old),
                None => {
                    self.remove(&id);
                }
            }
        }
        self.log.undo = Some(undo);
    }

    /// Stops noting what changes replace.
    pub fn end_undo(&mut self) {
        self.log.undo = None;
    }

    /// Every resource of `kind`, in id order.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Resource> {
        ids_under(&self.index.kinds, kind).filter_map(|id| self.get(id))
    }

    /// The ids of the resources of `kind` (instances or snapshots) in state `pending`, in
    /// id order.
    pub fn pending(&self, kind: Kind) -> Vec<String> {
        ids_under(&self.index.pending, kind)
            .map(str::to_string)
            .collect()
    }

    /// The ids of the pending instances that are running at or before `now` (RFC 3339,
    /// whole seconds, UTC, as instances hold their time), or that hold no time, in time order.
    pub fn booting_by(&self, now: &str) -> Vec<String> {
        // Ids are ASCII, so every id sorts before `char::MAX`.
        let end = (Text::from(now), Text::from(char::MAX.to_string()));
        self.index
            .booting
            .range(..=end)
            .map(|(_, id)| id.to_string())
            .collect()
    }

    /// The alarms held in a forced state, in id order.
    pub fn forced_alarms(&self) -> impl Iterator<Item = &Resource> {
        self.index.forced.iter().filter_map(|id| self.get(id))
    }

    /// The instances of the group `name`, in id order.
    pub fn members<'a>(&'a self, group: &str) -> impl Iterator<Item = &'a Resource> + 'a {
        ids_under(&self.index.members, Text::from(group)).filter_map(|id| self.get(id))
    }

    /// The resources of `kind` whose `name` attribute is `name`, in id order.
    pub fn named<'a>(&'a self, kind: Kind, name: &str) -> impl Iterator<Item = &'a Resource> + 'a {
        let name = Text::from(name);
        self.index
            .names
            .range((kind, name.clone(), Text::from(""))..)
            .take_while(move |(found, named, _)| (*found, named) == (kind, &name))
            .filter_map(|(_, _, id)| self.get(id))
    }

    /// The private addresses of the instances in `subnet`, in address order.
    pub fn addresses_in<'a>(
        &'a self,
        subnet: &str,
    ) -> impl DoubleEndedIterator<Item = Ipv4Addr> + 'a {
        let subnet = Text::from(subnet);
        let start = (subnet.clone(), 0, Text::from(""));
        // Ids are ASCII, so every id sorts before `char::MAX`.
        let end = (subnet, u32::MAX, Text::from(char::MAX.to_string()));
        self.index
            .addresses
            .range(start..=end)
            .map(|(_, address, _)| Ipv4Addr::from(*address))
    }

    /// The resources whose `attribute` (one of [`REFERENCES`], or [`SOURCE_GROUP`] of a
    /// security group's rules) names `target`, in id order.
    pub fn referring<'a>(
        &'a self,
        attribute: &'static str,
        target: &str,
    ) -> impl Iterator<Item = &'a Resource> + 'a {
        let target = Text::from(target);
        self.index
            .references
            .range((attribute, target.clone(), Text::from(""))..)
            .take_while(move |(named, referred, _)| *named == attribute && *referred == target)
            .filter_map(|(_, _, id)| self.get(id))
    }

    /// The groups that may be short of instances (see [`Index::unchecked_groups`]), in name
    /// order.
    pub fn unchecked_groups(&self) -> Vec<String> {
        self.index
            .unchecked_groups
            .iter()
            .map(|name| name.to_string())
            .collect()
    }

    /// Records that the group `name` was found settled (or gone).
    pub fn checked_group(&mut self, name: &str) {
        self.index.unchecked_groups.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attributes, Tags};
    use serde_json::json;

    fn instance(id: &str, group: &str, state: &str) -> Resource {
        let attributes = Attributes::from([
            ("state".to_string(), json!(state)),
            ("subnet_id".to_string(), json!("subnet-1")),
            (
                "private_ip".to_string(),
                json!(format!("10.0.0.{}", id.len())),
            ),
        ]);
        let mut resource = Resource::new(Kind::Instance, id.to_string(), attributes, Tags::new());
        resource.internal.insert(GROUP.to_string(), json!(group));
        resource
    }

    /// The lookups of `region` rebuilt from its resources, as a read of the file does.
    fn rebuilt(region: &RegionState) -> Index {
        let mut index = Index::default();
        for (id, resource) in &region.resources {
            index.learn(id, resource);
        }
        index
    }

    fn same_lookups(region: &RegionState) -> bool {
        let index = rebuilt(region);
        let kept = &region.index;
        (
            &index.kinds,
            &index.pending,
            &index.booting,
            &index.forced,
            &index.members,
            &index.names,
            &index.addresses,
            &index.references,
        ) == (
            &kept.kinds,
            &kept.pending,
            &kept.booting,
            &kept.forced,
            &kept.members,
            &kept.names,
            &kept.addresses,
            &kept.references,
        )
    }

    #[test]
    fn lookups_follow_inserts_changes_in_place_and_removals() {
        let mut region = RegionState::default();
        region.insert(instance("i-1", "web", PENDING));
        region.insert(instance("i-22", "web", PENDING));
        assert_eq!(region.pending(Kind::Instance), ["i-1", "i-22"]);
        if let Some(mut started) = region.get_mut("i-1") {
            started
                .attributes
                .insert("state".to_string(), json!("running"));
        }
        assert_eq!(region.pending(Kind::Instance), ["i-22"]);
        assert!(same_lookups(&region));

        region.remove("i-22");
        let members: Vec<&str> = region.members("web").map(|r| r.id.as_str()).collect();
        assert_eq!(members, ["i-1"]);
        assert_eq!(region.addresses_in("subnet-1").count(), 1);
        assert!(same_lookups(&region));
    }

    #[test]
    fn replacing_a_resource_refiles_it_under_its_new_keys_and_rechecks_its_group() {
        let mut region = RegionState::default();
        region.insert(instance("i-1", "web", PENDING));
        region.checked_group("web");
        // Same keys (a change the lookups do not see): filed as before, the group rechecked.
        let mut tagged = instance("i-1", "web", PENDING);
        tagged.tags.insert("team".to_string(), "a".to_string());
        region.insert(tagged);
        assert!(same_lookups(&region));
        assert_eq!(region.unchecked_groups(), ["web"]);
        // Other keys: out of the old ones, into the new.
        region.checked_group("web");
        region.insert(instance("i-1", "api", "running"));
        assert!(same_lookups(&region));
        assert!(region.pending(Kind::Instance).is_empty());
        assert_eq!(region.members("web").count(), 0);
        assert_eq!(region.members("api").count(), 1);
        assert_eq!(region.unchecked_groups(), ["api", "web"]);
    }

    #[test]
    fn undoing_changes_puts_back_the_resources_and_their_lookups() {
        let mut region = RegionState::default();
        region.insert(instance("i-1", "web", PENDING));
        region.insert(instance("i-2", "web", "running"));
        let original = region.clone();
        let mark = region.begin_undo();
        region.insert(instance("i-3", "api", PENDING));
        if let Some(mut started) = region.get_mut("i-1") {
            started
                .attributes
                .insert("state".to_string(), json!("running"));
        }
        // Changed on a copy the undo log shares: filed again from the old version's keys.
        assert_eq!(region.pending(Kind::Instance), ["i-3"]);
        assert!(same_lookups(&region));
        region.insert(instance("i-1", "api", "stopped"));
        region.remove("i-2");
        region.undo_to(mark);
        region.end_undo();
        assert_eq!(region, original);
        assert!(same_lookups(&region));
        assert_eq!(region.pending(Kind::Instance), ["i-1"]);
        let unsaved: Vec<&str> = region.unsaved().map(|(id, _)| &**id).collect();
        assert_eq!(unsaved, ["i-1", "i-2", "i-3"]);
    }

    fn referring_ids(region: &RegionState, attribute: &'static str, target: &str) -> Vec<String> {
        region
            .referring(attribute, target)
            .map(|resource| resource.id.clone())
            .collect()
    }

    #[test]
    fn references_follow_the_attributes_and_rules_that_make_them() {
        let mut region = RegionState::default();
        let group = |id: &str, source: &str| {
            let rule = json!([{ "protocol": "tcp", "from_port": 80, "to_port": 80, "source_group_id": source }]);
            let attributes = Attributes::from([
                ("network_id".to_string(), json!("vpc-1")),
                ("ingress".to_string(), rule),
            ]);
            Resource::new(Kind::SecurityGroup, id.to_string(), attributes, Tags::new())
        };
        region.insert(group("sg-1", "sg-2"));
        region.insert(group("sg-2", "sg-2"));
        let mut web = instance("i-1", "web", PENDING);
        web.attributes
            .insert("security_group_ids".to_string(), json!(["sg-1", "sg-2"]));
        region.insert(web);
        assert_eq!(
            referring_ids(&region, "network_id", "vpc-1"),
            ["sg-1", "sg-2"]
        );
        assert_eq!(
            referring_ids(&region, SOURCE_GROUP, "sg-2"),
            ["sg-1", "sg-2"]
        );
        assert_eq!(
            referring_ids(&region, "security_group_ids", "sg-1"),
            ["i-1"]
        );
        assert_eq!(referring_ids(&region, "subnet_id", "subnet-1"), ["i-1"]);
        assert!(referring_ids(&region, "network_id", "vpc-2").is_empty());

        if let Some(mut changed) = region.get_mut("sg-1") {
            changed.attributes.insert("ingress".to_string(), json!([]));
        }
        assert_eq!(referring_ids(&region, SOURCE_GROUP, "sg-2"), ["sg-2"]);
        region.remove("i-1");
        assert!(referring_ids(&region, "security_group_ids", "sg-1").is_empty());
        assert!(same_lookups(&region));
    }

    #[test]
    fn a_region_read_from_its_file_has_the_same_lookups_and_checks_every_group()
    -> Result<(), serde_json::Error> {
        let mut region = RegionState::default();
        region.insert(instance("i-1", "web", PENDING));
        let group = Resource::new(
            Kind::AutoscalingGroup,
            "web".to_string(),
            Attributes::from([("name".to_string(), json!("web"))]),
            Tags::new(),
        );
        region.insert(group);
        region.checked_group("web");
        let read: RegionState = serde_json::from_str(&serde_json::to_string(&region)?)?;
        assert_eq!(read, region);
        assert!(same_lookups(&read));
        assert_eq!(read.unchecked_groups(), ["web"]);
        let named: Vec<&str> = read
            .named(Kind::AutoscalingGroup, "web")
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(named, ["web"]);
        Ok(())
    }
}

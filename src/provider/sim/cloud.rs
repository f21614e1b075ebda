//! The simulated cloud's whole content: every region's resources, the idempotency tokens
//! already used, the id counter, the call sequence, the persistent fault settings and the
//! clock. This is what the cloud file holds.
//!
//! Promise: this is plain data with lookups; the AWS rules live in the per-service modules
//! (`network`, `security_group`, `compute`, `autoscaling`, `block_storage`), which change it.
//!
//! The maps that grow with the cloud (each region's resources, the idempotency tokens) are
//! persistent maps ([`imbl::OrdMap`]): a clone shares everything with its original, so a
//! reader's copy costs nothing. A call is not made on a copy, though: a change beside a copy
//! copies the path of tree nodes to it, which grows with the cloud. The cloud instead notes
//! each change it makes: a failed call is undone from what its changes replaced
//! ([`Cloud::attempt`]), and the journal's next line holds what changed since the last save
//! ([`Cloud::saved`]), so a call costs what it changes, not the size of the cloud (issue 14).
//! They serialize as the ordered maps they were before.

use super::error::{api, missing_reference};
use super::faults::FaultSettings;
use super::ids;
use super::network::replace_attributes;
pub use super::region::{RegionState, ResourceMut};
use crate::model::timings::Timings;
use crate::model::{Attributes, Kind, Tags};
use crate::provider::{LiveResource, ProviderError, QuotaName};
use chrono::{DateTime, Utc};
use imbl::OrdMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The format of the cloud file this code reads and writes.
pub const FORMAT: u32 = 1;

/// The whole simulated cloud.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cloud {
    pub format: u32,
    /// Number of API calls made against this cloud; the last call's sequence number.
    pub sequence: u64,
    /// Number of ids drawn so far.
    pub id_counter: u64,
    /// Drawn once per cloud so that two clouds do not share ids.
    pub salt: u64,
    /// Drawn anew each time the whole cloud is written: the journal lines that apply to this
    /// version of the file name it (see `journal`).
    #[serde(default)]
    pub epoch: u64,
    #[serde(default)]
    pub regions: BTreeMap<String, RegionState>,
    /// Create tokens already used, and what each created. Changed only through
    /// [`Cloud::record_token`], which notes the change.
    #[serde(default)]
    create_tokens: OrdMap<String, TokenRecord>,
    /// Update tokens already applied.
    #[serde(default)]
    update_tokens: OrdMap<String, TokenRecord>,
    /// Fault settings stored by `cairn sim fault`.
    #[serde(default)]
    pub faults: FaultSettings,
    /// Regions in a persistent outage (`cairn sim outage`).
    #[serde(default)]
    pub outages: BTreeSet<String>,
    /// Images whose instances fail their load balancer health checks (`cairn sim unhealthy`).
    #[serde(default)]
    pub unhealthy_images: BTreeSet<String>,
    /// The time the cloud's clock stands at, set by `cairn sim clock` (it moves only when set
    /// or advanced again, as a paused clock does); `None` is the wall clock. Snapshot start
    /// times come from it, and so do the backup windows and RPOs computed from them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<DateTime<Utc>>,
    /// Region → images not registered there (`cairn sim image --missing-in`): RunInstances
    /// refuses them, as AWS refuses an AMI id of another region. Every other image exists
    /// everywhere.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub missing_images: BTreeMap<String, BTreeSet<String>>,
    /// Region → quota → limit set by `cairn sim quota`: creates past it are refused with
    /// AWS's codes. A quota not set is unlimited, or AWS's default under the AWS timing
    /// profile (see [`Cloud::quota_limit`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub quotas: BTreeMap<String, BTreeMap<QuotaName, u64>>,
    /// `region/bucket` → the API token bucket a call there draws on, when the cloud emulates
    /// AWS's rate limits (see `rate_limits`); a bucket never drawn on is full.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rate_buckets: BTreeMap<String, crate::provider::rate_limits::TokenBucket>,
    /// What changed since the cloud was last saved or read, and what the attempts in
    /// progress changed (see [`Cloud::attempt`]); never stored.
    #[serde(skip)]
    book: Book,
}

/// Which of the cloud's idempotency tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TokenUse {
    Create,
    Update,
}

/// The cloud's own bookkeeping of its changes (the regions keep theirs, see
/// `region::ChangeLog`). Not part of what the cloud is: two clouds that differ only in it are
/// equal.
#[derive(Debug, Clone, Default)]
struct Book {
    /// Tokens recorded since the cloud was last saved or read.
    unsaved_tokens: BTreeSet<(TokenUse, String)>,
    /// Attempts in progress, nested.
    attempts: usize,
    /// While an attempt is in progress: each token recorded, with what it replaced.
    token_undo: Vec<(TokenUse, String, Option<TokenRecord>)>,
}

impl PartialEq for Book {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Where an attempt started: what [`Cloud::attempt`] puts back when it fails.
struct Savepoint {
    id_counter: u64,
    /// The regions then, each with where its changes since start.
    regions: Vec<(String, usize)>,
    tokens: usize,
}

/// What an idempotency token was used for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub region: String,
    pub kind: Kind,
    pub id: String,
}

/// One resource as the cloud stores it.
///
/// `Eq`, so that two `Arc<Resource>` pointing at the same allocation compare equal without
/// reading either: comparing two versions of a region compares the resources that differ,
/// not the up to 64 in each map node one of them copied (issue 14).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub kind: Kind,
    pub id: String,
    /// The contract's attributes, computed ones included (except an autoscaling group's
    /// `instances`, which are derived from the instances when read).
    pub attributes: Attributes,
    #[serde(default)]
    pub tags: Tags,
    /// Bookkeeping that is not part of the contract (rule ids, template versions, zones,
    /// the call that launched an instance, …).
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    pub internal: Attributes,
    /// When a create call made it, on the wall clock: with a read lag, reads miss it until the lag has passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<chrono::DateTime<chrono::Utc>>,
}

impl Default for Cloud {
    fn default() -> Self {
        Cloud {
            format: FORMAT,
            sequence: 0,
            id_counter: 0,
            salt: fastrand::u64(..),
            epoch: 0,
            regions: BTreeMap::new(),
            create_tokens: OrdMap::new(),
            update_tokens: OrdMap::new(),
            faults: FaultSettings::default(),
            outages: BTreeSet::new(),
            unhealthy_images: BTreeSet::new(),
            clock: None,
            missing_images: BTreeMap::new(),
            quotas: BTreeMap::new(),
            rate_buckets: BTreeMap::new(),
            book: Book::default(),
        }
    }
}

impl Cloud {
    /// Makes `change`, keeping what it did only when it succeeds: a failure puts back every
    /// resource it changed, the ids it drew and the tokens it recorded, and takes away the
    /// regions it began, as if it never ran (a refused call may have been partly made).
    /// Undone from a log of what each change replaced, not by changing a copy: a copy shares
    /// the persistent maps' nodes, and each change beside it copied up to 64 entries per
    /// level of the tree, a cost that grew with the cloud (issue 14). Attempts nest.
    pub fn attempt<T, E>(
        &mut self,
        change: impl FnOnce(&mut Cloud) -> Result<T, E>,
    ) -> Result<T, E> {
        let savepoint = Savepoint {
            id_counter: self.id_counter,
            regions: self
                .regions
                .iter_mut()
                .map(|(name, state)| (name.clone(), state.begin_undo()))
                .collect(),
            tokens: self.book.token_undo.len(),
        };
        self.book.attempts += 1;
        let result = change(self);
        self.book.attempts -= 1;
        if result.is_err() {
            self.undo(savepoint);
        }
        if self.book.attempts == 0 {
            for state in self.regions.values_mut() {
                state.end_undo();
            }
            self.book.token_undo.clear();
        }
        result
    }

    fn undo(&mut self, savepoint: Savepoint) {
        let Savepoint {
            id_counter,
            regions,
            tokens,
        } = savepoint;
        let kept: BTreeSet<&str> = regions.iter().map(|(name, _)| name.as_str()).collect();
        self.regions.retain(|name, _| kept.contains(name.as_str()));
        for (name, mark) in &regions {
            if let Some(state) = self.regions.get_mut(name) {
                state.undo_to(*mark);
            }
        }
        let recorded = self
            .book
            .token_undo
            .split_off(tokens.min(self.book.token_undo.len()));
        for (token_use, token, old) in recorded.into_iter().rev() {
            let map = self.tokens_mut(token_use);
            match old {
                Some(old) => map.insert(token, old),
                None => map.remove(&token),
            };
        }
        self.id_counter = id_counter;
    }

    /// What the token `token` of `token_use` was used for, if it was.
    pub fn token(&self, token_use: TokenUse, token: &str) -> Option<&TokenRecord> {
        self.tokens(token_use).get(token)
    }

    /// Records that `token` of `token_use` was used for `record`.
    pub fn record_token(&mut self, token_use: TokenUse, token: &str, record: TokenRecord) {
        let old = self.tokens_mut(token_use).insert(token.to_string(), record);
        if self.book.attempts > 0 {
            self.book
                .token_undo
                .push((token_use, token.to_string(), old));
        }
        self.book
            .unsaved_tokens
            .insert((token_use, token.to_string()));
    }

    pub(super) fn tokens(&self, token_use: TokenUse) -> &OrdMap<String, TokenRecord> {
        match token_use {
            TokenUse::Create => &self.create_tokens,
            TokenUse::Update => &self.update_tokens,
        }
    }

    fn tokens_mut(&mut self, token_use: TokenUse) -> &mut OrdMap<String, TokenRecord> {
        match token_use {
            TokenUse::Create => &mut self.create_tokens,
            TokenUse::Update => &mut self.update_tokens,
        }
    }

    /// The tokens recorded since the cloud was last saved or read, with what each is for
    /// now.
    pub(super) fn unsaved_tokens(
        &self,
    ) -> impl Iterator<Item = (TokenUse, &String, Option<&TokenRecord>)> {
        self.book
            .unsaved_tokens
            .iter()
            .map(|(token_use, token)| (*token_use, token, self.tokens(*token_use).get(token)))
    }

    /// Sets a token as a journal line left it (`None`: not used).
    pub(super) fn replay_token(
        &mut self,
        token_use: TokenUse,
        token: String,
        record: Option<TokenRecord>,
    ) {
        let map = self.tokens_mut(token_use);
        match record {
            Some(record) => map.insert(token, record),
            None => map.remove(&token),
        };
    }

    /// The cloud without its large maps (resources and tokens): what a journal line holds
    /// whole.
    pub(super) fn head(&self) -> Cloud {
        Cloud {
            format: self.format,
            sequence: self.sequence,
            id_counter: self.id_counter,
            salt: self.salt,
            epoch: self.epoch,
            regions: BTreeMap::new(),
            create_tokens: OrdMap::new(),
            update_tokens: OrdMap::new(),
            faults: self.faults.clone(),
            outages: self.outages.clone(),
            unhealthy_images: self.unhealthy_images.clone(),
            clock: self.clock,
            missing_images: self.missing_images.clone(),
            quotas: self.quotas.clone(),
            rate_buckets: self.rate_buckets.clone(),
            book: Book::default(),
        }
    }

    /// Takes the small fields of `head` (a journal line's, see [`Cloud::head`]), keeping the
    /// epoch, the resources, the tokens and the bookkeeping.
    pub(super) fn set_head(&mut self, head: Cloud) {
        // Every field named, so that a new one is placed here or there on purpose.
        let Cloud {
            format,
            sequence,
            id_counter,
            salt,
            epoch: _,
            regions: _,
            create_tokens: _,
            update_tokens: _,
            faults,
            outages,
            unhealthy_images,
            clock,
            missing_images,
            quotas,
            rate_buckets,
            book: _,
        } = head;
        self.format = format;
        self.sequence = sequence;
        self.id_counter = id_counter;
        self.salt = salt;
        self.faults = faults;
        self.outages = outages;
        self.unhealthy_images = unhealthy_images;
        self.clock = clock;
        self.missing_images = missing_images;
        self.quotas = quotas;
        self.rate_buckets = rate_buckets;
    }

    /// Records that the cloud as it is now is saved (or was just read): what changes from
    /// here is what the journal's next line holds.
    pub fn saved(&mut self) {
        for state in self.regions.values_mut() {
            state.saved();
        }
        self.book.unsaved_tokens.clear();
    }

    /// What the cloud's clock says now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.unwrap_or_else(Utc::now)
    }

    /// Whether `image` was taken out of `region`.
    pub fn image_missing(&self, region: &str, image: &str) -> bool {
        self.missing_images
            .get(region)
            .is_some_and(|images| images.contains(image))
    }

    /// The limit of quota `name` in `region`: the one `cairn sim quota` set, else AWS's
    /// default when the cloud plays AWS's timings (`CAIRN_SIM_PROFILE=aws`), else none. The
    /// default profile stays unlimited: benches run thousands of instances a region on it.
    pub fn quota_limit(&self, region: &str, name: QuotaName, timings: &Timings) -> Option<u64> {
        self.quotas
            .get(region)
            .and_then(|quotas| quotas.get(&name))
            .copied()
            .or_else(|| (timings.name == Timings::AWS.name).then(|| name.aws_default()))
    }

    /// What counts against quota `name` in `region` now: every instance (a terminated one
    /// leaves at once), every VPC.
    pub fn quota_usage(&self, region: &str, name: QuotaName) -> u64 {
        self.region(region).map_or(0, |state| {
            u64::try_from(state.of_kind(name.kind()).count()).unwrap_or(u64::MAX)
        })
    }

    /// Refuses one more of quota `name`'s resources in `region` when it is used up, as AWS
    /// does (`InstanceLimitExceeded`, `VpcLimitExceeded`).
    ///
    /// # Errors
    /// The quota's error code when the region is at its limit.
    pub fn check_quota(
        &self,
        region: &str,
        name: QuotaName,
        timings: &Timings,
    ) -> Result<(), ProviderError> {
        let Some(limit) = self.quota_limit(region, name, timings) else {
            return Ok(());
        };
        if self.quota_usage(region, name) < limit {
            return Ok(());
        }
        let message = match name {
            QuotaName::RunningInstances => format!(
                "You have requested more instances than your current instance limit of {limit} allows in {region}. Request an increase of {} in Service Quotas.",
                name.service_quota()
            ),
            QuotaName::Vpcs => format!(
                "The maximum number of VPCs ({limit}) has been reached in {region}. Request an increase of {} in Service Quotas.",
                name.service_quota()
            ),
        };
        Err(api(name.exceeded_code(), message))
    }

    /// A fresh id with `prefix`, unique in the whole cloud.
    pub fn new_id(&mut self, prefix: &str) -> String {
        loop {
            self.id_counter += 1;
            let id = ids::format_id(prefix, self.salt, self.id_counter);
            if !self.regions.values().any(|region| region.contains(&id)) {
                return id;
            }
        }
    }

    /// A fresh run of 17 lowercase hex digits, unique in the whole cloud: the random part of
    /// ids that are not `prefix-hex` (ARNs, hosted zone ids).
    pub fn new_hex(&mut self) -> String {
        let id = self.new_id("x");
        id.trim_start_matches("x-").to_string()
    }

    /// A fresh id for a resource of `kind` (its name for kinds identified by name is chosen
    /// by the caller, so those fall back to a plain prefix).
    pub fn new_id_for(&mut self, kind: Kind) -> String {
        self.new_id(crate::model::cloud::id_prefix(kind).unwrap_or(kind.as_str()))
    }

    /// The resources of `region` (empty if none were ever created there).
    pub fn region(&self, region: &str) -> Option<&RegionState> {
        self.regions.get(region)
    }

    /// The resources of `region`, creating its entry.
    pub fn region_mut(&mut self, region: &str) -> &mut RegionState {
        self.regions.entry(region.to_string()).or_default()
    }

    /// The resource `id` of `kind` in `region`, if it exists.
    pub fn find(&self, region: &str, kind: Kind, id: &str) -> Option<&Resource> {
        self.region(region)?
            .get(id)
            .filter(|resource| resource.kind == kind)
    }

    /// The resource `id` of `kind` in `region`, if it exists, to change in place.
    pub fn find_mut(&mut self, region: &str, kind: Kind, id: &str) -> Option<ResourceMut<'_>> {
        self.find(region, kind, id)?;
        self.regions.get_mut(region)?.get_mut(id)
    }

    /// The resource an attribute refers to, or the AWS "not found" refusal for it.
    pub fn referenced(
        &self,
        region: &str,
        kind: Kind,
        id: &str,
    ) -> Result<&Resource, ProviderError> {
        self.find(region, kind, id)
            .ok_or_else(|| missing_reference(kind, id))
    }

    /// The resource a call targets, or [`ProviderError::NotFound`].
    pub fn target(&self, region: &str, kind: Kind, id: &str) -> Result<&Resource, ProviderError> {
        self.find(region, kind, id)
            .ok_or_else(|| ProviderError::NotFound {
                kind,
                region: region.to_string(),
                id: id.to_string(),
            })
    }

    /// The resource a call targets, or [`ProviderError::NotFound`].
    pub fn target_mut(
        &mut self,
        region: &str,
        kind: Kind,
        id: &str,
    ) -> Result<ResourceMut<'_>, ProviderError> {
        self.find_mut(region, kind, id)
            .ok_or_else(|| ProviderError::NotFound {
                kind,
                region: region.to_string(),
                id: id.to_string(),
            })
    }

    /// A resource that a call names inside `network_id`, or AWS's refusal: `missing` when it
    /// does not exist, `elsewhere` when it belongs to another network. Each refusal is an API
    /// error code and its message.
    pub fn in_network(
        &self,
        region: &str,
        (kind, id): (Kind, &str),
        network_id: &str,
        missing: (&str, String),
        elsewhere: (&str, String),
    ) -> Result<&Resource, ProviderError> {
        let resource = self
            .find(region, kind, id)
            .ok_or_else(|| api(missing.0, missing.1))?;
        if resource.text("network_id") != Some(network_id) {
            return Err(api(elsewhere.0, elsewhere.1));
        }
        Ok(resource)
    }

    /// Removes the resource a delete targets unless a resource of `referrer` still refers to
    /// it, which AWS refuses with `in_use` (an API error code and its message).
    pub fn remove_unreferenced(
        &mut self,
        region: &str,
        (kind, id): (Kind, &str),
        referrer: Kind,
        refers: impl Fn(&Resource) -> bool,
        in_use: (&str, String),
    ) -> Result<(), ProviderError> {
        self.target(region, kind, id)?;
        if self.all_of(region, referrer).any(refers) {
            return Err(api(in_use.0, in_use.1));
        }
        self.remove_target(region, kind, id)
    }

    /// Removes the resource a delete targets, or [`ProviderError::NotFound`]. Every delete
    /// ends here: the whole delete of a kind that nothing refers to and that takes nothing
    /// with it, the last call of one that first checks what refuses it (a dependency, a
    /// default object) or removes what goes with it (a network's default group and main
    /// table, a balancer's listeners, a group's instances).
    pub fn remove_target(
        &mut self,
        region: &str,
        kind: Kind,
        id: &str,
    ) -> Result<(), ProviderError> {
        self.target(region, kind, id)?;
        self.remove(region, id);
        Ok(())
    }

    /// Replaces the contract attributes of the resource an update targets with `after` (see
    /// [`replace_attributes`]), through the region's guard, or [`ProviderError::NotFound`]:
    /// the whole update of a kind whose computed attributes are only its id.
    pub fn replace_target(
        &mut self,
        region: &str,
        kind: Kind,
        id: &str,
        after: &Attributes,
    ) -> Result<(), ProviderError> {
        let mut resource = self.target_mut(region, kind, id)?;
        replace_attributes(&mut resource, after);
        Ok(())
    }

    /// Every resource of `kind` in `region`, in id order.
    pub fn all_of(&self, region: &str, kind: Kind) -> impl Iterator<Item = &Resource> {
        self.region(region)
            .into_iter()
            .flat_map(move |state| state.of_kind(kind))
    }

    /// A resource of `kind` with a fresh id, not yet in any region.
    pub fn new_resource(&mut self, kind: Kind, attributes: &Attributes, tags: &Tags) -> Resource {
        let id = self.new_id_for(kind);
        Resource::new(kind, id, attributes.clone(), tags.clone())
    }

    /// Adds a new resource to `region`, answering its id as a create does.
    pub fn add(&mut self, region: &str, resource: Resource) -> String {
        let id = resource.id.clone();
        self.insert(region, resource);
        id
    }

    pub fn insert(&mut self, region: &str, resource: Resource) {
        self.region_mut(region).insert(resource);
    }

    /// Removes a resource, returning it.
    pub fn remove(&mut self, region: &str, id: &str) -> Option<Resource> {
        self.regions.get_mut(region)?.remove(id)
    }

    /// Every region holding a resource with this id.
    pub fn regions_with(&self, id: &str) -> Vec<String> {
        self.regions
            .iter()
            .filter(|(_, state)| state.contains(id))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Refuses a name already taken by another resource of `kind` in `region`.
    pub fn ensure_unique_name(
        &self,
        region: &str,
        kind: Kind,
        name: &str,
        code: &str,
        message: impl FnOnce() -> String,
    ) -> Result<(), ProviderError> {
        let taken = self
            .region(region)
            .is_some_and(|state| state.named(kind, name).next().is_some());
        if taken {
            Err(api(code, message()))
        } else {
            Ok(())
        }
    }
}

impl Resource {
    /// A resource with its contract attributes; `id` is added to them.
    pub fn new(kind: Kind, id: String, mut attributes: Attributes, tags: Tags) -> Self {
        attributes.insert("id".to_string(), id.clone().into());
        Resource {
            kind,
            id,
            attributes,
            tags,
            internal: Attributes::new(),
            created: None,
        }
    }

    /// A string attribute, if present.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(|value| value.as_str())
    }

    /// A string kept in the internal bookkeeping, if present.
    pub fn internal_text(&self, name: &str) -> Option<&str> {
        self.internal.get(name).and_then(|value| value.as_str())
    }

    /// The resource as the engine sees it (without derived attributes).
    pub fn live(&self, region: &str) -> LiveResource {
        LiveResource {
            kind: self.kind,
            region: region.to_string(),
            id: self.id.clone(),
            attributes: self.attributes.clone(),
            tags: self.tags.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::sim::journal::Entry;
    use serde_json::json;

    fn volume(cloud: &mut Cloud, region: &str, size: u64) -> String {
        let attributes = Attributes::from([("size_gb".to_string(), json!(size))]);
        let resource = cloud.new_resource(Kind::Volume, &attributes, &Tags::new());
        cloud.add(region, resource)
    }

    fn token_for(id: &str) -> TokenRecord {
        TokenRecord {
            region: "us-east-1".to_string(),
            kind: Kind::Volume,
            id: id.to_string(),
        }
    }

    /// Every kind of change an attempt can make: adds, changes and removes resources, draws
    /// ids, records a token over an old one, begins a region.
    fn change_everything(cloud: &mut Cloud, kept: &str, gone: &str) {
        volume(cloud, "us-east-1", 7);
        volume(cloud, "eu-west-1", 8);
        if let Some(mut resource) = cloud.find_mut("us-east-1", Kind::Volume, kept) {
            resource.attributes.insert("size_gb".to_string(), json!(99));
        }
        cloud.remove("us-east-1", gone);
        cloud.record_token(TokenUse::Create, "old", token_for("vol-new"));
        cloud.record_token(TokenUse::Update, "new", token_for(kept));
    }

    fn start() -> (Cloud, String, String) {
        let mut cloud = Cloud::default();
        let kept = volume(&mut cloud, "us-east-1", 1);
        let gone = volume(&mut cloud, "us-east-1", 2);
        cloud.record_token(TokenUse::Create, "old", token_for(&kept));
        cloud.saved();
        (cloud, kept, gone)
    }

    #[test]
    fn a_failed_attempt_leaves_the_cloud_as_it_was() {
        let (mut cloud, kept, gone) = start();
        let original = cloud.clone();
        let result: Result<(), &str> = cloud.attempt(|cloud| {
            change_everything(cloud, &kept, &gone);
            Err("refused")
        });
        assert_eq!(result, Err("refused"));
        assert_eq!(cloud, original);
        assert_eq!(cloud.id_counter, original.id_counter);
        assert!(!cloud.regions.contains_key("eu-west-1"));
        assert_eq!(
            cloud.token(TokenUse::Create, "old"),
            Some(&token_for(&kept))
        );
        assert_eq!(cloud.token(TokenUse::Update, "new"), None);
        // What it touched is written again as it is: the journal line stays true.
        let mut replayed = original.clone();
        assert!(Entry::unsaved(&cloud).apply(&mut replayed));
        assert_eq!(replayed, original);
    }

    #[test]
    fn a_successful_attempt_keeps_its_changes_and_notes_them_for_the_journal() {
        let (mut cloud, kept, gone) = start();
        let original = cloud.clone();
        let result: Result<(), &str> = cloud.attempt(|cloud| {
            change_everything(cloud, &kept, &gone);
            Ok(())
        });
        assert_eq!(result, Ok(()));
        assert_ne!(cloud, original);
        assert!(cloud.find("us-east-1", Kind::Volume, &gone).is_none());
        let mut replayed = original.clone();
        assert!(Entry::unsaved(&cloud).apply(&mut replayed));
        assert_eq!(replayed, cloud);
    }

    #[test]
    fn nested_attempts_undo_only_what_failed() {
        let (mut cloud, kept, gone) = start();
        let original = cloud.clone();
        // The inner one fails, the outer one goes on and succeeds.
        let outer: Result<String, &str> = cloud.attempt(|cloud| {
            let first = volume(cloud, "us-east-1", 3);
            let inner: Result<(), &str> = cloud.attempt(|cloud| {
                change_everything(cloud, &kept, &gone);
                Err("refused")
            });
            assert!(inner.is_err());
            Ok(first)
        });
        let first = outer.unwrap_or_default();
        assert!(cloud.find("us-east-1", Kind::Volume, &first).is_some());
        assert!(cloud.find("us-east-1", Kind::Volume, &gone).is_some());
        assert!(!cloud.regions.contains_key("eu-west-1"));

        // The inner one succeeds, the outer one fails: both are undone.
        let mut cloud = original.clone();
        let outer: Result<(), &str> = cloud.attempt(|cloud| {
            let inner: Result<(), &str> = cloud.attempt(|cloud| {
                change_everything(cloud, &kept, &gone);
                Ok(())
            });
            assert!(inner.is_ok());
            Err("refused")
        });
        assert!(outer.is_err());
        assert_eq!(cloud, original);
    }
}

//! Ambiguous creates: a create whose answer never came (a 5xx, a timeout, a connection reset
//! after the request went out, a run killed while waiting) may have made its object, and
//! sending it again may make a second one, since most create APIs take no idempotency token.
//!
//! So before such a create is sent again, its object is looked for by its ownership tags (the
//! creating call sets them, so the object carries them from its first moment), for as long as
//! the cloud's consistency window says a new object may still be missing from reads. What is
//! found is adopted and brought in line with the request (a create of several calls may have
//! stopped half-way); only when nothing turns up is the create sent again, with the same
//! idempotency token, which the APIs that take one honour.
//!
//! Promises: an object state already records, or that the plan deletes, is never taken for
//! the one looked for (the old object of a `create_before_destroy` replacement carries the same
//! address tag); a kind the cloud keeps no tags on is created again at once, which is safe
//! because its create is an upsert (AWS scaling policies).

use super::prepare::same_configured;
use crate::model::{Owner, TAG_ADDRESS};
use crate::plan::comparable_tags;
use crate::provider::window::{Look, look_for_made};
use crate::provider::{CreateRequest, LiveResource, Provider, ProviderError, UpdateRequest};
use std::collections::BTreeSet;
use tokio::time::Instant;

/// Where and until when to look for the object of an ambiguous create.
#[derive(Debug, Clone)]
pub(crate) struct Search {
    /// The environment's ownership tags, which the object carries.
    pub owner: Owner,
    /// The address tag the object carries.
    pub address: String,
    /// Ids that are not the object looked for, whatever tags they carry.
    pub known: BTreeSet<String>,
    /// Until when a new object may still be missing from reads.
    pub deadline: Instant,
}

/// Looks for the object `request` may have made, reading again with growing waits until it
/// shows up or a read that began after `search.deadline` did not find it. Several candidates mean an
/// earlier duplicate: the first by id is taken, and the next plan deletes the others.
///
/// # Errors
/// A read that fails; the caller tries the whole step again.
pub(crate) async fn look_for(
    provider: &dyn Provider,
    request: &CreateRequest,
    search: &Search,
) -> Result<Option<LiveResource>, ProviderError> {
    let look = Look {
        region: &request.region,
        kind: request.kind,
        owner: &search.owner,
        deadline: search.deadline,
    };
    look_for_made(provider, &look, |live| {
        live.tags.get(TAG_ADDRESS) == Some(&search.address) && !search.known.contains(&live.id)
    })
    .await
}

/// Adopts `found`, the object of an ambiguous create, bringing it in line with `request`: an
/// answer lost between the calls of a create (a group made but its rules not yet authorized)
/// leaves an object that is ours but not finished.
///
/// An object that differs where only a replacement could change it (a gateway created but
/// never attached) is deleted and the create sent again: it appeared after the plan's refresh,
/// so it is the lost call's own, new and unused, and replacing it now spares the user a plan
/// that is not empty after a successful apply.
///
/// # Errors
/// The update's, delete's or create's failure; the caller tries the whole step again,
/// looking first.
pub(crate) async fn adopt(
    provider: &dyn Provider,
    request: &CreateRequest,
    found: LiveResource,
) -> Result<LiveResource, ProviderError> {
    let kind = request.kind;
    let tags_match = !kind.takes_tags() || comparable_tags(&found.tags) == request.tags;
    if tags_match && same_configured(kind, &found.attributes, &request.attributes) {
        return Ok(found);
    }
    let replaced = kind.replace_attributes().iter().any(|name| {
        !kind.same_value(
            name,
            found.attributes.get(*name),
            request.attributes.get(*name),
        )
    });
    if replaced {
        match provider.delete(&request.region, kind, &found.id).await {
            Ok(()) | Err(ProviderError::NotFound { .. }) => {}
            Err(error) => return Err(error),
        }
        return provider.create(request).await;
    }
    provider
        .update(&UpdateRequest {
            kind,
            region: request.region.clone(),
            id: found.id.clone(),
            before: found.attributes,
            after: request.attributes.clone(),
            tags: request.tags.clone(),
            // Derived from the create's token, so a retried adoption is the same update.
            token: format!("{}-adopt", request.token),
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attributes, Kind};
    use crate::provider::CallCount;
    use async_trait::async_trait;
    use std::sync::Mutex;
    use std::time::Duration;

    /// A cloud whose object shows up in reads only from the `visible_from`-th read on, and
    /// that records the updates it gets.
    struct Lagging {
        object: LiveResource,
        visible_from: u32,
        reads: Mutex<u32>,
        updates: Mutex<Vec<UpdateRequest>>,
        /// Every delete and create it got, in order (`delete sg-1`, `create`).
        changes: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl crate::provider::CoreProvider for Lagging {
        fn name(&self) -> &'static str {
            "lagging"
        }
        async fn read(
            &self,
            _region: &str,
            _kind: Kind,
            _owner: &Owner,
        ) -> Result<Vec<LiveResource>, ProviderError> {
            let mut reads = self.reads.lock().unwrap_or_else(|error| error.into_inner());
            *reads += 1;
            Ok(if *reads >= self.visible_from {
                vec![self.object.clone()]
            } else {
                Vec::new()
            })
        }
        async fn create(&self, request: &CreateRequest) -> Result<LiveResource, ProviderError> {
            self.changes
                .lock()
                .unwrap_or_else(|error| error.into_inner())
                .push("create".into());
            let mut made = self.object.clone();
            made.id = "sg-new".into();
            made.attributes.extend(request.attributes.clone());
            Ok(made)
        }
        async fn update(&self, request: &UpdateRequest) -> Result<LiveResource, ProviderError> {
            self.updates
                .lock()
                .unwrap_or_else(|error| error.into_inner())
                .push(request.clone());
            let mut updated = self.object.clone();
            updated.attributes.extend(request.after.clone());
            Ok(updated)
        }
        async fn delete(&self, _region: &str, _kind: Kind, id: &str) -> Result<(), ProviderError> {
            self.changes
                .lock()
                .unwrap_or_else(|error| error.into_inner())
                .push(format!("delete {id}"));
            Ok(())
        }
        async fn import(
            &self,
            _region: &str,
            _kind: Kind,
            _id: &str,
        ) -> Result<LiveResource, ProviderError> {
            Ok(self.object.clone())
        }
        fn calls(&self) -> CallCount {
            CallCount::default()
        }
    }

    const ADDRESS: &str = "firewall.web[us-east-1]";

    fn owner() -> Owner {
        Owner {
            stack: "shop".into(),
            env: "staging".into(),
        }
    }

    fn request(ingress: serde_json::Value) -> CreateRequest {
        CreateRequest {
            kind: Kind::SecurityGroup,
            region: "us-east-1".into(),
            attributes: Attributes::from([
                ("name".to_string(), "web".into()),
                ("description".to_string(), "web".into()),
                ("network_id".to_string(), "vpc-1".into()),
                ("ingress".to_string(), ingress),
                ("egress".to_string(), serde_json::json!([])),
            ]),
            tags: owner().tags_for(&crate::model::Address::new(ADDRESS)),
            token: "cairn-1".into(),
        }
    }

    fn cloud(visible_from: u32, id: &str, ingress: serde_json::Value) -> Lagging {
        let mut attributes = request(ingress).attributes;
        attributes.insert("id".to_string(), id.into());
        Lagging {
            object: LiveResource {
                kind: Kind::SecurityGroup,
                region: "us-east-1".into(),
                id: id.into(),
                attributes,
                tags: owner().tags_for(&crate::model::Address::new(ADDRESS)),
            },
            visible_from,
            reads: Mutex::new(0),
            updates: Mutex::new(Vec::new()),
            changes: Mutex::new(Vec::new()),
        }
    }

    fn search(window: Duration, known: &[&str]) -> Search {
        Search {
            owner: owner(),
            address: ADDRESS.into(),
            known: known.iter().map(|id| id.to_string()).collect(),
            deadline: Instant::now() + window,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_object_that_shows_up_within_the_window_is_found() {
        let cloud = cloud(4, "sg-1", serde_json::json!([]));
        let started = Instant::now();
        let found = look_for(
            &cloud,
            &request(serde_json::json!([])),
            &search(Duration::from_secs(30), &[]),
        )
        .await;
        assert_eq!(
            found.ok().flatten().map(|live| live.id),
            Some("sg-1".into())
        );
        // Three misses: waits of 0.25, 0.5 and 1 s on the paused clock.
        assert_eq!(started.elapsed(), Duration::from_millis(1750));
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_is_found_once_the_window_has_passed_and_known_ids_never_count() {
        let late = cloud(100, "sg-1", serde_json::json!([]));
        let started = Instant::now();
        let found = look_for(
            &late,
            &request(serde_json::json!([])),
            &search(Duration::from_secs(3), &[]),
        )
        .await;
        assert_eq!(found, Ok(None));
        // The last wait is cut to end at the deadline.
        assert_eq!(started.elapsed(), Duration::from_secs(3));

        let old = cloud(1, "sg-old", serde_json::json!([]));
        let found = look_for(
            &old,
            &request(serde_json::json!([])),
            &search(Duration::ZERO, &["sg-old"]),
        )
        .await;
        assert_eq!(found, Ok(None));
    }

    #[tokio::test]
    async fn an_unfinished_object_is_updated_to_the_request_and_a_finished_one_is_not() {
        let rule = serde_json::json!([
            {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr": "0.0.0.0/0"}
        ]);
        let unfinished = cloud(1, "sg-1", serde_json::json!([]));
        let adopted = adopt(
            &unfinished,
            &request(rule.clone()),
            unfinished.object.clone(),
        )
        .await;
        assert_eq!(
            adopted
                .ok()
                .and_then(|live| live.attributes.get("ingress").cloned()),
            Some(rule.clone())
        );
        let updates = unfinished
            .updates
            .lock()
            .unwrap_or_else(|error| error.into_inner())
            .clone();
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].id, "sg-1");
        assert_eq!(updates[0].token, "cairn-1-adopt");

        let finished = cloud(1, "sg-2", rule.clone());
        let adopted = adopt(&finished, &request(rule), finished.object.clone()).await;
        assert_eq!(adopted.map(|live| live.id), Ok("sg-2".to_string()));
        assert!(
            finished
                .updates
                .lock()
                .unwrap_or_else(|error| error.into_inner())
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_half_made_object_only_a_replacement_could_finish_is_deleted_and_made_again() {
        // Made in another network than the request's: no update can move it.
        let mut half = cloud(1, "sg-1", serde_json::json!([]));
        half.object
            .attributes
            .insert("network_id".to_string(), "vpc-other".into());
        let adopted = adopt(&half, &request(serde_json::json!([])), half.object.clone()).await;
        assert_eq!(adopted.map(|live| live.id), Ok("sg-new".to_string()));
        let changes = half
            .changes
            .lock()
            .unwrap_or_else(|error| error.into_inner())
            .clone();
        assert_eq!(
            changes,
            vec!["delete sg-1".to_string(), "create".to_string()]
        );
    }
}

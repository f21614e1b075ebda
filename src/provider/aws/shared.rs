//! The listings the reads of one read session share (see [`crate::provider::ReadSession`]):
//! the owned load balancers of a region, which the `load_balancer` read returns and the
//! `listener` read lists listeners under (ELB lists listeners per balancer only); the owned
//! autoscaling groups, which the `autoscaling_group` read returns and the `scaling_policy`
//! read takes the policies' ownership from (policies carry no tags); and the owned hosted
//! zones, which the `dns_zone` read returns and the `dns_record` read lists records in
//! (Route 53 lists records per zone only).
//!
//! Promises:
//! - While a session is open, each listing (per region and owner) is made once, however the
//!   reads that need it interleave: the first makes it, the others wait for its result.
//! - Opening a session forgets every listing made before, and the last session to close forgets
//!   them too: no read sees a listing older than its session, and a read outside any session
//!   always lists.
//! - A failed listing is not kept: the next read that needs it (a retry) lists again.

use crate::model::{Owner, Tags};
use aws_sdk_autoscaling::types::AutoScalingGroup;
use aws_sdk_elasticloadbalancingv2::types::LoadBalancer;
use aws_sdk_route53::types::HostedZone;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::OnceCell;

/// The application load balancers an owner owns in a region: ARN, description, tags.
pub(crate) type Balancers = Vec<(String, LoadBalancer, Tags)>;
/// The autoscaling groups an owner owns in a region.
pub(crate) type Groups = Vec<AutoScalingGroup>;
/// The hosted zones an owner owns, with the ownership tags their comments record.
pub(crate) type Zones = Vec<(HostedZone, Tags)>;

/// One listing per key, made at most once while it is kept.
type Listings<K, V> = BTreeMap<K, Arc<OnceCell<V>>>;

#[derive(Debug, Default)]
struct State {
    /// Sessions open now.
    open: usize,
    /// By region and owner.
    balancers: Listings<(String, Owner), Balancers>,
    /// By region and owner.
    groups: Listings<(String, Owner), Groups>,
    /// By owner (Route 53 is global).
    zones: Listings<Owner, Zones>,
}

impl State {
    fn forget(&mut self) {
        self.balancers.clear();
        self.groups.clear();
        self.zones.clear();
    }
}

/// The provider's shared listings, for every region.
#[derive(Debug, Default)]
pub(crate) struct SharedListings {
    state: Mutex<State>,
}

impl SharedListings {
    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a thread panicked between two plain updates of the maps;
        // they are still valid.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Opens a session: listings are kept from now until the last open session closes.
    pub fn open(&self) {
        let mut state = self.state();
        state.open += 1;
        state.forget();
    }

    /// Closes a session opened with [`SharedListings::open`].
    pub fn close(&self) {
        let mut state = self.state();
        state.open = state.open.saturating_sub(1);
        if state.open == 0 {
            state.forget();
        }
    }

    /// The owned balancers of `region`: those listed in this session, or `list`'s (always
    /// `list`'s without an owner: a read of one id is never shared).
    pub async fn balancers<E, Fut>(
        &self,
        region: &str,
        owner: Option<&Owner>,
        list: impl FnOnce() -> Fut,
    ) -> Result<Balancers, E>
    where
        Fut: Future<Output = Result<Balancers, E>>,
    {
        let key = owner.map(|owner| (region.to_string(), owner.clone()));
        self.kept_or(|state| &mut state.balancers, key, list).await
    }

    /// The owned autoscaling groups of `region`: those listed in this session, or `list`'s
    /// (always `list`'s without an owner).
    pub async fn groups<E, Fut>(
        &self,
        region: &str,
        owner: Option<&Owner>,
        list: impl FnOnce() -> Fut,
    ) -> Result<Groups, E>
    where
        Fut: Future<Output = Result<Groups, E>>,
    {
        let key = owner.map(|owner| (region.to_string(), owner.clone()));
        self.kept_or(|state| &mut state.groups, key, list).await
    }

    /// The owned hosted zones: those listed in this session, or `list`'s (always `list`'s
    /// without an owner).
    pub async fn zones<E, Fut>(
        &self,
        owner: Option<&Owner>,
        list: impl FnOnce() -> Fut,
    ) -> Result<Zones, E>
    where
        Fut: Future<Output = Result<Zones, E>>,
    {
        self.kept_or(|state| &mut state.zones, owner.cloned(), list)
            .await
    }

    /// The listing of `key` among those `listings` picks: kept from earlier in the session
    /// (or made by `list` and kept), or made by `list` alone outside a session or without a
    /// key. A failure leaves nothing kept, for the next read to list again.
    async fn kept_or<K: Ord, V: Clone, E, Fut>(
        &self,
        listings: impl FnOnce(&mut State) -> &mut Listings<K, V>,
        key: Option<K>,
        list: impl FnOnce() -> Fut,
    ) -> Result<V, E>
    where
        Fut: Future<Output = Result<V, E>>,
    {
        let cell = {
            let mut state = self.state();
            key.filter(|_| state.open > 0)
                .map(|key| Arc::clone(listings(&mut state).entry(key).or_default()))
        };
        match cell {
            Some(cell) => cell.get_or_try_init(list).await.cloned(),
            None => list().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn owner() -> Owner {
        Owner {
            stack: "shop".to_string(),
            env: "staging".to_string(),
        }
    }

    /// Lists no zones, counting the listings made.
    async fn list(listed: &AtomicUsize) -> Result<Zones, String> {
        listed.fetch_add(1, Ordering::Relaxed);
        tokio::task::yield_now().await;
        Ok(Vec::new())
    }

    #[tokio::test]
    async fn reads_of_one_session_share_one_listing_even_at_once() {
        let shared = SharedListings::default();
        let listed = AtomicUsize::new(0);
        let owner = owner();
        shared.open();
        let (first, second) = tokio::join!(
            shared.zones(Some(&owner), || list(&listed)),
            shared.zones(Some(&owner), || list(&listed)),
        );
        assert_eq!((first, second), (Ok(Vec::new()), Ok(Vec::new())));
        shared.zones(Some(&owner), || list(&listed)).await.unwrap();
        assert_eq!(listed.load(Ordering::Relaxed), 1);
        shared.close();
    }

    #[tokio::test]
    async fn every_session_and_every_read_outside_one_lists_afresh() {
        let shared = SharedListings::default();
        let listed = AtomicUsize::new(0);
        shared.open();
        shared
            .zones(Some(&owner()), || list(&listed))
            .await
            .unwrap();
        shared.close();
        shared
            .zones(Some(&owner()), || list(&listed))
            .await
            .unwrap();
        shared
            .zones(Some(&owner()), || list(&listed))
            .await
            .unwrap();
        shared.open();
        shared
            .zones(Some(&owner()), || list(&listed))
            .await
            .unwrap();
        assert_eq!(listed.load(Ordering::Relaxed), 4);
        // A session opened while another is open lists afresh too.
        shared.open();
        shared
            .zones(Some(&owner()), || list(&listed))
            .await
            .unwrap();
        shared.close();
        shared
            .zones(Some(&owner()), || list(&listed))
            .await
            .unwrap();
        assert_eq!(listed.load(Ordering::Relaxed), 5);
        shared.close();
    }

    #[tokio::test]
    async fn listings_are_kept_per_region_and_owner() {
        let shared = SharedListings::default();
        let listed = AtomicUsize::new(0);
        let balancers = || async {
            listed.fetch_add(1, Ordering::Relaxed);
            Ok::<Balancers, String>(Vec::new())
        };
        let other = Owner {
            env: "production".to_string(),
            ..owner()
        };
        shared.open();
        for (region, owner) in [
            ("us-east-1", owner()),
            ("us-west-2", owner()),
            ("us-east-1", other.clone()),
            ("us-east-1", owner()),
            ("us-west-2", owner()),
            ("us-east-1", other),
        ] {
            shared
                .balancers(region, Some(&owner), balancers)
                .await
                .unwrap();
        }
        assert_eq!(listed.load(Ordering::Relaxed), 3);
        shared.close();
    }

    #[tokio::test]
    async fn a_read_without_an_owner_lists_afresh_even_in_a_session() {
        let shared = SharedListings::default();
        let listed = AtomicUsize::new(0);
        shared.open();
        shared
            .zones(Some(&owner()), || list(&listed))
            .await
            .unwrap();
        shared.zones(None, || list(&listed)).await.unwrap();
        shared.zones(None, || list(&listed)).await.unwrap();
        shared
            .zones(Some(&owner()), || list(&listed))
            .await
            .unwrap();
        assert_eq!(listed.load(Ordering::Relaxed), 3);
        shared.close();
    }

    #[tokio::test]
    async fn a_failed_listing_is_made_again_by_the_next_read() {
        let shared = SharedListings::default();
        let listed = AtomicUsize::new(0);
        shared.open();
        let failing = shared
            .zones(Some(&owner()), || async {
                listed.fetch_add(1, Ordering::Relaxed);
                Err::<Zones, String>("throttled".to_string())
            })
            .await;
        assert_eq!(failing, Err("throttled".to_string()));
        shared
            .zones(Some(&owner()), || list(&listed))
            .await
            .unwrap();
        shared
            .zones(Some(&owner()), || list(&listed))
            .await
            .unwrap();
        assert_eq!(listed.load(Ordering::Relaxed), 2);
        shared.close();
    }
}

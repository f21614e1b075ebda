//! The steps ready to start (every step they wait on completed), and which to start next.
//!
//! On a cloud that is not rate limited, the first in the plan's order. On a rate-limited one
//! the calls are spread over the cloud's API buckets: a bucket (in one region) gets
//! [`queue_bound`] calls in flight at most, so that a step released by another does not queue
//! behind a bucket's worth of calls that could have waited; and a free slot goes to the bucket
//! with the fewest calls in flight, so that one bucket's steps cannot hold every slot while
//! another bucket, with steps ready, stands idle and its refill is lost. (The issue 14
//! benchmark's apply once spent 15 seconds of the cloud's clock on the Auto Scaling bucket
//! alone: its steps, first in the plan's order, held all ten slots and hid the EC2 steps past
//! the first 256 ready, so EC2's mutating bucket filled up and its refill was lost.)
//!
//! Promise: each pick costs in proportion to the number of buckets and the calls in flight,
//! not to the number of steps ready.

use crate::model::Operation;
use crate::plan::Step;
use crate::provider::rate_limits::{Bucket, Call};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// With a rate-limited cloud, how many calls drawing on `bucket` (in one region) the executor
/// has in flight at once. Enough to keep the bucket busy while calls take half a second to
/// answer; more would only queue in the pacer, where a step on the critical path (the next of
/// a chain of firewalls) that becomes ready waits behind every call queued before it, however
/// little hurry they are in.
pub(crate) fn queue_bound(bucket: Bucket) -> usize {
    usize::try_from(bucket.limit().per_second / 2)
        .unwrap_or(usize::MAX)
        .max(2)
}

/// The bucket a step's call draws on, and where.
pub(crate) fn bucket_of(step: &Step) -> (&str, Bucket) {
    let create = step.operation == Operation::Create;
    let bucket = Bucket::of(step.kind, Call::of(step.kind, true, create));
    (bucket.scope(&step.region), bucket)
}

/// The ready steps, by index (the plan's order) within each queue.
pub(crate) enum Ready {
    /// One queue: the cloud is not rate limited.
    InOrder(BTreeSet<usize>),
    /// A queue per region and bucket.
    PerBucket(BTreeMap<(String, Bucket), BTreeSet<usize>>),
}

impl Ready {
    pub(crate) fn new(paced: bool) -> Ready {
        if paced {
            Ready::PerBucket(BTreeMap::new())
        } else {
            Ready::InOrder(BTreeSet::new())
        }
    }

    pub(crate) fn insert(&mut self, index: usize, step: &Step) {
        match self {
            Ready::InOrder(steps) => {
                steps.insert(index);
            }
            Ready::PerBucket(queues) => {
                let (region, bucket) = bucket_of(step);
                queues
                    .entry((region.to_string(), bucket))
                    .or_default()
                    .insert(index);
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Ready::InOrder(steps) => steps.is_empty(),
            Ready::PerBucket(queues) => queues.is_empty(),
        }
    }

    /// Takes the step to start next, `running` being the steps in flight: the first; on a
    /// rate-limited cloud, the first of the bucket with the fewest calls in flight among those
    /// under their [`queue_bound`] (the one whose first step comes first, of equals). `None`
    /// when no step can start now.
    pub(crate) fn take_next<'a>(
        &mut self,
        running: impl IntoIterator<Item = &'a Step>,
    ) -> Option<usize> {
        let queues = match self {
            Ready::InOrder(steps) => return steps.pop_first(),
            Ready::PerBucket(queues) => queues,
        };
        let mut in_flight: HashMap<(&str, Bucket), usize> = HashMap::new();
        for step in running {
            *in_flight.entry(bucket_of(step)).or_default() += 1;
        }
        let (key, _) = queues
            .iter()
            .filter_map(|((region, bucket), steps)| {
                let calls = in_flight
                    .get(&(region.as_str(), *bucket))
                    .copied()
                    .unwrap_or(0);
                let first = steps.first()?;
                (calls < queue_bound(*bucket)).then_some(((region, *bucket), (calls, *first)))
            })
            .min_by_key(|&(_, order)| order)?;
        let key = (key.0.clone(), key.1);
        let steps = queues.get_mut(&key)?;
        let next = steps.pop_first();
        if steps.is_empty() {
            queues.remove(&key);
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, Kind, Lifecycle, Tags};

    fn step(index: usize, kind: Kind) -> Step {
        Step {
            index,
            address: Address::new(format!("x.s{index}")),
            kind,
            region: "us-east-1".into(),
            operation: Operation::Create,
            id: None,
            before: None,
            after: None,
            tags: Tags::new(),
            deposed: false,
            after_steps: Vec::new(),
            dependencies: BTreeSet::new(),
            lifecycle: Lifecycle::default(),
            sensitive: BTreeSet::new(),
            resumes: None,
        }
    }

    /// Starts steps from `ready` until none can start, none finishing meanwhile: their kinds.
    fn start_all(ready: &mut Ready, steps: &[Step]) -> Vec<Kind> {
        let mut running: Vec<usize> = Vec::new();
        while let Some(index) = ready.take_next(running.iter().map(|&index| &steps[index])) {
            running.push(index);
        }
        running.iter().map(|&index| steps[index].kind).collect()
    }

    #[test]
    fn unpaced_steps_start_in_the_plan_order() {
        let steps = [step(0, Kind::Volume), step(1, Kind::Volume)];
        let mut ready = Ready::new(false);
        ready.insert(1, &steps[1]);
        ready.insert(0, &steps[0]);
        assert_eq!(ready.take_next(&steps), Some(0));
        assert_eq!(ready.take_next([]), Some(1));
        assert!(ready.is_empty());
    }

    /// Regression (issue 14): the Auto Scaling steps, first in the plan's order, held every
    /// slot while EC2's mutating bucket, with steps ready past the first 256, stood idle.
    #[test]
    fn every_bucket_with_steps_ready_gets_calls_in_flight_up_to_its_bound() {
        let mut steps: Vec<Step> = (0..300)
            .map(|index| step(index, Kind::AutoscalingGroup))
            .collect();
        steps.extend((300..303).map(|index| step(index, Kind::Volume)));
        let mut ready = Ready::new(true);
        for (index, step) in steps.iter().enumerate() {
            ready.insert(index, step);
        }
        // A free slot goes to the bucket with the fewest calls in flight: both buckets'
        // first steps, then turns, until EC2's mutating bucket is at its bound of two and
        // Auto Scaling's (10 a second) at its bound of five.
        use Kind::{AutoscalingGroup as Scaling, Volume};
        assert_eq!(
            start_all(&mut ready, &steps),
            [Scaling, Volume, Scaling, Volume, Scaling, Scaling, Scaling]
        );
        assert!(!ready.is_empty());
    }
}

//! What every kind module works with: the clients of one region, the call counter, and
//! which resources a describe should return.

use super::consistency::until_visible;
use super::error::{CallError, missing_id};
use crate::model::{Attributes, Kind, Owner, Tags, Value};
use crate::provider::{CallCount, LiveResource, ProviderError};
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// API calls made through one provider, shared by all its regions.
#[derive(Debug, Default)]
pub(crate) struct CallCounter {
    reads: AtomicU64,
    mutations: AtomicU64,
}

impl CallCounter {
    pub fn snapshot(&self) -> CallCount {
        CallCount {
            reads: self.reads.load(Ordering::Relaxed),
            mutations: self.mutations.load(Ordering::Relaxed),
        }
    }
}

/// The SDK clients of one region and the provider's call counter. The global pseudo-region's
/// context (DNS) uses only `route53`, which answers for every region.
#[derive(Debug, Clone)]
pub(crate) struct RegionContext {
    pub region: String,
    pub ec2: aws_sdk_ec2::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub route53: aws_sdk_route53::Client,
    pub counter: Arc<CallCounter>,
    /// The listings reads share inside a read session, for every region.
    pub shared: Arc<super::shared::SharedListings>,
    /// Set by the first call that changes something and succeeds; see
    /// [`RegionContext::for_one_operation`].
    pub changed: Arc<AtomicBool>,
    /// The page size asked for in [`super::AwsSettings::page_size`].
    pub page_size: Option<i32>,
}

impl RegionContext {
    /// This context for one provider operation, with a `changed` flag of its own: a create
    /// of several calls (create, then authorize rules, then read back) tells by it whether
    /// its object exists when a later call fails.
    pub fn for_one_operation(&self) -> RegionContext {
        RegionContext {
            changed: Arc::new(AtomicBool::new(false)),
            ..self.clone()
        }
    }

    /// Whether a call that changes something succeeded through this context.
    pub fn changed_something(&self) -> bool {
        self.changed.load(Ordering::Relaxed)
    }

    /// Items per page of a Describe call whose own maximum is `maximum`.
    pub fn page(&self, maximum: i32) -> i32 {
        self.page_size.map_or(maximum, |size| size.min(maximum))
    }

    /// Sends one read-only call (Describe*), counting it.
    pub async fn read<T, E>(
        &self,
        call: impl Future<Output = Result<T, SdkError<E>>>,
    ) -> Result<T, CallError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.counter.reads.fetch_add(1, Ordering::Relaxed);
        call.await.map_err(CallError::from_sdk)
    }

    /// Sends one call that changes something, counting it. A failure that may hide its
    /// effect is [`ErrorClass::Ambiguous`](super::error::ErrorClass).
    pub async fn mutate<T, E>(
        &self,
        call: impl Future<Output = Result<T, SdkError<E>>>,
    ) -> Result<T, CallError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.counter.mutations.fetch_add(1, Ordering::Relaxed);
        let result = call
            .await
            .map_err(|error| CallError::from_sdk(error).of_mutation());
        if result.is_ok() {
            self.changed.store(true, Ordering::Relaxed);
        }
        result
    }

    /// Sends a call that changes `id`, a resource of `kind`: a missing id is
    /// [`ProviderError::NotFound`] for it.
    pub async fn mutate_on<T, E>(
        &self,
        kind: Kind,
        id: &str,
        call: impl Future<Output = Result<T, SdkError<E>>>,
    ) -> Result<T, ProviderError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.mutate(call)
            .await
            .map_err(|error| error.about(kind, &self.region, id))
    }

    /// Sends a call that changes something, trying it again while it names an id that is not
    /// visible yet (see [`until_visible`]); `send` makes the call anew for every try. A failure
    /// names no resource.
    pub async fn mutate_visible<T, E, Fut>(
        &self,
        mut send: impl FnMut() -> Fut,
    ) -> Result<T, ProviderError>
    where
        Fut: Future<Output = Result<T, SdkError<E>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        until_visible(|| self.mutate(send()))
            .await
            .map_err(|error| error.general())
    }

    /// Sends a create as [`RegionContext::mutate_visible`] does and answers the id of what it
    /// made, which `id_of` finds in the answer; an answer without one is [`missing_id`] of
    /// `operation`.
    pub async fn create<T, E, Fut>(
        &self,
        operation: &str,
        send: impl FnMut() -> Fut,
        id_of: impl FnOnce(&T) -> Option<&str>,
    ) -> Result<String, ProviderError>
    where
        Fut: Future<Output = Result<T, SdkError<E>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let output = self.mutate_visible(send).await?;
        id_of(&output)
            .map(str::to_string)
            .ok_or_else(|| missing_id(operation))
    }

    /// Deletes `id`, a resource of `kind`, with `call`: a missing id is
    /// [`ProviderError::NotFound`] for it.
    pub async fn delete<T, E>(
        &self,
        kind: Kind,
        id: &str,
        call: impl Future<Output = Result<T, SdkError<E>>>,
    ) -> Result<(), ProviderError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.mutate(call)
            .await
            .map_err(|error| error.about(kind, &self.region, id))?;
        Ok(())
    }

    /// Sends a paginated read until the last page: `send` makes the call for a page token,
    /// `next` extracts the following page's token. Every page is one counted call.
    pub async fn read_pages<P, E, Fut>(
        &self,
        mut send: impl FnMut(Option<String>) -> Fut,
        next: impl Fn(&P) -> Option<&str>,
    ) -> Result<Vec<P>, CallError>
    where
        Fut: Future<Output = Result<P, SdkError<E>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let mut pages = Vec::new();
        let mut token = None;
        loop {
            let page = self.read(send(token.take())).await?;
            token = next(&page)
                .filter(|token| !token.is_empty())
                .map(str::to_string);
            pages.push(page);
            if token.is_none() {
                return Ok(pages);
            }
        }
    }

    /// A resource as read, with `id` among its attributes as the contract has it.
    pub fn live(
        &self,
        kind: Kind,
        id: &str,
        mut attributes: Attributes,
        tags: Tags,
    ) -> LiveResource {
        attributes.insert("id".to_string(), Value::from(id));
        LiveResource {
            kind,
            region: self.region.clone(),
            id: id.to_string(),
            attributes,
            tags,
        }
    }
}

/// Reads every page of an EC2 Describe call, counting each page, and turns a failure into the
/// engine's error. Every EC2 kind reads the same way; only the operation, its fixed
/// parameters and its id parameter differ, and the SDK gives each operation a request type of
/// its own with no trait in common, hence a macro rather than a function. Two forms:
///
/// - `describe_pages!(context, kind, selector, request, id_method, page_size)`: the resources
///   a [`Selector`] picks — with `Owner`, those carrying the owner's tags, `page_size` a page
///   (the operation's own maximum, or the provider's smaller page size); with `Id`, the one
///   resource, through `id_method`.
///   `request` is the call with its fixed parameters (`context.ec2.describe_vpcs()`).
/// - `describe_pages!(context, request, filter: name, values, page_size)`: the resources an
///   EC2 filter selects (`group-id` in a list of ids), for reads that follow a batched one.
/// - `describe_pages!(context, request, every: page_size)`: every resource of the region,
///   owned or not (`cairn discover`).
///
/// Returns `Result<Vec<Page>, ProviderError>`.
macro_rules! describe_pages {
    ($context:expr, $kind:expr, $selector:expr, $request:expr, $id_method:ident, $page_size:expr) => {{
        let context: &$crate::provider::aws::context::RegionContext = $context;
        let selector: $crate::provider::aws::context::Selector<'_> = $selector;
        context
            .read_pages(
                |token| {
                    let request = $request.set_next_token(token);
                    match selector {
                        $crate::provider::aws::context::Selector::Owner(owner) => {
                            $crate::provider::aws::tags::owner_filters(owner)
                                .into_iter()
                                .fold(request, |request, filter| request.filters(filter))
                                .max_results(context.page($page_size))
                        }
                        $crate::provider::aws::context::Selector::Id(id) => request.$id_method(id),
                        $crate::provider::aws::context::Selector::All => {
                            request.max_results(context.page($page_size))
                        }
                    }
                    .send()
                },
                |page| page.next_token(),
            )
            .await
            .map_err(|error| selector.error($kind, &context.region, error))
    }};
    ($context:expr, $request:expr, filter: $name:expr, $values:expr, $page_size:expr) => {{
        let context: &$crate::provider::aws::context::RegionContext = $context;
        context
            .read_pages(
                |token| {
                    $request
                        .filters($crate::provider::aws::tags::filter($name, $values))
                        .max_results(context.page($page_size))
                        .set_next_token(token)
                        .send()
                },
                |page| page.next_token(),
            )
            .await
            .map_err(|error| error.general())
    }};
    ($context:expr, $request:expr, every: $page_size:expr) => {{
        let context: &$crate::provider::aws::context::RegionContext = $context;
        context
            .read_pages(
                |token| {
                    $request
                        .max_results(context.page($page_size))
                        .set_next_token(token)
                        .send()
                },
                |page| page.next_token(),
            )
            .await
            .map_err(|error| error.general())
    }};
}
pub(crate) use describe_pages;

/// Which resources a describe returns: every one an owner's tags select (refresh), the one
/// with a given id (import, and reading back after a create or update), or every one of the
/// region, owned or not (`cairn discover`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Selector<'a> {
    Owner(&'a Owner),
    Id(&'a str),
    All,
}

impl<'a> Selector<'a> {
    /// The owner whose resources are picked, or `None` for one id or every resource (never
    /// shared, never filtered by ownership).
    pub fn owner(self) -> Option<&'a Owner> {
        match self {
            Selector::Owner(owner) => Some(owner),
            Selector::Id(_) | Selector::All => None,
        }
    }

    /// Turns a describe call's failure into the engine's error: describing a missing id is
    /// `NotFound` for that id; a failed batched read names no resource.
    pub fn error(&self, kind: Kind, region: &str, error: CallError) -> ProviderError {
        match self {
            Selector::Owner(_) | Selector::All => error.general(),
            Selector::Id(id) => error.about(kind, region, id),
        }
    }
}

/// Reads `ids` `per_call` at a time with `read`, which makes one call for a batch. A batch call
/// fails as a whole (`...NotFound`, `NoSuch...`) when one of its ids was deleted since it was
/// listed (someone else's delete, or a concurrent run's): that batch is then read one id at a
/// time, and a deleted one left out.
pub(super) async fn read_batches<T, Fut>(
    ids: &[String],
    per_call: usize,
    read: impl Fn(Vec<String>) -> Fut,
) -> Result<Vec<T>, CallError>
where
    Fut: Future<Output = Result<Vec<T>, CallError>>,
{
    let mut found = Vec::new();
    for batch in ids.chunks(per_call) {
        match read(batch.to_vec()).await {
            Err(failure) if failure.is_not_found() && batch.len() > 1 => {
                for id in batch {
                    match read(vec![id.clone()]).await {
                        Err(failure) if failure.is_not_found() => {}
                        one => found.extend(one?),
                    }
                }
            }
            Err(failure) if failure.is_not_found() => {}
            read => found.extend(read?),
        }
    }
    Ok(found)
}

#[cfg(test)]
mod batch_tests {
    use super::{CallError, read_batches};

    /// A batch read over `existing`: a batch naming any other id fails as AWS's does.
    async fn read(existing: &[&str], batch: Vec<String>) -> Result<Vec<String>, CallError> {
        match batch.iter().find(|id| !existing.contains(&id.as_str())) {
            Some(gone) => Err(CallError::from_code(
                "NoSuchHostedZone",
                &format!("No hosted zone found with ID: {gone}"),
                Some(404),
            )),
            None => Ok(batch),
        }
    }

    fn ids(count: usize) -> Vec<String> {
        (0..count).map(|index| format!("id-{index}")).collect()
    }

    #[tokio::test]
    async fn an_id_deleted_since_it_was_listed_is_left_out_and_the_rest_of_its_batch_read() {
        let listed = ids(25);
        let existing: Vec<&str> = listed
            .iter()
            .map(String::as_str)
            .filter(|id| *id != "id-12")
            .collect();
        let found = read_batches(&listed, 10, |batch| read(&existing, batch))
            .await
            .unwrap();
        assert_eq!(found, existing);
    }

    #[tokio::test]
    async fn another_failure_is_the_read_s_failure() {
        let failed = read_batches(&ids(3), 10, |_| async {
            Err::<Vec<String>, _>(CallError::from_code("AccessDenied", "no", Some(403)))
        })
        .await;
        assert!(failed.is_err());
    }
}

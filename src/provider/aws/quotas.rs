//! The account quotas of a region that EC2 exposes without Service Quotas, for `cairn dr
//! check`: `max-instances` from DescribeAccountAttributes, with the instances running or
//! starting there now as its usage. The VPC quota is only in Service Quotas, which Cairn does
//! not call (one more SDK crate for one number), so it is not reported.

use super::context::RegionContext;
use super::instance;
use crate::provider::{ProviderError, Quota, QuotaName};

/// The account attribute of the instance quota.
const MAX_INSTANCES: &str = "max-instances";

/// The quotas of `context`'s region with their usage.
///
/// # Errors
/// The region cannot be asked.
pub(super) async fn describe(context: &RegionContext) -> Result<Vec<Quota>, ProviderError> {
    let answer = context
        .read(context.ec2.describe_account_attributes().send())
        .await
        .map_err(|error| error.general())?;
    let limit = answer
        .account_attributes()
        .iter()
        .filter(|attribute| attribute.attribute_name() == Some(MAX_INSTANCES))
        .flat_map(|attribute| attribute.attribute_values())
        .find_map(|value| value.attribute_value()?.parse::<u64>().ok());
    let Some(limit) = limit else {
        return Ok(Vec::new());
    };
    // `max-instances` counts what runs or starts; stopped instances do not count.
    let running = instance::all(context)
        .await?
        .iter()
        .filter(|live| {
            matches!(
                live.attributes
                    .get("state")
                    .and_then(|state| state.as_str()),
                Some("pending" | "running")
            )
        })
        .count();
    Ok(vec![Quota {
        name: QuotaName::RunningInstances,
        limit,
        usage: u64::try_from(running).unwrap_or(u64::MAX),
    }])
}

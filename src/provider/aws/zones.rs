//! The availability zones of a region, from DescribeAvailabilityZones: only real availability
//! zones the account can use now (`zone-type = availability-zone`, `state = available`), not
//! Local or Wavelength Zones, which a redeploy must never pick by position.

use super::context::RegionContext;
use crate::provider::ProviderError;
use aws_sdk_ec2::types::Filter;

pub(super) async fn describe(context: &RegionContext) -> Result<Vec<String>, ProviderError> {
    let filter = |name: &str, value: &str| Filter::builder().name(name).values(value).build();
    let answer = context
        .read(
            context
                .ec2
                .describe_availability_zones()
                .filters(filter("zone-type", "availability-zone"))
                .filters(filter("state", "available"))
                .send(),
        )
        .await
        .map_err(|error| error.general())?;
    let mut zones: Vec<String> = answer
        .availability_zones()
        .iter()
        .filter_map(|zone| zone.zone_name().map(str::to_string))
        .collect();
    zones.sort();
    Ok(zones)
}

//! Whether an image exists in a region (DescribeImages by id), for `cairn dr check`: AMI ids
//! are per region, so an image the primary launches may be missing where a failover goes.

use super::context::RegionContext;
use crate::provider::ProviderError;

/// Whether `image` is an image the account can launch in `context`'s region.
///
/// # Errors
/// The region cannot be asked (an unknown or malformed id is an answer: it does not exist).
pub(super) async fn exists(context: &RegionContext, image: &str) -> Result<bool, ProviderError> {
    let answer = context
        .read(context.ec2.describe_images().image_ids(image).send())
        .await;
    match answer {
        Ok(answer) => Ok(answer
            .images()
            .iter()
            .any(|found| found.image_id() == Some(image))),
        Err(error) if error.is_not_found() || error.code.starts_with("InvalidAMIID") => Ok(false),
        Err(error) => Err(error.general()),
    }
}

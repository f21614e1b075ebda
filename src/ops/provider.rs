//! Choosing and opening the provider of an environment, from settings a saved plan can carry.

use super::OpsError;
use crate::config::{Cloud, Environment};
use crate::provider::sim::{SimProvider, cloud_file_for_stack};
use crate::provider::{CloudSettings, Paced, Provider};
use std::path::Path;
use std::sync::Arc;

/// How to reach the cloud of `environment` in the stack at `dir`.
pub fn settings_for(environment: &Environment, dir: &Path) -> CloudSettings {
    match environment.cloud {
        Cloud::Sim => {
            let file = cloud_file_for_stack(dir);
            // Absolute, so a saved plan applied from another directory finds the same cloud.
            let file = std::path::absolute(&file).unwrap_or(file);
            CloudSettings::Sim { file }
        }
        Cloud::Aws => CloudSettings::Aws {
            profile: environment.profile.clone(),
            endpoint: environment.endpoint.clone(),
        },
    }
}

/// Opens the provider `settings` describe (as recorded in a plan), paced to its rate limits
/// when it has them (see [`Paced`]).
///
/// # Errors
/// The simulated cloud's file cannot be opened, or AWS credentials or settings are unusable.
pub async fn open_provider(
    settings: &CloudSettings,
    environment: &str,
) -> Result<Arc<dyn Provider>, OpsError> {
    let provider: Arc<dyn Provider> = match settings {
        CloudSettings::Sim { file } => Arc::new(SimProvider::open(file)?),
        CloudSettings::Aws { profile, endpoint } => {
            open_aws(profile, endpoint, environment).await?
        }
    };
    // Every command's calls, the executor's included, keep under the cloud's rate limits.
    Ok(Paced::wrap(provider))
}

#[cfg(feature = "aws")]
async fn open_aws(
    profile: &Option<String>,
    endpoint: &Option<String>,
    _environment: &str,
) -> Result<Arc<dyn Provider>, OpsError> {
    use crate::provider::aws::{AwsProvider, AwsSettings};
    let provider = AwsProvider::connect(&AwsSettings {
        profile: profile.clone(),
        endpoint: endpoint.clone(),
        ..AwsSettings::default()
    })
    .await?;
    Ok(Arc::new(provider))
}

#[cfg(not(feature = "aws"))]
async fn open_aws(
    _profile: &Option<String>,
    _endpoint: &Option<String>,
    environment: &str,
) -> Result<Arc<dyn Provider>, OpsError> {
    Err(OpsError::AwsUnavailable {
        environment: environment.to_string(),
    })
}

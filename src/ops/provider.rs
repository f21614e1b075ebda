//! Choosing and opening the provider of an environment, from settings a saved plan can carry.

use super::OpsError;
use crate::config::{Cloud, Environment};
use crate::provider::Provider;
use crate::provider::sim::{SimProvider, cloud_file_for_stack};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Setting key: the simulated cloud's file.
pub const SIM_FILE: &str = "sim_file";
/// Setting key: the AWS profile.
pub const AWS_PROFILE: &str = "profile";
/// Setting key: the AWS endpoint override.
pub const AWS_ENDPOINT: &str = "endpoint";

/// The cloud name and settings that reach the provider of `environment` in the stack at `dir`.
pub fn settings_for(environment: &Environment, dir: &Path) -> (String, BTreeMap<String, String>) {
    let mut settings = BTreeMap::new();
    match environment.cloud {
        Cloud::Sim => {
            let file = cloud_file_for_stack(dir);
            let file = std::path::absolute(&file).unwrap_or(file);
            settings.insert(SIM_FILE.to_string(), file.display().to_string());
            ("sim".to_string(), settings)
        }
        Cloud::Aws => {
            if let Some(profile) = &environment.profile {
                settings.insert(AWS_PROFILE.to_string(), profile.clone());
            }
            if let Some(endpoint) = &environment.endpoint {
                settings.insert(AWS_ENDPOINT.to_string(), endpoint.clone());
            }
            ("aws".to_string(), settings)
        }
    }
}

/// Opens the provider named by `cloud` with `settings` (as recorded in a plan).
///
/// # Errors
/// The simulated cloud's file cannot be opened, or AWS credentials or settings are unusable.
pub async fn open_provider(
    cloud: &str,
    settings: &BTreeMap<String, String>,
    environment: &str,
) -> Result<Arc<dyn Provider>, OpsError> {
    match cloud {
        "aws" => open_aws(settings, environment).await,
        _ => {
            let file = settings
                .get(SIM_FILE)
                .map(PathBuf::from)
                .unwrap_or_else(|| cloud_file_for_stack(Path::new(".")));
            Ok(Arc::new(SimProvider::open(&file)?))
        }
    }
}

#[cfg(feature = "aws")]
async fn open_aws(
    settings: &BTreeMap<String, String>,
    _environment: &str,
) -> Result<Arc<dyn Provider>, OpsError> {
    use crate::provider::aws::{AwsProvider, AwsSettings};
    let provider = AwsProvider::connect(&AwsSettings {
        profile: settings.get(AWS_PROFILE).cloned(),
        endpoint: settings.get(AWS_ENDPOINT).cloned(),
    })
    .await?;
    Ok(Arc::new(provider))
}

#[cfg(not(feature = "aws"))]
async fn open_aws(
    _settings: &BTreeMap<String, String>,
    environment: &str,
) -> Result<Arc<dyn Provider>, OpsError> {
    Err(OpsError::AwsUnavailable {
        environment: environment.to_string(),
    })
}

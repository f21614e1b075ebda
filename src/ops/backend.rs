//! Opening the state backend a configuration (or a saved plan) names, with the encryption
//! its `encryption` block or `CAIRN_STATE_KEY` asks for. Everything above this sees an
//! `Arc<dyn StateBackend>` and never which backend it is.

use super::OpsError;
use crate::config::{Backend, StateEncryption};
use crate::state::{Encryption, EncryptionSettings, LocalBackend, StateBackend};
use std::sync::Arc;

/// Where a stack's states live, opened once per operation; [`StateStore::backend`] gives the
/// backend of each environment (a drill's state included), sharing one connection.
pub struct StateStore {
    settings: Backend,
    encryption: Encryption,
    place: Place,
}

enum Place {
    Local(std::path::PathBuf),
    #[cfg(feature = "aws")]
    S3(crate::state::S3Backend),
}

/// The encryption settings of a configuration: the `encryption` block's (then a missing
/// passphrase is an error), or `CAIRN_STATE_KEY` when it is set.
pub fn encryption_settings(block: Option<&StateEncryption>) -> EncryptionSettings {
    match block {
        Some(block) => EncryptionSettings {
            key_env: block.key_env.clone(),
            fallback_key_env: block.fallback_key_env.clone(),
            required: true,
        },
        None => EncryptionSettings::default(),
    }
}

impl StateStore {
    /// Opens the backend `settings` describe (a local path already resolved against the
    /// stack directory), with `encryption`'s keys read from the environment.
    ///
    /// # Errors
    /// A required passphrase that is not set; an S3 backend in a build without the AWS SDK,
    /// or one whose endpoint is unusable.
    pub fn open(settings: &Backend, encryption: &EncryptionSettings) -> Result<Self, OpsError> {
        let encryption = Encryption::from_environment(encryption)?;
        let (settings, place) = match settings {
            Backend::Local { path } => {
                let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                (Backend::Local { path: path.clone() }, Place::Local(path))
            }
            Backend::S3 { .. } => (settings.clone(), open_s3(settings)?),
        };
        Ok(StateStore {
            settings,
            encryption,
            place,
        })
    }

    /// The backend settings, local paths made absolute: what a saved plan records.
    pub fn settings(&self) -> &Backend {
        &self.settings
    }

    /// The encryption in use.
    pub fn encryption(&self) -> &Encryption {
        &self.encryption
    }

    /// The backend of `environment`'s state.
    ///
    /// # Errors
    /// An environment name that cannot name a state.
    pub fn backend(&self, environment: &str) -> Result<Arc<dyn StateBackend>, OpsError> {
        let encryption = self.encryption.clone();
        Ok(match &self.place {
            Place::Local(root) => {
                Arc::new(LocalBackend::with_root(root, environment)?.with_encryption(encryption))
            }
            #[cfg(feature = "aws")]
            Place::S3(connection) => Arc::new(
                connection
                    .environment(environment)?
                    .with_encryption(encryption),
            ),
        })
    }
}

#[cfg(feature = "aws")]
fn open_s3(settings: &Backend) -> Result<Place, OpsError> {
    use crate::state::{S3Backend, S3Location, s3_default_stale_after};
    let Backend::S3 {
        bucket,
        key,
        region,
        profile,
        endpoint,
        lock_stale_after_seconds,
    } = settings
    else {
        return Err(OpsError::Internal {
            message: "open_s3 called for a local backend".to_string(),
        });
    };
    let location = S3Location {
        bucket: bucket.clone(),
        key: key.clone(),
        region: region.clone(),
        profile: profile.clone(),
        endpoint: endpoint.clone(),
        stale_after: lock_stale_after_seconds
            .map(std::time::Duration::from_secs)
            .unwrap_or_else(s3_default_stale_after),
    };
    // Any valid name: each environment's backend is derived from this connection.
    Ok(Place::S3(S3Backend::connect(location, "connection")?))
}

#[cfg(not(feature = "aws"))]
fn open_s3(settings: &Backend) -> Result<Place, OpsError> {
    let bucket = match settings {
        Backend::S3 { bucket, .. } => bucket.clone(),
        Backend::Local { path } => path.display().to_string(),
    };
    Err(OpsError::S3Unavailable { bucket })
}

//! The bytes of a stored state: JSON, sealed when encryption is on, and the checks made when
//! they are read back (a newer format reported as such, not as corruption).
//!
//! Every backend stores documents through these two functions, so a state, its backup and a
//! copy migrated to another backend are the same bytes however they are kept.

use super::encryption::Encryption;
use super::{FORMAT_VERSION, StateDocument, StateError};
use std::path::Path;

/// The bytes to store for `document` (written in this build's format version).
///
/// # Errors
/// [`StateError::Serialize`] (an internal error) or [`StateError::Encryption`] when sealing
/// fails.
pub fn encode(
    document: &StateDocument,
    encryption: &Encryption,
    location: &Path,
) -> Result<Vec<u8>, StateError> {
    let serialized = if document.format_version == FORMAT_VERSION {
        serde_json::to_vec_pretty(document)
    } else {
        let mut next = document.clone();
        next.format_version = FORMAT_VERSION;
        serde_json::to_vec_pretty(&next)
    };
    let mut bytes = serialized.map_err(|source| StateError::Serialize { source })?;
    bytes.push(b'\n');
    encryption
        .seal(bytes)
        .map_err(|source| StateError::Encryption {
            path: location.to_path_buf(),
            source,
        })
}

/// The one field of a stored document read before its shape is trusted.
#[derive(serde::Deserialize)]
struct FormatProbe {
    format_version: Option<serde_json::Value>,
}

/// The document stored as `bytes` at `location`, opened with `encryption` when sealed.
/// The format version is checked before the shape, so that a newer format is reported as
/// such rather than as corruption.
///
/// # Errors
/// [`StateError::Encryption`], [`StateError::Truncated`], [`StateError::Corrupt`] or
/// [`StateError::NewerFormat`], each naming `location`.
pub fn decode(
    bytes: Vec<u8>,
    encryption: &Encryption,
    location: &Path,
) -> Result<StateDocument, StateError> {
    let bytes = encryption
        .open(bytes)
        .map_err(|source| StateError::Encryption {
            path: location.to_path_buf(),
            source,
        })?;
    let classify = |source: serde_json::Error| {
        if source.is_eof() {
            StateError::Truncated {
                path: location.to_path_buf(),
                source,
            }
        } else {
            StateError::Corrupt {
                path: location.to_path_buf(),
                source,
            }
        }
    };
    // The version is read first by a pass that builds nothing but the version (the rest is
    // skipped), then the document is parsed straight into its types: a state of 10,000
    // resources is never held as a JSON tree beside the document (issue 14).
    let probe: FormatProbe = serde_json::from_slice(&bytes).map_err(classify)?;
    let found = probe
        .format_version
        .as_ref()
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| StateError::Corrupt {
            path: location.to_path_buf(),
            source: serde::de::Error::custom("missing numeric `format_version`"),
        })?;
    if found > u64::from(FORMAT_VERSION) {
        return Err(StateError::NewerFormat {
            path: location.to_path_buf(),
            found,
            supported: FORMAT_VERSION,
        });
    }
    serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt {
        path: location.to_path_buf(),
        source,
    })
}

//! How to reach the cloud an environment runs on, as a saved plan carries it.
//!
//! Promise: the cloud is one of the clouds this engine knows, spelled out in the type; a plan
//! file naming any other cloud is refused when it is read, never taken for the simulated one.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The cloud an environment runs on, with what opening its provider needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum CloudSettings {
    /// The built-in simulated cloud kept in `file`.
    Sim { file: PathBuf },
    /// AWS through the standard credential chain, with the environment's `profile` and
    /// `endpoint` (an emulator) when it sets them.
    Aws {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        profile: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        endpoint: Option<String>,
    },
}

impl CloudSettings {
    /// The cloud's name as the configuration spells it: `sim` or `aws`.
    pub fn name(&self) -> &'static str {
        match self {
            CloudSettings::Sim { .. } => "sim",
            CloudSettings::Aws { .. } => "aws",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_json() {
        for settings in [
            CloudSettings::Sim {
                file: PathBuf::from("/stack/.cairn/sim/cloud.json"),
            },
            CloudSettings::Aws {
                profile: Some("ops".to_string()),
                endpoint: None,
            },
        ] {
            let text = serde_json::to_string(&settings).unwrap();
            assert_eq!(
                serde_json::from_str::<CloudSettings>(&text).unwrap(),
                settings
            );
        }
    }

    #[test]
    fn an_unknown_cloud_is_an_error_not_the_simulated_one() {
        let error = serde_json::from_str::<CloudSettings>(r#"{"name": "gcp", "project": "x"}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown variant `gcp`"), "{error}");
        assert!(
            error.contains("`sim`") && error.contains("`aws`"),
            "{error}"
        );
    }

    #[test]
    fn a_setting_of_another_cloud_is_refused() {
        let error = serde_json::from_str::<CloudSettings>(
            r#"{"name": "sim", "file": "cloud.json", "endpoint": "http://localhost"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("unknown field `endpoint`"), "{error}");
    }
}

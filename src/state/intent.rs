//! Intents: the mutating calls an apply is about to make, written into the state before each
//! call is sent and removed in the same write that records its result.
//!
//! An intent still in the state when a run starts is the trace of a run that stopped without
//! knowing how its call ended (killed, or out of retries on an answer that never came): the
//! call may or may not have taken effect. The next plan reports it and decides how to resolve
//! it; apply looks for what an interrupted create may have made before creating again, and
//! finishes an interrupted delete.
//!
//! Promises: an intent is small (what, where, which object, its token and when), and records
//! fit an append-only journal as they are: "intent" appended before the call, "result"
//! appended after it, the result naming the intent by its token.

use crate::model::{Address, Kind, Operation};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A mutating call about to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    pub operation: Operation,
    pub address: Address,
    pub kind: Kind,
    pub region: String,
    /// The object an update or delete acts on; a create's object has no id yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The idempotency token the call carries. It names the intent: a run that resumes the
    /// intent sends the same token, and the result that ends it is found by it.
    pub token: String,
    /// When the call was about to be sent; the cloud's consistency window is counted from
    /// here.
    pub since: DateTime<Utc>,
}

impl Intent {
    /// `create of network.main[us-east-1]`, for messages.
    pub fn describe(&self) -> String {
        format!("{} of `{}`", self.operation, self.address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_intent_is_a_small_record() {
        let intent = Intent {
            operation: Operation::Create,
            address: Address::new("module.network.network.main[us-east-1]"),
            kind: Kind::Network,
            region: "us-east-1".to_string(),
            id: None,
            token: format!("cairn-{:032x}", u128::MAX),
            since: DateTime::parse_from_rfc3339("2025-11-30T12:04:11.123Z")
                .map(|time| time.with_timezone(&Utc))
                .unwrap_or_default(),
        };
        let text = serde_json::to_string(&intent).unwrap_or_default();
        // Small enough that recording one per call in flight costs little on each save.
        assert!(text.len() < 250, "{} bytes: {text}", text.len());
        assert_eq!(serde_json::from_str::<Intent>(&text).ok(), Some(intent));
    }
}

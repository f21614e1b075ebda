//! Stable resource addresses, shared by the plan, the state, the CLI and ownership tags.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The stable address of one resource instance, for example `network.main[us-east-1]`,
/// `network.main.subnet.public[us-east-1a]` or `module.web.autoscaling.app[us-east-1]`.
///
/// The grammar is `[module.NAME.]* TYPE.NAME [.SUBTYPE.SUBNAME] [\"KEY\"] [REGION_OR_ZONE]`:
/// the last bracket names the region (or the zone, for per-zone resources) the instance lives
/// in; a quoted key before it is the `for_each` key. Addresses compare as strings so that
/// ordering is deterministic everywhere.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Address(String);

impl Address {
    pub fn new(address: impl Into<String>) -> Self {
        Address(address.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address without its trailing `[region-or-zone]` part: the block path it came from.
    pub fn block_path(&self) -> &str {
        match self.0.rfind('[') {
            Some(index) if self.0.ends_with(']') && !self.0[index..].starts_with("[\"") => {
                &self.0[..index]
            }
            _ => &self.0,
        }
    }

    /// The trailing `[region-or-zone]` part, without brackets.
    pub fn placement(&self) -> Option<&str> {
        let index = self.0.rfind('[')?;
        let tail = &self.0[index..];
        if tail.starts_with("[\"") || !tail.ends_with(']') {
            return None;
        }
        Some(&tail[1..tail.len() - 1])
    }

    /// Whether this address, or the block it came from, matches a `--target` given by a user:
    /// `network.main` targets every region's instance; a full address targets one.
    pub fn matches_target(&self, target: &str) -> bool {
        self.0 == target
            || self.block_path() == target
            || self
                .0
                .strip_prefix(target)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    }

    /// The address this one has once `from` is moved to `to` (a `moved` block or `cairn state
    /// mv`), or `None` when the move does not concern it. `from` and `to` are matched as
    /// targets are: a block path moves every instance, with its nested blocks, `for_each` keys
    /// and regions kept (`network.main` → `network.core` moves
    /// `network.main.subnet.public[us-east-1a]` to `network.core.subnet.public[us-east-1a]`,
    /// and `module.web` → `module.front` moves the whole module).
    pub fn moved(&self, from: &str, to: &str) -> Option<Address> {
        if !self.matches_target(from) {
            return None;
        }
        let rest = self.0.strip_prefix(from)?;
        Some(Address(format!("{to}{rest}")))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Address {
    fn from(value: &str) -> Self {
        Address::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_placement_from_block_path() {
        let address = Address::new("network.main.subnet.public[us-east-1a]");
        assert_eq!(address.block_path(), "network.main.subnet.public");
        assert_eq!(address.placement(), Some("us-east-1a"));

        let keyed = Address::new("firewall.web[\"admin\"][us-east-1]");
        assert_eq!(keyed.block_path(), "firewall.web[\"admin\"]");
        assert_eq!(keyed.placement(), Some("us-east-1"));
    }

    #[test]
    fn targets_match_blocks_and_instances() {
        let address = Address::new("network.main.subnet.public[us-east-1a]");
        assert!(address.matches_target("network.main"));
        assert!(address.matches_target("network.main.subnet.public"));
        assert!(address.matches_target("network.main.subnet.public[us-east-1a]"));
        assert!(!address.matches_target("network.mai"));
        assert!(!address.matches_target("network.main.subnet.private"));
    }

    #[test]
    fn moves_keep_nested_blocks_keys_and_placements() {
        let subnet = Address::new("network.main.subnet.public[us-east-1a]");
        assert_eq!(
            subnet.moved("network.main", "network.core"),
            Some(Address::new("network.core.subnet.public[us-east-1a]"))
        );
        assert_eq!(
            Address::new("autoscaling.web[us-east-1]")
                .moved("autoscaling.web", "module.web.autoscaling.web"),
            Some(Address::new("module.web.autoscaling.web[us-east-1]"))
        );
        assert_eq!(
            Address::new("module.web.autoscaling.app[us-east-1]")
                .moved("module.web", "module.front"),
            Some(Address::new("module.front.autoscaling.app[us-east-1]"))
        );
        assert_eq!(
            Address::new("firewall.web[\"admin\"][us-east-1]")
                .moved("firewall.web[\"admin\"]", "firewall.web[\"ops\"]"),
            Some(Address::new("firewall.web[\"ops\"][us-east-1]"))
        );
        assert_eq!(subnet.moved("network.mai", "network.core"), None);
        assert_eq!(subnet.moved("network.other", "network.core"), None);
    }
}

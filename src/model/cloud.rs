//! The conventions of the cloud the model mirrors: how its ids look, which tags it keeps for
//! itself, how it names block devices.
//!
//! The model's kinds follow AWS (the simulated cloud copies AWS's behaviour), and a few of
//! AWS's spellings matter to the engine: a firewall rule may name a security group by its id,
//! the plan must not diff the tags the cloud adds on its own, a launch template's volumes need
//! device names. They are written here once, so the graph and the plan ask the model instead
//! of spelling `sg-` or `aws:` themselves, and the simulated cloud draws its ids from the same
//! table.

use super::{Attributes, Kind, Value};

/// The prefix of the ids the cloud gives resources of `kind` (`vpc`, `sg`, …, written before
/// a `-`), or `None` for kinds identified by their name.
pub fn id_prefix(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Network => Some("vpc"),
        Kind::Subnet => Some("subnet"),
        Kind::InternetGateway => Some("igw"),
        Kind::RouteTable => Some("rtb"),
        Kind::SecurityGroup => Some("sg"),
        Kind::LaunchTemplate => Some("lt"),
        Kind::Volume => Some("vol"),
        Kind::Instance => Some("i"),
        Kind::Snapshot => Some("snap"),
        Kind::AutoscalingGroup
        | Kind::ScalingPolicy
        | Kind::LoadBalancer
        | Kind::TargetGroup
        | Kind::Listener
        | Kind::Alarm
        | Kind::DnsZone
        | Kind::DnsHealthCheck
        | Kind::DnsRecord => None,
    }
}

/// The pseudo-region of the kinds that belong to no region ([`Kind::is_global`]): Route 53
/// answers for every region at once.
pub const GLOBAL_REGION: &str = "global";

/// The longest name AWS gives a load balancer or a target group.
pub const LOAD_BALANCER_NAME_LIMIT: usize = 32;

/// `name` as a load balancer or target group may be named: letters, digits and hyphens only
/// (each other character becomes a hyphen), no hyphen at either end, and at most `limit`
/// characters — a longer name keeps its start and ends with a hash of the whole, so two long
/// names that share their start still differ.
pub fn short_name(name: &str, limit: usize) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let cleaned = cleaned.trim_matches('-').to_string();
    if cleaned.len() <= limit && !cleaned.is_empty() {
        return cleaned;
    }
    let hash = format!(
        "{:08x}",
        crate::util::hash::stable_hash(name.as_bytes()) as u32
    );
    let keep = limit.saturating_sub(hash.len() + 1);
    let start = cleaned[..keep.min(cleaned.len())].trim_end_matches('-');
    format!("{start}-{hash}")
}

/// Whether `text` reads as the id of a resource of `kind` (`sg-0abc…` for a security group):
/// how a literal id written in the configuration is told apart from other strings.
pub fn is_id_of(kind: Kind, text: &str) -> bool {
    id_prefix(kind).is_some_and(|prefix| {
        text.strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('-'))
    })
}

/// The prefix of the tag keys the cloud sets by itself (`aws:autoscaling:groupName`, …) and
/// reserves: Cairn neither sets them nor diffs them.
pub const CLOUD_TAG_PREFIX: &str = "aws:";

/// Whether `key` is a tag the cloud sets by itself.
pub fn is_cloud_tag(key: &str) -> bool {
    key.starts_with(CLOUD_TAG_PREFIX)
}

/// A launch template's settings that live in its versions: a change to one of them makes a new
/// version of the same template (what instances launch from next), not a new template.
pub const LAUNCH_TEMPLATE_VERSION_FIELDS: [&str; 6] = [
    "image",
    "instance_type",
    "security_group_ids",
    "user_data",
    "http_tokens",
    "volumes",
];

/// The entries of a listener's forward action (`forward = [{target_group_id, weight}]`), as
/// AWS's weighted forward spells them: each one's target group as written (an id, or a
/// reference before apply resolves it) and its weight (`None` when it has none). An entry
/// without a target group is left out.
pub fn forward_entries(listener: &Attributes) -> impl Iterator<Item = (&Value, Option<&Value>)> {
    listener
        .get("forward")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| Some((entry.get("target_group_id")?, entry.get("weight"))))
}

/// The device name of the volume at `position` among a launch template's volumes: the first
/// is the root device (`/dev/xvda`), the next ones follow the alphabet (`/dev/xvdb`, …).
pub fn device_name(position: usize) -> String {
    let letter = char::from(b'a' + (position % 26) as u8);
    format!("/dev/xvd{letter}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_but_the_named_ones_has_an_id_prefix() {
        for kind in Kind::ALL {
            let named = matches!(
                kind,
                Kind::AutoscalingGroup
                    | Kind::ScalingPolicy
                    | Kind::LoadBalancer
                    | Kind::TargetGroup
                    | Kind::Listener
                    | Kind::Alarm
                    | Kind::DnsZone
                    | Kind::DnsHealthCheck
                    | Kind::DnsRecord
            );
            assert_eq!(id_prefix(kind).is_none(), named, "{kind}");
        }
    }

    #[test]
    fn ids_are_told_by_their_prefix_and_dash() {
        assert!(is_id_of(Kind::SecurityGroup, "sg-0123456789abcdef0"));
        assert!(!is_id_of(Kind::SecurityGroup, "sgx-1"));
        assert!(!is_id_of(Kind::SecurityGroup, "10.0.0.0/16"));
        assert!(!is_id_of(Kind::Network, "sg-1"));
        assert!(!is_id_of(Kind::AutoscalingGroup, "web"));
    }

    #[test]
    fn only_the_cloud_s_reserved_tags_are_cloud_tags() {
        assert!(is_cloud_tag("aws:autoscaling:groupName"));
        assert!(!is_cloud_tag("cairn:address"));
        assert!(!is_cloud_tag("Name"));
    }

    #[test]
    fn load_balancer_names_fit_aws_rules_and_long_ones_stay_distinct() {
        assert_eq!(short_name("webapp-aws-web", 32), "webapp-aws-web");
        assert_eq!(short_name("shop_prod-cpu_high", 32), "shop-prod-cpu-high");
        let long = "webapp-production-drill-observability-web";
        let other = "webapp-production-drill-observability-api";
        let (one, two) = (short_name(long, 32), short_name(other, 32));
        assert!(one.len() <= 32 && two.len() <= 32, "{one} {two}");
        assert_ne!(one, two);
        assert!(one.starts_with("webapp-production-dri"));
        assert!(!one.starts_with('-') && !one.ends_with('-'));
    }

    #[test]
    fn the_first_device_is_the_root_and_the_rest_follow_the_alphabet() {
        let names: Vec<String> = (0..3).map(device_name).collect();
        assert_eq!(names, ["/dev/xvda", "/dev/xvdb", "/dev/xvdc"]);
    }
}

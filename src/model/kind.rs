//! The resource kinds and, for each, which attribute changes update in place and which force
//! a replacement.
//!
//! Attribute names and shapes below are the contract between config expansion (which writes
//! them), the plan (which diffs them) and the providers (which map them onto cloud APIs).
//! Every kind also carries `tags` (updated in place) and the cloud-assigned `id`.
//!
//! | kind | attributes (R = change replaces, U = change updates in place, C = computed by the cloud) |
//! |---|---|
//! | `network` | `cidr` R |
//! | `subnet` | `network_id` R, `cidr` R, `zone` R, `public` U (map public IP on launch) |
//! | `internet_gateway` | `network_id` R |
//! | `route_table` | `network_id` R, `routes` U (`[{cidr, gateway_id}]`), `subnet_ids` U (associations) |
//! | `security_group` | `name` R, `description` R, `network_id` R, `ingress` U, `egress` U — rules are `[{protocol, from_port, to_port, cidr}]` or `[{protocol, from_port, to_port, source_group_id}]`, one source per rule, each with an optional `description` (absent when empty; part of the rule, so a changed one updates the group), `protocol` one of `tcp`, `udp`, `icmp`, `all` (`all` and "any ICMP" use `from_port` = `to_port` = -1, as AWS does) |
//! | `launch_template` | `name` R, `image` U, `instance_type` U, `security_group_ids` U, `user_data` U, `http_tokens` U (`"required"`: IMDSv2 only; null: IMDSv1 allowed), `volumes` U (`[{device, size_gb, encrypted}]`); an update makes a new version; `latest_version` C |
//! | `autoscaling_group` | `name` R, `launch_template_id` R, `launch_template_version` U, `subnet_ids` U, `min` U, `max` U, `desired` U, `target_group_ids` U (where its instances are registered), `health_check_type` U (`EC2`, or `ELB` to replace what the load balancer finds unhealthy); `instances` C (`[{id, zone, subnet_id, state, health, launch_template_id, launch_template_version}]`, `health` being `healthy` or `unhealthy` as the group judges it, the template and version being what the instance was launched from) |
//! | `scaling_policy` | `name` R, `group_name` R, `target_cpu` U |
//! | `volume` | `zone` R, `size_gb` U (grow only), `encrypted` R, `snapshot_id` R, `volume_type` U |
//! | `instance` | `image` R, `instance_type` R, `subnet_id` R, `security_group_ids` U; `state` C, `private_ip` C |
//! | `snapshot` | `volume_id` R, `source_region` R, `source_snapshot_id` R (a cross-region copy), `description` R; `state` C, `size_gb` C, `started_at` C |
//! | `load_balancer` | `name` R, `subnet_ids` U, `security_group_ids` U; `dns_name` C, `zone_id` C (the hosted zone of its DNS name, for aliases), `arn_suffix` C (`app/NAME/ID`, the metrics dimension) — an application load balancer, its id its ARN |
//! | `target_group` | `name` R, `network_id` R, `port` R, `protocol` R, `health_check` U (`{path, port, protocol, interval, timeout, healthy, unhealthy, matcher}`); `arn_suffix` C |
//! | `listener` | `load_balancer_id` R, `port` U, `protocol` U, `certificate` U (HTTPS only), `forward` U (`[{target_group_id, weight}]`, the default action's weighted forward) |
//! | `alarm` | `name` R, `namespace` U, `metric` U, `statistic` U, `comparison` U (`GreaterThanThreshold`, …), `threshold` U, `periods` U, `period` U (seconds), `dimensions` U (`{name: value}`), `description` U (the user's text, null for none); `state` C (`OK`, `ALARM`, `INSUFFICIENT_DATA`) — its id is its name |
//! | `dns_zone` | `name` R (`example.com`, no trailing dot) |
//! | `dns_health_check` | `type` R (`HTTP`, `HTTPS`), `target` U (a domain name), `port` U, `path` U, `interval` R (10 or 30 s), `failure_threshold` U |
//! | `dns_record` | `zone_id` R, `name` R (the full name), `type` R, `set_identifier` R, `failover` U (`PRIMARY`, `SECONDARY`, or null), `alias` U (`{dns_name, zone_id, evaluate_target_health}`), `health_check_id` U — its id is `ZONE/NAME/TYPE/SET`; the cloud keeps no tags on it |
//!
//! The DNS kinds are global: they live in the pseudo-region [`super::cloud::GLOBAL_REGION`],
//! whatever region the block that declares them was instantiated in.

use super::Value;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A kind of cloud resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Network,
    Subnet,
    InternetGateway,
    RouteTable,
    SecurityGroup,
    LaunchTemplate,
    AutoscalingGroup,
    ScalingPolicy,
    Volume,
    Instance,
    Snapshot,
    LoadBalancer,
    TargetGroup,
    Listener,
    Alarm,
    DnsZone,
    DnsHealthCheck,
    DnsRecord,
}

/// What a change to one attribute does to the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeChange {
    /// The provider changes the attribute on the existing resource.
    Update,
    /// The resource must be destroyed and created again.
    Replace,
    /// Set by the cloud; never part of a diff.
    Computed,
}

impl Kind {
    /// Every kind, in the order refresh reads them (parents before children).
    pub const ALL: [Kind; 18] = [
        Kind::Network,
        Kind::Subnet,
        Kind::InternetGateway,
        Kind::RouteTable,
        Kind::SecurityGroup,
        Kind::LaunchTemplate,
        Kind::AutoscalingGroup,
        Kind::ScalingPolicy,
        Kind::Volume,
        Kind::Instance,
        Kind::Snapshot,
        Kind::LoadBalancer,
        Kind::TargetGroup,
        Kind::Listener,
        Kind::Alarm,
        Kind::DnsZone,
        Kind::DnsHealthCheck,
        Kind::DnsRecord,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Network => "network",
            Kind::Subnet => "subnet",
            Kind::InternetGateway => "internet_gateway",
            Kind::RouteTable => "route_table",
            Kind::SecurityGroup => "security_group",
            Kind::LaunchTemplate => "launch_template",
            Kind::AutoscalingGroup => "autoscaling_group",
            Kind::ScalingPolicy => "scaling_policy",
            Kind::Volume => "volume",
            Kind::Instance => "instance",
            Kind::Snapshot => "snapshot",
            Kind::LoadBalancer => "load_balancer",
            Kind::TargetGroup => "target_group",
            Kind::Listener => "listener",
            Kind::Alarm => "alarm",
            Kind::DnsZone => "dns_zone",
            Kind::DnsHealthCheck => "dns_health_check",
            Kind::DnsRecord => "dns_record",
        }
    }

    /// Whether the cloud keeps tags on resources of this kind. AWS scaling policies and DNS
    /// records take none: they are found through their group's or zone's ownership and
    /// matched to state by id, and their tags are never diffed.
    pub fn takes_tags(self) -> bool {
        !matches!(self, Kind::ScalingPolicy | Kind::DnsRecord)
    }

    /// Whether resources of this kind belong to no region (DNS): they live in
    /// [`super::cloud::GLOBAL_REGION`], are declared once per environment, and no region's
    /// outage or parking reaches them.
    pub fn is_global(self) -> bool {
        matches!(self, Kind::DnsZone | Kind::DnsHealthCheck | Kind::DnsRecord)
    }

    /// The attributes whose change forces a replacement.
    pub fn replace_attributes(self) -> &'static [&'static str] {
        match self {
            Kind::Network => &["cidr"],
            Kind::Subnet => &["network_id", "cidr", "zone"],
            Kind::InternetGateway => &["network_id"],
            Kind::RouteTable => &["network_id"],
            Kind::SecurityGroup => &["name", "description", "network_id"],
            Kind::LaunchTemplate => &["name"],
            Kind::AutoscalingGroup => &["name", "launch_template_id"],
            Kind::ScalingPolicy => &["name", "group_name"],
            Kind::Volume => &["zone", "encrypted", "snapshot_id"],
            Kind::Instance => &["image", "instance_type", "subnet_id"],
            Kind::Snapshot => &[
                "volume_id",
                "source_region",
                "source_snapshot_id",
                "description",
            ],
            Kind::LoadBalancer => &["name"],
            Kind::TargetGroup => &["name", "network_id", "port", "protocol"],
            Kind::Listener => &["load_balancer_id"],
            Kind::Alarm => &["name"],
            Kind::DnsZone => &["name"],
            Kind::DnsHealthCheck => &["type", "interval"],
            Kind::DnsRecord => &["zone_id", "name", "type", "set_identifier"],
        }
    }

    /// The attributes the cloud sets and the config never does.
    pub fn computed_attributes(self) -> &'static [&'static str] {
        match self {
            Kind::LaunchTemplate => &["id", "latest_version"],
            Kind::AutoscalingGroup => &["id", "instances"],
            Kind::Instance => &["id", "state", "private_ip"],
            Kind::Snapshot => &["id", "state", "progress", "size_gb", "started_at"],
            Kind::LoadBalancer => &["id", "dns_name", "zone_id", "arn_suffix"],
            Kind::TargetGroup => &["id", "arn_suffix"],
            Kind::Alarm => &["id", "state"],
            _ => &["id"],
        }
    }

    /// Whether `attribute` is a set: its order carries no meaning (rules, id lists, routes),
    /// so providers may return it in any order.
    pub fn is_set_attribute(self, attribute: &str) -> bool {
        matches!(
            attribute,
            "ingress"
                | "egress"
                | "security_group_ids"
                | "subnet_ids"
                | "routes"
                | "instances"
                | "target_group_ids"
                | "forward"
        )
    }

    /// `value` in canonical form for comparison: set attributes sorted by their JSON text.
    pub fn canonical(self, attribute: &str, value: &Value) -> Value {
        match value {
            Value::Array(items) if self.is_set_attribute(attribute) => {
                let mut items = items.clone();
                items.sort_by_cached_key(|item| item.to_string());
                items.dedup();
                Value::Array(items)
            }
            other => other.clone(),
        }
    }

    /// Whether two values of `attribute` mean the same: equal in canonical form, with an
    /// absent value the same as `null` (clouds leave unset attributes out).
    pub fn same_value(self, attribute: &str, left: Option<&Value>, right: Option<&Value>) -> bool {
        let null = Value::Null;
        let left = left.unwrap_or(&null);
        let right = right.unwrap_or(&null);
        left == right || self.canonical(attribute, left) == self.canonical(attribute, right)
    }

    /// Whether two attribute maps agree on every attribute except `skip`ped ones.
    pub fn same_attributes(
        self,
        left: &super::Attributes,
        right: &super::Attributes,
        skip: &dyn Fn(&str) -> bool,
    ) -> bool {
        left.keys()
            .chain(right.keys())
            .filter(|name| !skip(name))
            .all(|name| self.same_value(name, left.get(name), right.get(name)))
    }

    /// What changing `attribute` does to a resource of this kind.
    pub fn change_for(self, attribute: &str) -> AttributeChange {
        if self.computed_attributes().contains(&attribute) {
            AttributeChange::Computed
        } else if self.replace_attributes().contains(&attribute) {
            AttributeChange::Replace
        } else {
            AttributeChange::Update
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| format!("unknown resource kind `{text}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_attributes_compare_without_order_and_null_equals_absent() {
        let rule = |port: i64| serde_json::json!({"protocol": "tcp", "from_port": port, "to_port": port, "cidr": "0.0.0.0/0"});
        let one = serde_json::json!([rule(22), rule(443)]);
        let other = serde_json::json!([rule(443), rule(22)]);
        assert!(Kind::SecurityGroup.same_value("ingress", Some(&one), Some(&other)));
        assert!(!Kind::SecurityGroup.same_value(
            "ingress",
            Some(&one),
            Some(&serde_json::json!([rule(22)]))
        ));
        assert!(Kind::LaunchTemplate.same_value("user_data", None, Some(&Value::Null)));
        // Order matters where the attribute is a list, not a set.
        let volumes = serde_json::json!([{"device": "a"}, {"device": "b"}]);
        let swapped = serde_json::json!([{"device": "b"}, {"device": "a"}]);
        assert!(!Kind::LaunchTemplate.same_value("volumes", Some(&volumes), Some(&swapped)));
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>(), Ok(kind));
        }
    }

    #[test]
    fn cidr_replaces_a_network_but_sizes_update_a_group() {
        assert_eq!(Kind::Network.change_for("cidr"), AttributeChange::Replace);
        assert_eq!(
            Kind::AutoscalingGroup.change_for("desired"),
            AttributeChange::Update
        );
        assert_eq!(
            Kind::SecurityGroup.change_for("ingress"),
            AttributeChange::Update
        );
        assert_eq!(
            Kind::SecurityGroup.change_for("name"),
            AttributeChange::Replace
        );
        assert_eq!(
            Kind::Instance.change_for("state"),
            AttributeChange::Computed
        );
    }
}

//! `security_group` → security group with one-source rules.
//!
//! Rules are read for all owned groups at once with DescribeSecurityGroupRules (filtered by
//! group id), so a refresh costs two calls per page whatever the number of groups. Changes
//! compare the live rules with the desired ones and only revoke and authorize the
//! difference, in one call per direction. A rule's description (IpRanges / Ipv6Ranges /
//! UserIdGroupPairs `Description`) is part of the rule: a changed one is revoked and
//! authorized again like any other change, rather than sent with
//! UpdateSecurityGroupRuleDescriptions*, which moto ignores for group peers and cannot clear. A new group's default allow-all egress rule is
//! revoked unless the desired egress contains it, so the live rules equal the desired ones.

use super::consistency::until_visible;
use super::context::{RegionContext, Selector, describe_pages};
use super::{attributes, tags};
use crate::model::{Attributes, Kind, Value};
use crate::provider::{CreateRequest, LiveResource, ProviderError, UpdateRequest};
use aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput;
use aws_sdk_ec2::types::{
    IpPermission, IpRange, Ipv6Range, ResourceType, SecurityGroup, SecurityGroupRule,
    UserIdGroupPair,
};
use std::collections::{BTreeMap, BTreeSet};

/// DescribeSecurityGroupRules takes at most 200 values per filter.
const GROUP_IDS_PER_CALL: usize = 200;

/// Where a rule's traffic comes from (ingress) or goes to (egress).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Peer {
    Cidr(String),
    Group(String),
}

/// One rule in the contract's shape.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Rule {
    protocol: String,
    from_port: i64,
    to_port: i64,
    peer: Peer,
    /// Part of the rule's equality, so that a changed description revokes the rule and
    /// authorizes it again with the new one, as any other rule change.
    description: Option<String>,
}

impl Rule {
    fn from_attributes(fields: &Attributes) -> Result<Rule, ProviderError> {
        let protocol = attributes::string(fields, "protocol")?;
        let peer = match (
            attributes::optional_string(fields, "cidr")?,
            attributes::optional_string(fields, "source_group_id")?,
        ) {
            (Some(cidr), None) => Peer::Cidr(cidr),
            (None, Some(group)) => Peer::Group(group),
            _ => {
                return Err(ProviderError::Api {
                    code: "InvalidAttribute".to_string(),
                    message: "a rule needs exactly one of `cidr` and `source_group_id`".to_string(),
                });
            }
        };
        // `all` covers every port; AWS reports it with -1/-1 whatever was asked.
        let (from_port, to_port) = if protocol == "all" {
            (-1, -1)
        } else {
            (
                attributes::integer(fields, "from_port")?,
                attributes::integer(fields, "to_port")?,
            )
        };
        let description = attributes::optional_string(fields, "description")?
            .filter(|description| !description.is_empty());
        Ok(Rule {
            protocol,
            from_port,
            to_port,
            peer,
            description,
        })
    }

    fn from_live(rule: &SecurityGroupRule) -> Option<Rule> {
        let peer = if let Some(cidr) = rule.cidr_ipv4().or(rule.cidr_ipv6()) {
            Peer::Cidr(cidr.to_string())
        } else {
            Peer::Group(rule.referenced_group_info()?.group_id()?.to_string())
        };
        let protocol = match rule.ip_protocol().unwrap_or("-1") {
            "-1" => "all",
            "6" => "tcp",
            "17" => "udp",
            "1" => "icmp",
            other => other,
        }
        .to_string();
        Some(Rule {
            protocol,
            from_port: i64::from(rule.from_port().unwrap_or(-1)),
            to_port: i64::from(rule.to_port().unwrap_or(-1)),
            peer,
            description: rule
                .description()
                .filter(|description| !description.is_empty())
                .map(str::to_string),
        })
    }

    fn to_value(&self) -> Value {
        let (peer_key, peer) = match &self.peer {
            Peer::Cidr(cidr) => ("cidr", cidr),
            Peer::Group(group) => ("source_group_id", group),
        };
        let mut fields = Attributes::from([
            ("protocol".to_string(), Value::from(self.protocol.as_str())),
            ("from_port".to_string(), Value::from(self.from_port)),
            ("to_port".to_string(), Value::from(self.to_port)),
            (peer_key.to_string(), Value::from(peer.as_str())),
        ]);
        if let Some(description) = &self.description {
            fields.insert("description".to_string(), Value::from(description.as_str()));
        }
        attributes::object(fields)
    }

    fn to_permission(&self) -> IpPermission {
        let mut permission = IpPermission::builder();
        if self.protocol == "all" {
            permission = permission.ip_protocol("-1");
        } else {
            // Ports are whole numbers well inside i32 for every valid rule; AWS refuses
            // anything clamped here with a clear InvalidParameterValue.
            permission = permission
                .ip_protocol(&self.protocol)
                .from_port(clamp(self.from_port))
                .to_port(clamp(self.to_port));
        }
        let description = self.description.clone();
        match &self.peer {
            Peer::Cidr(cidr) if cidr.contains(':') => permission.ipv6_ranges(
                Ipv6Range::builder()
                    .cidr_ipv6(cidr)
                    .set_description(description)
                    .build(),
            ),
            Peer::Cidr(cidr) => permission.ip_ranges(
                IpRange::builder()
                    .cidr_ip(cidr)
                    .set_description(description)
                    .build(),
            ),
            Peer::Group(group) => permission.user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(group)
                    .set_description(description)
                    .build(),
            ),
        }
        .build()
    }
}

fn clamp(port: i64) -> i32 {
    i32::try_from(port).unwrap_or(if port < 0 { i32::MIN } else { i32::MAX })
}

/// The default egress rule AWS gives every new group.
fn allow_all_egress() -> Rule {
    Rule {
        protocol: "all".to_string(),
        from_port: -1,
        to_port: -1,
        peer: Peer::Cidr("0.0.0.0/0".to_string()),
        description: None,
    }
}

fn desired_rules(attributes: &Attributes, name: &str) -> Result<BTreeSet<Rule>, ProviderError> {
    attributes::objects(attributes, name)?
        .iter()
        .map(Rule::from_attributes)
        .collect()
}

/// Ingress and egress rules of each group, read in batches.
#[derive(Default)]
struct GroupRules {
    ingress: BTreeSet<Rule>,
    egress: BTreeSet<Rule>,
}

async fn rules_of(
    context: &RegionContext,
    group_ids: &[String],
) -> Result<BTreeMap<String, GroupRules>, ProviderError> {
    let mut rules: BTreeMap<String, GroupRules> = BTreeMap::new();
    for chunk in group_ids.chunks(GROUP_IDS_PER_CALL) {
        let pages = describe_pages!(
            context,
            context.ec2.describe_security_group_rules(),
            filter: "group-id",
            chunk.iter().cloned(),
            1000
        )?;
        for rule in pages.iter().flat_map(|page| page.security_group_rules()) {
            let (Some(group_id), Some(parsed)) = (rule.group_id(), Rule::from_live(rule)) else {
                continue;
            };
            let entry = rules.entry(group_id.to_string()).or_default();
            if rule.is_egress() == Some(true) {
                entry.egress.insert(parsed);
            } else {
                entry.ingress.insert(parsed);
            }
        }
    }
    Ok(rules)
}

pub(super) async fn describe(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    let pages = describe_pages!(
        context,
        Kind::SecurityGroup,
        selector,
        context.ec2.describe_security_groups(),
        group_ids,
        1000
    )?;
    live_groups(context, &pages).await
}

/// Every security group of the region, owned or not (`cairn discover`).
pub(super) async fn all(context: &RegionContext) -> Result<Vec<LiveResource>, ProviderError> {
    let pages = describe_pages!(
        context,
        context.ec2.describe_security_groups(),
        every: 1000
    )?;
    live_groups(context, &pages).await
}

/// The groups of `pages` with their rules, read in batches.
async fn live_groups(
    context: &RegionContext,
    pages: &[DescribeSecurityGroupsOutput],
) -> Result<Vec<LiveResource>, ProviderError> {
    let groups: Vec<&SecurityGroup> = pages
        .iter()
        .flat_map(|page| page.security_groups())
        .filter(|group| group.group_id().is_some())
        .collect();
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = groups
        .iter()
        .filter_map(|group| group.group_id().map(str::to_string))
        .collect();
    let mut rules = rules_of(context, &ids).await?;
    Ok(groups
        .into_iter()
        .filter_map(|group| {
            let id = group.group_id()?;
            let group_rules = rules.remove(id).unwrap_or_default();
            let attributes = Attributes::from([
                (
                    "name".to_string(),
                    Value::from(group.group_name().unwrap_or_default()),
                ),
                (
                    "description".to_string(),
                    Value::from(group.description().unwrap_or_default()),
                ),
                (
                    "network_id".to_string(),
                    Value::from(group.vpc_id().unwrap_or_default()),
                ),
                (
                    "ingress".to_string(),
                    Value::from(
                        group_rules
                            .ingress
                            .iter()
                            .map(Rule::to_value)
                            .collect::<Vec<_>>(),
                    ),
                ),
                (
                    "egress".to_string(),
                    Value::from(
                        group_rules
                            .egress
                            .iter()
                            .map(Rule::to_value)
                            .collect::<Vec<_>>(),
                    ),
                ),
            ]);
            Some(context.live(
                Kind::SecurityGroup,
                id,
                attributes,
                tags::from_ec2(group.tags()),
            ))
        })
        .collect())
}

pub(super) async fn create(
    context: &RegionContext,
    request: &CreateRequest,
) -> Result<String, ProviderError> {
    let attributes = &request.attributes;
    let ingress = desired_rules(attributes, "ingress")?;
    let egress = desired_rules(attributes, "egress")?;
    let call = context
        .ec2
        .create_security_group()
        .group_name(attributes::string(attributes, "name")?)
        .description(attributes::string(attributes, "description")?)
        .vpc_id(attributes::string(attributes, "network_id")?)
        .tag_specifications(tags::specification(
            ResourceType::SecurityGroup,
            &request.tags,
        ));
    let id = context
        .create(
            "CreateSecurityGroup",
            || call.clone().send(),
            |output| output.group_id(),
        )
        .await?;
    // Rules cannot be given to CreateSecurityGroup. A crash part-way leaves a tagged group
    // whose rules the next plan corrects.
    let live = GroupRules {
        ingress: BTreeSet::new(),
        egress: BTreeSet::from([allow_all_egress()]),
    };
    apply_rules(context, &id, &live, &ingress, &egress).await?;
    Ok(id)
}

pub(super) async fn update(
    context: &RegionContext,
    _current: &LiveResource,
    request: &UpdateRequest,
) -> Result<(), ProviderError> {
    let ingress = desired_rules(&request.after, "ingress")?;
    let egress = desired_rules(&request.after, "egress")?;
    let live = rules_of(context, std::slice::from_ref(&request.id))
        .await?
        .remove(&request.id)
        .unwrap_or_default();
    apply_rules(context, &request.id, &live, &ingress, &egress).await
}

/// Revokes the live rules that are not wanted, then authorizes the wanted ones that are
/// missing: at most one call per direction and action.
async fn apply_rules(
    context: &RegionContext,
    id: &str,
    live: &GroupRules,
    ingress: &BTreeSet<Rule>,
    egress: &BTreeSet<Rule>,
) -> Result<(), ProviderError> {
    let permissions = |rules: Vec<&Rule>| -> Option<Vec<IpPermission>> {
        (!rules.is_empty()).then(|| rules.into_iter().map(Rule::to_permission).collect())
    };
    let about =
        |error: super::error::CallError| error.about(Kind::SecurityGroup, &context.region, id);
    if let Some(revoke) = permissions(live.ingress.difference(ingress).collect()) {
        let call = context
            .ec2
            .revoke_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(Some(revoke));
        context.mutate(call.send()).await.map_err(about)?;
    }
    if let Some(revoke) = permissions(live.egress.difference(egress).collect()) {
        let call = context
            .ec2
            .revoke_security_group_egress()
            .group_id(id)
            .set_ip_permissions(Some(revoke));
        until_visible(|| context.mutate(call.clone().send()))
            .await
            .map_err(about)?;
    }
    // Authorizing may name a group created a moment ago (a rule from another group).
    if let Some(authorize) = permissions(ingress.difference(&live.ingress).collect()) {
        let call = context
            .ec2
            .authorize_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(Some(authorize));
        context.mutate_visible(|| call.clone().send()).await?;
    }
    if let Some(authorize) = permissions(egress.difference(&live.egress).collect()) {
        let call = context
            .ec2
            .authorize_security_group_egress()
            .group_id(id)
            .set_ip_permissions(Some(authorize));
        context.mutate_visible(|| call.clone().send()).await?;
    }
    Ok(())
}

pub(super) async fn delete(context: &RegionContext, id: &str) -> Result<(), ProviderError> {
    context
        .delete(
            Kind::SecurityGroup,
            id,
            context.ec2.delete_security_group().group_id(id).send(),
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(value: Value) -> Result<Rule, ProviderError> {
        let fields: Attributes = serde_json::from_value(value).unwrap_or_default();
        Rule::from_attributes(&fields)
    }

    #[test]
    fn a_rule_round_trips_through_the_contract_shape() {
        let given =
            json!({"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr": "0.0.0.0/0"});
        let parsed = rule(given.clone());
        assert_eq!(parsed.map(|rule| rule.to_value()), Ok(given));
    }

    #[test]
    fn a_described_rule_round_trips_and_sends_its_description() {
        let given = json!({
            "protocol": "tcp", "from_port": 22, "to_port": 22,
            "source_group_id": "sg-1", "description": "SSH from the bastion"
        });
        let parsed = rule(given.clone());
        assert_eq!(parsed.clone().map(|rule| rule.to_value()), Ok(given));
        let permission = parsed.map(|rule| rule.to_permission());
        let sent = permission.as_ref().map(|permission| {
            permission
                .user_id_group_pairs()
                .iter()
                .map(|pair| pair.description().map(str::to_string))
                .collect::<Vec<_>>()
        });
        assert_eq!(sent, Ok(vec![Some("SSH from the bastion".to_string())]));
    }

    #[test]
    fn a_changed_description_is_a_different_rule_and_an_empty_one_is_none() {
        let plain =
            json!({"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr": "0.0.0.0/0"});
        let mut described = plain.clone();
        described["description"] = json!("HTTPS");
        let mut empty = plain.clone();
        empty["description"] = json!("");
        assert_ne!(rule(plain.clone()), rule(described));
        assert_eq!(rule(empty), rule(plain));
    }

    #[test]
    fn all_protocols_use_minus_one_ports() {
        let parsed =
            rule(json!({"protocol": "all", "from_port": 0, "to_port": 65535, "cidr": "0.0.0.0/0"}));
        assert_eq!(parsed, Ok(allow_all_egress()));
    }

    #[test]
    fn a_rule_with_two_sources_is_refused() {
        let parsed = rule(json!({
            "protocol": "tcp", "from_port": 22, "to_port": 22,
            "cidr": "10.0.0.0/8", "source_group_id": "sg-1"
        }));
        assert!(parsed.is_err());
    }
}

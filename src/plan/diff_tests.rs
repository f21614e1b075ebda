//! Unit tests of the diff and the ordering, on hand-built desired resources, state and
//! observations.

use super::*;
use crate::model::{Kind, Lifecycle, SourceLocation, is_known, reference};
use crate::plan::{DriftKind, Resolution, refresh_scopes};
use crate::provider::LiveResource;
use crate::state::Intent;
use serde_json::json;

const REGION: &str = "us-east-1";

fn owner() -> Owner {
    Owner {
        stack: "shop".to_string(),
        env: "staging".to_string(),
    }
}

fn attributes(value: Value) -> Attributes {
    match value {
        Value::Object(map) => map.into_iter().collect(),
        other => panic!("attributes must be an object, got {other}"),
    }
}

fn id_of(address: &str) -> String {
    reference(&Address::new(address), "id")
}

/// Desired resources, a state, and what the cloud holds, from which a plan is made.
struct Fixture {
    desired: BTreeMap<Address, DesiredResource>,
    state: StateDocument,
    live: Vec<LiveResource>,
    options: PlanOptions,
}

impl Fixture {
    fn new() -> Self {
        let mut state = StateDocument::new("shop", "staging");
        state.serial = 4;
        Fixture {
            desired: BTreeMap::new(),
            state,
            live: Vec::new(),
            options: PlanOptions::default(),
        }
    }

    fn want(
        &mut self,
        address: &str,
        kind: Kind,
        values: Value,
        depends_on: &[&str],
    ) -> &mut DesiredResource {
        let address = Address::new(address);
        self.desired.insert(
            address.clone(),
            DesiredResource {
                address: address.clone(),
                kind,
                region: REGION.to_string(),
                attributes: attributes(values),
                tags: Tags::new(),
                depends_on: depends_on.iter().map(|name| Address::new(*name)).collect(),
                lifecycle: Lifecycle::default(),
                sensitive: BTreeSet::new(),
                source: Some(SourceLocation {
                    file: "main.hcl".to_string(),
                    line: 3,
                    column: 1,
                }),
            },
        );
        self.desired.get_mut(&address).unwrap()
    }

    /// Records a resource in state and puts the same object in the cloud.
    fn record(
        &mut self,
        address: &str,
        kind: Kind,
        id: &str,
        values: Value,
        dependencies: &[&str],
    ) -> &mut StateResource {
        let address = Address::new(address);
        self.live_object(address.as_str(), kind, id, values.clone());
        self.state.resources.insert(
            address.clone(),
            StateResource {
                address: address.clone(),
                kind,
                region: REGION.to_string(),
                id: id.to_string(),
                attributes: attributes(values),
                tags: owner().tags_for(&address),
                dependencies: dependencies
                    .iter()
                    .map(|name| Address::new(*name))
                    .collect(),
                lifecycle: Lifecycle::default(),
                sensitive: BTreeSet::new(),
            },
        );
        self.state.resources.get_mut(&address).unwrap()
    }

    /// Puts an object carrying `address`'s ownership tags in the cloud only.
    fn live_object(&mut self, address: &str, kind: Kind, id: &str, values: Value) {
        self.live.push(LiveResource {
            kind,
            region: REGION.to_string(),
            id: id.to_string(),
            attributes: attributes(values),
            tags: owner().tags_for(&Address::new(address)),
        });
    }

    fn live_mut(&mut self, id: &str) -> &mut LiveResource {
        self.live.iter_mut().find(|live| live.id == id).unwrap()
    }

    fn observed(&self) -> Observed {
        Observed::from_live(
            refresh_scopes(&self.desired, &self.state),
            self.live.clone(),
        )
    }

    fn plan(&self) -> Result<Plan, PlanError> {
        plan(
            &self.desired,
            &BTreeMap::new(),
            &self.state,
            self.observed(),
            &self.options,
        )
    }
}

/// `operation address` of each step, in plan order.
fn step_names(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .map(|step| {
            let operation = match step.operation {
                Operation::Create => "create",
                Operation::Update => "update",
                Operation::Delete if step.deposed => "delete-old",
                Operation::Delete => "delete",
            };
            format!("{operation} {}", step.address)
        })
        .collect()
}

fn step<'a>(plan: &'a Plan, name: &str) -> &'a Step {
    let index = step_names(plan)
        .iter()
        .position(|candidate| candidate == name)
        .unwrap_or_else(|| panic!("no step `{name}` in {:?}", step_names(plan)));
    &plan.steps[index]
}

/// Whether step `later` waits, directly or not, for step `earlier`.
fn waits_for(plan: &Plan, later: &str, earlier: &str) -> bool {
    let target = step(plan, earlier).index;
    let mut stack = vec![step(plan, later).index];
    let mut seen = BTreeSet::new();
    while let Some(index) = stack.pop() {
        for &before in &plan.steps[index].after_steps {
            if before == target {
                return true;
            }
            if seen.insert(before) {
                stack.push(before);
            }
        }
    }
    false
}

fn actions(plan: &Plan) -> Vec<(String, ChangeAction)> {
    plan.changes
        .iter()
        .map(|change| (change.address.to_string(), change.action))
        .collect()
}

const NETWORK: &str = "network.main[us-east-1]";
const SUBNET: &str = "network.main.subnet.public[us-east-1a]";
const GROUP: &str = "firewall.web[us-east-1]";
const TEMPLATE: &str = "launch_template.web[us-east-1]";
const AUTOSCALING: &str = "autoscaling.web[us-east-1]";

fn network_and_subnet(fixture: &mut Fixture) {
    fixture.want(NETWORK, Kind::Network, json!({"cidr": "10.0.0.0/16"}), &[]);
    fixture.want(
        SUBNET,
        Kind::Subnet,
        json!({"network_id": id_of(NETWORK), "cidr": "10.0.1.0/24", "zone": "us-east-1a", "public": true}),
        &[NETWORK],
    );
}

fn record_network_and_subnet(fixture: &mut Fixture) {
    fixture.record(
        NETWORK,
        Kind::Network,
        "vpc-1",
        json!({"cidr": "10.0.0.0/16"}),
        &[],
    );
    fixture.record(
        SUBNET,
        Kind::Subnet,
        "subnet-1",
        json!({"network_id": "vpc-1", "cidr": "10.0.1.0/24", "zone": "us-east-1a", "public": true}),
        &[NETWORK],
    );
}

#[test]
fn creates_in_dependency_order_with_unknown_ids() {
    let mut fixture = Fixture::new();
    network_and_subnet(&mut fixture);
    let plan = fixture.plan().unwrap();

    assert_eq!(
        actions(&plan),
        vec![
            (SUBNET.to_string(), ChangeAction::Create),
            (NETWORK.to_string(), ChangeAction::Create),
        ]
    );
    assert_eq!(
        step_names(&plan),
        vec![format!("create {NETWORK}"), format!("create {SUBNET}")]
    );
    assert_eq!(plan.steps[1].after_steps, vec![0]);
    let subnet = &plan.changes[0];
    assert!(!is_known(&subnet.after.as_ref().unwrap()["network_id"]));
    assert_eq!(plan.steps[1].tags, owner().tags_for(&Address::new(SUBNET)));
    assert_eq!(
        plan.steps[1].dependencies,
        BTreeSet::from([Address::new(NETWORK)])
    );
    assert_eq!(plan.state_lineage, fixture.state.lineage);
    assert_eq!(plan.state_serial, 4);
    assert_eq!(plan.summary().create, 2);
}

#[test]
fn nothing_to_do_when_the_cloud_matches() {
    let mut fixture = Fixture::new();
    network_and_subnet(&mut fixture);
    record_network_and_subnet(&mut fixture);
    let plan = fixture.plan().unwrap();
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    assert!(plan.steps.is_empty());
    assert!(plan.drift.is_empty());
    assert!(!plan.has_changes());
}

#[test]
fn changed_update_attribute_updates_in_place() {
    let mut fixture = Fixture::new();
    network_and_subnet(&mut fixture);
    record_network_and_subnet(&mut fixture);
    fixture
        .desired
        .get_mut(&Address::new(SUBNET))
        .unwrap()
        .attributes
        .insert("public".into(), json!(false));
    let plan = fixture.plan().unwrap();

    assert_eq!(
        actions(&plan),
        vec![(SUBNET.to_string(), ChangeAction::Update)]
    );
    let update = step(&plan, &format!("update {SUBNET}"));
    assert_eq!(update.id.as_deref(), Some("subnet-1"));
    assert_eq!(update.before.as_ref().unwrap()["public"], json!(true));
    assert_eq!(update.after.as_ref().unwrap()["public"], json!(false));
    assert_eq!(update.after.as_ref().unwrap()["network_id"], json!("vpc-1"));
}

#[test]
fn tag_change_is_an_update() {
    let mut fixture = Fixture::new();
    fixture
        .want(NETWORK, Kind::Network, json!({"cidr": "10.0.0.0/16"}), &[])
        .tags = Tags::from([("team".to_string(), "web".to_string())]);
    fixture.record(
        NETWORK,
        Kind::Network,
        "vpc-1",
        json!({"cidr": "10.0.0.0/16"}),
        &[],
    );
    let plan = fixture.plan().unwrap();
    assert_eq!(
        actions(&plan),
        vec![(NETWORK.to_string(), ChangeAction::Update)]
    );
    assert_eq!(plan.steps[0].tags["team"], "web");
    assert_eq!(plan.steps[0].tags["cairn:address"], NETWORK);
}

#[test]
fn replace_destroys_dependents_first_then_creates_in_order() {
    let mut fixture = Fixture::new();
    network_and_subnet(&mut fixture);
    record_network_and_subnet(&mut fixture);
    fixture
        .desired
        .get_mut(&Address::new(NETWORK))
        .unwrap()
        .attributes
        .insert("cidr".into(), json!("10.1.0.0/16"));
    let plan = fixture.plan().unwrap();

    assert_eq!(
        actions(&plan),
        vec![
            (SUBNET.to_string(), ChangeAction::Replace),
            (NETWORK.to_string(), ChangeAction::Replace),
        ]
    );
    assert_eq!(plan.changes[1].replace_because, vec!["cidr".to_string()]);
    // The subnet's network id is unknown, and a new network id replaces a subnet.
    assert_eq!(
        plan.changes[0].replace_because,
        vec!["network_id".to_string()]
    );
    assert_eq!(
        step_names(&plan),
        vec![
            format!("delete {SUBNET}"),
            format!("delete {NETWORK}"),
            format!("create {NETWORK}"),
            format!("create {SUBNET}"),
        ]
    );
    assert!(waits_for(
        &plan,
        &format!("delete {NETWORK}"),
        &format!("delete {SUBNET}")
    ));
    assert!(waits_for(
        &plan,
        &format!("create {NETWORK}"),
        &format!("delete {NETWORK}")
    ));
    assert!(waits_for(
        &plan,
        &format!("create {SUBNET}"),
        &format!("create {NETWORK}")
    ));
    assert_eq!(plan.summary().replace, 2);
}

fn group_and_template(fixture: &mut Fixture) {
    fixture.want(
        GROUP,
        Kind::SecurityGroup,
        json!({"name": "web", "description": "web", "network_id": "vpc-1"}),
        &[],
    );
    fixture.want(
        TEMPLATE,
        Kind::LaunchTemplate,
        json!({"name": "web", "image": "ami-1", "security_group_ids": [id_of(GROUP)]}),
        &[GROUP],
    );
    fixture.record(
        GROUP,
        Kind::SecurityGroup,
        "sg-1",
        json!({"name": "web", "description": "web", "network_id": "vpc-1"}),
        &[],
    );
    fixture.record(
        TEMPLATE,
        Kind::LaunchTemplate,
        "lt-1",
        json!({"name": "web", "image": "ami-1", "security_group_ids": ["sg-1"], "latest_version": 1}),
        &[GROUP],
    );
}

#[test]
fn create_before_destroy_creates_then_moves_dependents_then_deletes_the_old_object() {
    let mut fixture = Fixture::new();
    group_and_template(&mut fixture);
    let group = fixture.desired.get_mut(&Address::new(GROUP)).unwrap();
    group.attributes.insert("name".into(), json!("web-2"));
    group.lifecycle.create_before_destroy = true;
    let plan = fixture.plan().unwrap();

    assert_eq!(
        actions(&plan),
        vec![
            (GROUP.to_string(), ChangeAction::Replace),
            (TEMPLATE.to_string(), ChangeAction::Update),
        ]
    );
    assert!(plan.changes[0].create_before_destroy);
    assert_eq!(
        step_names(&plan),
        vec![
            format!("create {GROUP}"),
            format!("update {TEMPLATE}"),
            format!("delete-old {GROUP}"),
        ]
    );
    let delete = step(&plan, &format!("delete-old {GROUP}"));
    assert_eq!(delete.id.as_deref(), Some("sg-1"));
    assert!(waits_for(
        &plan,
        &format!("delete-old {GROUP}"),
        &format!("update {TEMPLATE}")
    ));
    assert!(waits_for(
        &plan,
        &format!("update {TEMPLATE}"),
        &format!("create {GROUP}")
    ));
}

#[test]
fn create_before_destroy_of_a_dependent_applies_to_its_replaced_dependency() {
    let mut fixture = Fixture::new();
    network_and_subnet(&mut fixture);
    record_network_and_subnet(&mut fixture);
    fixture
        .desired
        .get_mut(&Address::new(NETWORK))
        .unwrap()
        .attributes
        .insert("cidr".into(), json!("10.1.0.0/16"));
    fixture
        .desired
        .get_mut(&Address::new(SUBNET))
        .unwrap()
        .lifecycle
        .create_before_destroy = true;
    let plan = fixture.plan().unwrap();

    assert!(
        plan.changes
            .iter()
            .all(|change| change.create_before_destroy)
    );
    assert_eq!(
        step_names(&plan),
        vec![
            format!("create {NETWORK}"),
            format!("create {SUBNET}"),
            format!("delete-old {SUBNET}"),
            format!("delete-old {NETWORK}"),
        ]
    );
    assert!(waits_for(
        &plan,
        &format!("delete-old {NETWORK}"),
        &format!("delete-old {SUBNET}")
    ));
}

#[test]
fn removed_resources_are_deleted_in_reverse_dependency_order() {
    let mut fixture = Fixture::new();
    record_network_and_subnet(&mut fixture);
    fixture.record(
        "instance.web[us-east-1]",
        Kind::Instance,
        "i-1",
        json!({"image": "ami-1", "instance_type": "t3.small", "subnet_id": "subnet-1"}),
        &[SUBNET],
    );
    let plan = fixture.plan().unwrap();

    assert_eq!(
        step_names(&plan),
        vec![
            "delete instance.web[us-east-1]".to_string(),
            format!("delete {SUBNET}"),
            format!("delete {NETWORK}"),
        ]
    );
    assert_eq!(plan.steps[1].after_steps, vec![0]);
    assert_eq!(plan.steps[2].after_steps, vec![1]);
    assert_eq!(plan.summary().delete, 3);
}

#[test]
fn delete_waits_for_dependents_that_stop_using_it() {
    let mut fixture = Fixture::new();
    group_and_template(&mut fixture);
    fixture.desired.remove(&Address::new(GROUP));
    let template = fixture.desired.get_mut(&Address::new(TEMPLATE)).unwrap();
    template
        .attributes
        .insert("security_group_ids".into(), json!([]));
    template.depends_on.clear();
    let plan = fixture.plan().unwrap();
    assert_eq!(
        step_names(&plan),
        vec![format!("update {TEMPLATE}"), format!("delete {GROUP}")]
    );
    assert_eq!(plan.steps[1].after_steps, vec![0]);
}

#[test]
fn destroy_deletes_everything_in_reverse_order() {
    let mut fixture = Fixture::new();
    network_and_subnet(&mut fixture);
    record_network_and_subnet(&mut fixture);
    fixture.options.destroy = true;
    let plan = fixture.plan().unwrap();
    assert_eq!(
        step_names(&plan),
        vec![format!("delete {SUBNET}"), format!("delete {NETWORK}")]
    );
    assert_eq!(plan.steps[1].after_steps, vec![0]);
    assert_eq!(plan.steps[0].id.as_deref(), Some("subnet-1"));
}

#[test]
fn untracked_tagged_object_is_adopted_not_created_again() {
    let mut fixture = Fixture::new();
    network_and_subnet(&mut fixture);
    fixture.record(
        NETWORK,
        Kind::Network,
        "vpc-1",
        json!({"cidr": "10.0.0.0/16"}),
        &[],
    );
    // A crash after the subnet's create call and before state recorded it.
    fixture.live_object(
        SUBNET,
        Kind::Subnet,
        "subnet-9",
        json!({"network_id": "vpc-1", "cidr": "10.0.1.0/24", "zone": "us-east-1a", "public": false}),
    );
    let plan = fixture.plan().unwrap();

    assert_eq!(plan.adopted.len(), 1);
    assert_eq!(plan.adopted[0].id, "subnet-9");
    assert_eq!(
        plan.adopted[0].dependencies,
        BTreeSet::from([Address::new(NETWORK)])
    );
    assert_eq!(
        actions(&plan),
        vec![(SUBNET.to_string(), ChangeAction::Update)]
    );
    assert_eq!(step_names(&plan), vec![format!("update {SUBNET}")]);
    assert_eq!(plan.steps[0].id.as_deref(), Some("subnet-9"));
    assert!(plan.has_changes());
}

#[test]
fn duplicates_keep_the_recorded_object_and_delete_the_others() {
    let mut fixture = Fixture::new();
    fixture.want(NETWORK, Kind::Network, json!({"cidr": "10.0.0.0/16"}), &[]);
    fixture.record(
        NETWORK,
        Kind::Network,
        "vpc-2",
        json!({"cidr": "10.0.0.0/16"}),
        &[],
    );
    fixture.live_object(
        NETWORK,
        Kind::Network,
        "vpc-1",
        json!({"cidr": "10.0.0.0/16"}),
    );
    let plan = fixture.plan().unwrap();

    assert_eq!(step_names(&plan), vec![format!("delete-old {NETWORK}")]);
    assert_eq!(plan.steps[0].id.as_deref(), Some("vpc-1"));
    assert!(plan.adopted.is_empty());
    assert_eq!(
        plan.changes[0].before.as_ref().unwrap()["id"],
        json!("vpc-1")
    );
}

#[test]
fn recorded_object_gone_but_another_tagged_is_adopted_in_its_place() {
    let mut fixture = Fixture::new();
    fixture.want(NETWORK, Kind::Network, json!({"cidr": "10.0.0.0/16"}), &[]);
    fixture.record(
        NETWORK,
        Kind::Network,
        "vpc-old",
        json!({"cidr": "10.0.0.0/16"}),
        &[],
    );
    fixture.live.clear();
    fixture.live_object(
        NETWORK,
        Kind::Network,
        "vpc-new",
        json!({"cidr": "10.0.0.0/16"}),
    );
    let plan = fixture.plan().unwrap();

    // Apply records adoptions before drift; a `Deleted` drift would drop the adopted record.
    assert!(plan.drift.is_empty(), "{:?}", plan.drift);
    assert_eq!(plan.adopted.len(), 1);
    assert_eq!(plan.adopted[0].id, "vpc-new");
    assert!(plan.steps.is_empty());
}

#[test]
fn duplicates_without_state_keep_the_first_by_id() {
    let mut fixture = Fixture::new();
    fixture.want(NETWORK, Kind::Network, json!({"cidr": "10.0.0.0/16"}), &[]);
    fixture.live_object(
        NETWORK,
        Kind::Network,
        "vpc-b",
        json!({"cidr": "10.0.0.0/16"}),
    );
    fixture.live_object(
        NETWORK,
        Kind::Network,
        "vpc-a",
        json!({"cidr": "10.0.0.0/16"}),
    );
    let plan = fixture.plan().unwrap();

    assert_eq!(plan.adopted.len(), 1);
    assert_eq!(plan.adopted[0].id, "vpc-a");
    assert_eq!(step_names(&plan), vec![format!("delete-old {NETWORK}")]);
    assert_eq!(plan.steps[0].id.as_deref(), Some("vpc-b"));
}

#[test]
fn live_object_of_another_kind_is_ignored() {
    let mut fixture = Fixture::new();
    fixture.want(NETWORK, Kind::Network, json!({"cidr": "10.0.0.0/16"}), &[]);
    fixture.live_object(NETWORK, Kind::Volume, "vol-1", json!({"size_gb": 10}));
    let mut observed = fixture.observed();
    observed.scopes.insert((REGION.to_string(), Kind::Volume));
    let plan = plan(
        &fixture.desired,
        &BTreeMap::new(),
        &fixture.state,
        observed,
        &fixture.options,
    )
    .unwrap();
    assert!(plan.adopted.is_empty());
    assert_eq!(step_names(&plan), vec![format!("create {NETWORK}")]);
}

#[test]
fn out_of_band_change_is_drift_and_is_set_back() {
    let mut fixture = Fixture::new();
    network_and_subnet(&mut fixture);
    record_network_and_subnet(&mut fixture);
    fixture
        .live_mut("subnet-1")
        .attributes
        .insert("public".into(), json!(false));
    let plan = fixture.plan().unwrap();

    assert_eq!(plan.drift.len(), 1);
    let drift = &plan.drift[0];
    assert_eq!(drift.what, DriftKind::Changed);
    assert_eq!(drift.attributes["public"], (json!(true), json!(false)));
    assert_eq!(
        actions(&plan),
        vec![(SUBNET.to_string(), ChangeAction::Update)]
    );
    assert_eq!(
        plan.steps[0].before.as_ref().unwrap()["public"],
        json!(false)
    );
    assert_eq!(plan.steps[0].after.as_ref().unwrap()["public"], json!(true));
}

#[test]
fn object_deleted_outside_is_drift_and_created_again() {
    let mut fixture = Fixture::new();
    network_and_subnet(&mut fixture);
    record_network_and_subnet(&mut fixture);
    fixture.live.retain(|live| live.id != "subnet-1");
    let plan = fixture.plan().unwrap();

    assert_eq!(plan.drift.len(), 1);
    assert_eq!(plan.drift[0].what, DriftKind::Deleted);
    assert_eq!(step_names(&plan), vec![format!("create {SUBNET}")]);
    assert_eq!(
        plan.steps[0].after.as_ref().unwrap()["network_id"],
        json!("vpc-1")
    );
}

#[test]
fn without_refresh_the_recorded_state_is_trusted() {
    let mut fixture = Fixture::new();
    network_and_subnet(&mut fixture);
    record_network_and_subnet(&mut fixture);
    let plan = plan(
        &fixture.desired,
        &BTreeMap::new(),
        &fixture.state,
        Observed::not_refreshed(),
        &fixture.options,
    )
    .unwrap();
    assert!(plan.drift.is_empty());
    assert!(plan.steps.is_empty());
}

#[test]
fn ignored_attributes_never_diff_and_keep_their_live_value() {
    let mut fixture = Fixture::new();
    network_and_subnet(&mut fixture);
    record_network_and_subnet(&mut fixture);
    let subnet = fixture.desired.get_mut(&Address::new(SUBNET)).unwrap();
    subnet.lifecycle.ignore_changes.insert("public".to_string());
    subnet.attributes.insert("public".into(), json!(false));
    assert!(fixture.plan().unwrap().changes.is_empty());

    fixture
        .desired
        .get_mut(&Address::new(SUBNET))
        .unwrap()
        .tags
        .insert("team".into(), "web".into());
    let plan = fixture.plan().unwrap();
    assert_eq!(
        actions(&plan),
        vec![(SUBNET.to_string(), ChangeAction::Update)]
    );
    assert_eq!(plan.steps[0].after.as_ref().unwrap()["public"], json!(true));
}

#[test]
fn computed_attributes_never_diff() {
    let mut fixture = Fixture::new();
    group_and_template(&mut fixture);
    fixture
        .live_mut("lt-1")
        .attributes
        .insert("latest_version".into(), json!(7));
    let plan = fixture.plan().unwrap();
    assert!(plan.changes.is_empty());
    assert!(plan.drift.is_empty());
}

#[test]
fn prevent_destroy_refuses_a_delete_naming_the_address() {
    let mut fixture = Fixture::new();
    record_network_and_subnet(&mut fixture);
    fixture.want(NETWORK, Kind::Network, json!({"cidr": "10.0.0.0/16"}), &[]);
    fixture
        .state
        .resources
        .get_mut(&Address::new(SUBNET))
        .unwrap()
        .lifecycle
        .prevent_destroy = true;
    let error = fixture.plan().unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, PlanError::PreventDestroy { .. }));
    assert!(
        message.contains(&format!("`{SUBNET}` (recorded in state")),
        "{message}"
    );
}

#[test]
fn prevent_destroy_refuses_a_replacement_naming_the_source() {
    let mut fixture = Fixture::new();
    network_and_subnet(&mut fixture);
    record_network_and_subnet(&mut fixture);
    let network = fixture.desired.get_mut(&Address::new(NETWORK)).unwrap();
    network
        .attributes
        .insert("cidr".into(), json!("10.9.0.0/16"));
    network.lifecycle.prevent_destroy = true;
    let message = fixture.plan().unwrap_err().to_string();
    assert!(
        message.contains(&format!(
            "replace `{NETWORK}` (defined at main.hcl:3:1; `cidr` forces replacement)"
        )),
        "{message}"
    );

    // Updates in place stay allowed.
    let network = fixture.desired.get_mut(&Address::new(NETWORK)).unwrap();
    network
        .attributes
        .insert("cidr".into(), json!("10.0.0.0/16"));
    network.tags.insert("team".into(), "web".into());
    assert_eq!(fixture.plan().unwrap().summary().update, 1);
}

#[test]
fn prevent_destroy_refuses_destroy() {
    let mut fixture = Fixture::new();
    record_network_and_subnet(&mut fixture);
    fixture
        .state
        .resources
        .get_mut(&Address::new(NETWORK))
        .unwrap()
        .lifecycle
        .prevent_destroy = true;
    fixture.options.destroy = true;
    assert!(
        matches!(fixture.plan(), Err(PlanError::PreventDestroy { resources }) if resources.len() == 1)
    );
}

#[test]
fn a_protected_environment_refuses_replacements_and_destroys_naming_why() {
    let mut fixture = Fixture::new();
    network_and_subnet(&mut fixture);
    record_network_and_subnet(&mut fixture);
    fixture.options.protected_environment = Some("production".to_string());
    let network = fixture.desired.get_mut(&Address::new(NETWORK)).unwrap();
    network
        .attributes
        .insert("cidr".into(), json!("10.9.0.0/16"));
    let error = fixture.plan().unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(&error, PlanError::ProtectedEnvironment { environment, .. } if environment == "production"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "replace `{NETWORK}` (defined at main.hcl:3:1; `cidr` forces replacement)"
        )),
        "{message}"
    );

    // A block gone from the configuration would destroy its object: refused too.
    fixture.desired.remove(&Address::new(SUBNET));
    let network = fixture.desired.get_mut(&Address::new(NETWORK)).unwrap();
    network
        .attributes
        .insert("cidr".into(), json!("10.0.0.0/16"));
    let message = fixture.plan().unwrap_err().to_string();
    assert!(
        message.contains(&format!(
            "destroy `{SUBNET}` (recorded in state; its block is no longer in the configuration)"
        )),
        "{message}"
    );

    // Updates in place stay allowed, and `--force` lets the destroy through.
    fixture.options.protected_environment = None;
    assert_eq!(fixture.plan().unwrap().summary().delete, 1);
}

#[test]
fn target_plans_only_the_target_and_its_dependencies() {
    let mut fixture = Fixture::new();
    network_and_subnet(&mut fixture);
    fixture.want(
        "volume.data[us-east-1a]",
        Kind::Volume,
        json!({"zone": "us-east-1a", "size_gb": 10}),
        &[],
    );
    fixture.record(
        "volume.old[us-east-1a]",
        Kind::Volume,
        "vol-old",
        json!({"size_gb": 5}),
        &[],
    );
    fixture.options.target = vec!["network.main.subnet.public".to_string()];
    let plan = fixture.plan().unwrap();
    assert_eq!(
        step_names(&plan),
        vec![format!("create {NETWORK}"), format!("create {SUBNET}")]
    );

    fixture.options.target = vec!["volume.old".to_string()];
    let plan = fixture.plan().unwrap();
    assert_eq!(
        step_names(&plan),
        vec!["delete volume.old[us-east-1a]".to_string()]
    );

    fixture.options.target = vec!["network.mian".to_string()];
    assert!(matches!(
        fixture.plan(),
        Err(PlanError::TargetMatchesNothing { .. })
    ));
}

#[test]
fn exclude_leaves_out_the_address_and_what_depends_on_it() {
    let mut fixture = Fixture::new();
    network_and_subnet(&mut fixture);
    fixture.want(
        "volume.data[us-east-1a]",
        Kind::Volume,
        json!({"zone": "us-east-1a", "size_gb": 10}),
        &[],
    );
    fixture.options.exclude = vec!["network.main".to_string()];
    let plan = fixture.plan().unwrap();
    assert_eq!(
        step_names(&plan),
        vec!["create volume.data[us-east-1a]".to_string()]
    );

    // With a destroy, what an excluded address depends on stays too.
    record_network_and_subnet(&mut fixture);
    fixture.options.destroy = true;
    fixture.options.exclude = vec!["network.main.subnet.public".to_string()];
    assert!(fixture.plan().unwrap().steps.is_empty());

    fixture.options.exclude = vec!["network.mian".to_string()];
    let error = fixture.plan().unwrap_err();
    assert_eq!(
        error.to_string(),
        "--exclude `network.mian` matches no resource"
    );
}

#[test]
fn targeted_destroy_takes_dependents_along() {
    let mut fixture = Fixture::new();
    record_network_and_subnet(&mut fixture);
    fixture.record(
        "volume.data[us-east-1a]",
        Kind::Volume,
        "vol-1",
        json!({"size_gb": 10}),
        &[],
    );
    fixture.options.destroy = true;
    fixture.options.target = vec!["network.main[us-east-1]".to_string()];
    let plan = fixture.plan().unwrap();
    assert_eq!(
        step_names(&plan),
        vec![format!("delete {SUBNET}"), format!("delete {NETWORK}")]
    );
}

#[test]
fn refresh_only_reports_drift_and_plans_no_steps() {
    let mut fixture = Fixture::new();
    network_and_subnet(&mut fixture);
    record_network_and_subnet(&mut fixture);
    fixture
        .live_mut("subnet-1")
        .attributes
        .insert("public".into(), json!(false));
    fixture.options.refresh_only = true;
    let plan = fixture.plan().unwrap();
    assert!(plan.refresh_only);
    assert!(plan.steps.is_empty());
    assert!(plan.changes.is_empty());
    assert_eq!(plan.drift.len(), 1);
    assert!(plan.has_changes());
}

#[test]
fn update_of_a_template_leaves_its_new_version_unknown() {
    let mut fixture = Fixture::new();
    group_and_template(&mut fixture);
    fixture.want(
        AUTOSCALING,
        Kind::AutoscalingGroup,
        json!({
            "name": "web",
            "launch_template_id": id_of(TEMPLATE),
            "launch_template_version": reference(&Address::new(TEMPLATE), "latest_version"),
            "desired": 2,
        }),
        &[TEMPLATE],
    );
    fixture.record(
        AUTOSCALING,
        Kind::AutoscalingGroup,
        "web",
        json!({"name": "web", "launch_template_id": "lt-1", "launch_template_version": 1, "desired": 2}),
        &[TEMPLATE],
    );
    assert!(fixture.plan().unwrap().changes.is_empty());

    fixture
        .desired
        .get_mut(&Address::new(TEMPLATE))
        .unwrap()
        .attributes
        .insert("image".into(), json!("ami-2"));
    let plan = fixture.plan().unwrap();
    assert_eq!(
        actions(&plan),
        vec![
            (AUTOSCALING.to_string(), ChangeAction::Update),
            (TEMPLATE.to_string(), ChangeAction::Update),
        ]
    );
    let after = plan.changes[0].after.as_ref().unwrap();
    assert!(!is_known(&after["launch_template_version"]));
    assert_eq!(after["launch_template_id"], json!("lt-1"));
    assert_eq!(
        step_names(&plan),
        vec![
            format!("update {TEMPLATE}"),
            format!("update {AUTOSCALING}")
        ]
    );
}

#[test]
fn deposed_objects_are_deleted() {
    let mut fixture = Fixture::new();
    fixture.want(NETWORK, Kind::Network, json!({"cidr": "10.0.0.0/16"}), &[]);
    fixture.record(
        NETWORK,
        Kind::Network,
        "vpc-new",
        json!({"cidr": "10.0.0.0/16"}),
        &[],
    );
    let mut old = fixture.state.resources[&Address::new(NETWORK)].clone();
    old.id = "vpc-old".to_string();
    fixture.state.deposed.push(old);
    fixture.live_object(
        NETWORK,
        Kind::Network,
        "vpc-old",
        json!({"cidr": "10.0.0.0/16"}),
    );
    let plan = fixture.plan().unwrap();
    assert_eq!(step_names(&plan), vec![format!("delete-old {NETWORK}")]);
    assert_eq!(plan.steps[0].id.as_deref(), Some("vpc-old"));
}

#[test]
fn attributes_fed_from_sensitive_ones_are_sensitive() {
    let mut fixture = Fixture::new();
    fixture
        .want(
            TEMPLATE,
            Kind::LaunchTemplate,
            json!({"name": "web", "user_data": "password=hunter2"}),
            &[],
        )
        .sensitive
        .insert("user_data".to_string());
    fixture.want(
        "instance.web[us-east-1]",
        Kind::Instance,
        json!({"image": reference(&Address::new(TEMPLATE), "user_data")}),
        &[TEMPLATE],
    );
    let plan = fixture.plan().unwrap();
    assert!(plan.changes[0].sensitive.contains("image"));
    assert!(plan.changes[1].sensitive.contains("user_data"));
}

#[test]
fn dependency_cycle_is_an_error() {
    let mut fixture = Fixture::new();
    fixture.want(
        "network.a[us-east-1]",
        Kind::Network,
        json!({}),
        &["network.b[us-east-1]"],
    );
    fixture.want(
        "network.b[us-east-1]",
        Kind::Network,
        json!({}),
        &["network.a[us-east-1]"],
    );
    assert!(
        matches!(fixture.plan(), Err(PlanError::DependencyCycle { addresses }) if addresses.len() == 2)
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A random DAG: node `i` may depend on any node before it.
    fn dag() -> impl Strategy<Value = Vec<Vec<usize>>> {
        (1usize..12).prop_flat_map(|count| {
            (0..count)
                .map(|node| {
                    proptest::collection::btree_set(0..node.max(1), 0..=node.min(3)).prop_map(
                        move |set| {
                            set.into_iter()
                                .filter(|&dependency| dependency < node)
                                .collect::<Vec<_>>()
                        },
                    )
                })
                .collect::<Vec<_>>()
        })
    }

    fn name(node: usize) -> String {
        format!("network.n{node:02}[us-east-1]")
    }

    proptest! {
        #[test]
        fn delete_order_is_the_reverse_of_create_order(graph in dag()) {
            let mut fixture = Fixture::new();
            for (node, dependencies) in graph.iter().enumerate() {
                let names: Vec<String> = dependencies.iter().map(|&dependency| name(dependency)).collect();
                let references: Vec<&str> = names.iter().map(String::as_str).collect();
                fixture.want(&name(node), Kind::Network, json!({"cidr": "10.0.0.0/16"}), &references);
            }
            let create = fixture.plan().unwrap();
            for (node, dependencies) in graph.iter().enumerate() {
                let names: Vec<String> = dependencies.iter().map(|&dependency| name(dependency)).collect();
                let references: Vec<&str> = names.iter().map(String::as_str).collect();
                fixture.record(&name(node), Kind::Network, &format!("vpc-{node}"), json!({"cidr": "10.0.0.0/16"}), &references);
            }
            fixture.options.destroy = true;
            let destroy = fixture.plan().unwrap();

            for plan in [&create, &destroy] {
                prop_assert_eq!(plan.steps.len(), graph.len());
                for step in &plan.steps {
                    prop_assert!(step.after_steps.iter().all(|&before| before < step.index));
                }
            }
            for (node, dependencies) in graph.iter().enumerate() {
                for &dependency in dependencies {
                    let (later, earlier) = (name(node), name(dependency));
                    let created_after = waits_for(&create, &format!("create {later}"), &format!("create {earlier}"));
                    let deleted_after = waits_for(&destroy, &format!("delete {earlier}"), &format!("delete {later}"));
                    prop_assert!(created_after, "create {} must wait for {}", later, earlier);
                    prop_assert!(deleted_after, "delete {} must wait for {}", earlier, later);
                }
            }
        }
    }
}

#[test]
fn parked_regions_are_neither_changed_nor_deleted_nor_treated_as_gone() {
    // Failed over: state records the primary's network and subnet, and the configuration now
    // wants nothing there.
    let mut fixture = Fixture::new();
    record_network_and_subnet(&mut fixture);
    fixture.options.parked_regions = BTreeSet::from([REGION.to_string()]);
    let plan = fixture.plan().unwrap();
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    assert!(plan.steps.is_empty());

    // The primary is down: nothing read there is not "deleted outside Cairn".
    let live = std::mem::take(&mut fixture.live);
    let plan = fixture.plan().unwrap();
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    assert!(plan.drift.is_empty(), "{:?}", plan.drift);

    // Without parking, the same configuration deletes both.
    fixture.live = live;
    fixture.options.parked_regions.clear();
    assert_eq!(fixture.plan().unwrap().summary().delete, 2);
}

fn intent(operation: Operation, address: &str, kind: Kind, id: Option<&str>) -> Intent {
    Intent {
        operation,
        address: Address::new(address),
        kind,
        region: REGION.to_string(),
        id: id.map(str::to_string),
        token: format!("cairn-{operation}-{address}"),
        since: chrono::Utc::now(),
    }
}

fn resolutions(plan: &Plan) -> Vec<(String, Resolution)> {
    plan.interrupted
        .iter()
        .map(|entry| (entry.intent.address.to_string(), entry.resolution))
        .collect()
}

/// Issue 18: a create a dead run sent, whose object the refresh did not see, is created by a
/// step that carries the intent on (its token, and a look before sending); one whose object
/// the refresh found is adopted.
#[test]
fn an_interrupted_create_is_looked_for_first_or_adopted_when_seen() {
    let mut fixture = Fixture::new();
    network_and_subnet(&mut fixture);
    fixture.state.intents = vec![
        intent(Operation::Create, NETWORK, Kind::Network, None),
        intent(Operation::Create, SUBNET, Kind::Subnet, None),
    ];
    let plan = fixture.plan().unwrap();
    assert_eq!(
        resolutions(&plan),
        vec![
            (NETWORK.to_string(), Resolution::LookFirst),
            (SUBNET.to_string(), Resolution::LookFirst),
        ]
    );
    let create = step(&plan, &format!("create {NETWORK}"));
    assert_eq!(
        create.resumes.as_ref().map(|intent| intent.token.as_str()),
        Some(format!("cairn-create-{NETWORK}").as_str())
    );
    assert!(plan.has_changes());

    // The killed run's network did get made: the refresh finds it by its tags.
    fixture.live_object(
        NETWORK,
        Kind::Network,
        "vpc-1",
        json!({"cidr": "10.0.0.0/16"}),
    );
    let plan = fixture.plan().unwrap();
    assert_eq!(
        resolutions(&plan)[0],
        (NETWORK.to_string(), Resolution::Found)
    );
    assert_eq!(
        step_names(&plan),
        vec![format!("create {SUBNET}")],
        "the network is adopted, not created"
    );
    assert!(plan.steps[0].resumes.is_some());
}

/// Issue 18: an interrupted delete is finished, not forgotten; a delete that took effect is
/// done; an interrupted update is planned from the object as read again.
#[test]
fn an_interrupted_delete_is_finished_and_an_interrupted_update_reread() {
    let mut fixture = Fixture::new();
    network_and_subnet(&mut fixture);
    record_network_and_subnet(&mut fixture);
    let subnet_id = fixture.state.resources[&Address::new(SUBNET)].id.clone();
    fixture.state.intents = vec![
        intent(Operation::Delete, SUBNET, Kind::Subnet, Some(&subnet_id)),
        intent(Operation::Update, NETWORK, Kind::Network, Some("vpc-1")),
    ];
    let plan = fixture.plan().unwrap();
    assert_eq!(
        resolutions(&plan),
        vec![
            (SUBNET.to_string(), Resolution::FinishDelete),
            (NETWORK.to_string(), Resolution::Reread),
        ]
    );
    // The subnet is still wanted: deleted again, then created anew.
    let delete = step(&plan, &format!("delete {SUBNET}"));
    assert!(delete.resumes.is_some());
    assert!(waits_for(
        &plan,
        &format!("create {SUBNET}"),
        &format!("delete {SUBNET}")
    ));

    // The delete had gone through: nothing is sent for it.
    fixture.live.retain(|live| live.id != subnet_id);
    let plan = fixture.plan().unwrap();
    assert_eq!(
        resolutions(&plan)[0],
        (SUBNET.to_string(), Resolution::Gone)
    );
    assert!(!step_names(&plan).contains(&format!("delete {SUBNET}")));
}

/// Regression (issue 17, found by `tests/dr_sim.rs`): objects were matched to state by id
/// alone, so a DR copy's group, whose id is the same name in another region, was taken for
/// the primary's and the failback created the primary's group twice.
#[test]
fn objects_with_one_id_in_two_regions_stay_at_their_own_addresses() {
    let mut fixture = Fixture::new();
    let primary = "volume.data[us-east-1]";
    let copy = "volume.data[us-west-2]";
    fixture.want(primary, Kind::Volume, json!({"size_gb": 10}), &[]);
    fixture.want(copy, Kind::Volume, json!({"size_gb": 10}), &[]);
    fixture.desired.get_mut(&Address::new(copy)).unwrap().region = "us-west-2".to_string();
    fixture.record(
        primary,
        Kind::Volume,
        "shared-name",
        json!({"size_gb": 10}),
        &[],
    );
    fixture.record(
        copy,
        Kind::Volume,
        "shared-name",
        json!({"size_gb": 10}),
        &[],
    );
    fixture
        .state
        .resources
        .get_mut(&Address::new(copy))
        .unwrap()
        .region = "us-west-2".to_string();
    fixture.live[1].region = "us-west-2".to_string();
    let plan = fixture.plan().unwrap();
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    assert!(plan.adopted.is_empty(), "{:?}", plan.adopted);
}

/// A group switched by a blue-green rollout: `web-green` serves at the address, `web` is
/// kept (deposed) until 10:00 on the cloud's clock.
fn switched_group() -> Fixture {
    let mut fixture = Fixture::new();
    let group = json!({"name": "web", "launch_template_id": "lt-1", "desired": 2});
    fixture.want(AUTOSCALING, Kind::AutoscalingGroup, group, &[]);
    let serving = json!({"name": "web-green", "launch_template_id": "lt-1", "desired": 2});
    fixture.record(
        AUTOSCALING,
        Kind::AutoscalingGroup,
        "web-green",
        serving,
        &[],
    );
    let mut old = fixture.state.resources[&Address::new(AUTOSCALING)].clone();
    old.id = "web".to_string();
    old.attributes.insert("name".to_string(), json!("web"));
    fixture.state.deposed.push(old);
    fixture
        .state
        .keep_until
        .insert("web".to_string(), "2026-01-01T10:00:00Z".parse().unwrap());
    fixture.live_object(
        AUTOSCALING,
        Kind::AutoscalingGroup,
        "web",
        json!({"name": "web", "launch_template_id": "lt-1", "desired": 2}),
    );
    fixture
}

fn plan_at(fixture: &Fixture, now: &str) -> Plan {
    let mut observed = fixture.observed();
    observed.now = Some(now.parse().unwrap());
    plan(
        &fixture.desired,
        &BTreeMap::new(),
        &fixture.state,
        observed,
        &fixture.options,
    )
    .unwrap()
}

#[test]
fn a_blue_green_group_serving_under_its_second_name_is_the_configured_group() {
    let plan = plan_at(&switched_group(), "2026-01-01T09:00:00Z");
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    assert!(plan.adopted.is_empty());
}

#[test]
fn a_kept_old_group_is_deleted_only_once_its_deadline_has_passed_or_by_a_destroy() {
    let mut fixture = switched_group();
    let before = plan_at(&fixture, "2026-01-01T09:59:59Z");
    assert!(before.steps.is_empty());
    assert_eq!(before.kept.len(), 1);
    assert!(!before.kept[0].expired);
    // Without a refresh the deadline cannot be told: the group stays.
    let unrefreshed = plan(
        &fixture.desired,
        &BTreeMap::new(),
        &fixture.state,
        Observed::not_refreshed(),
        &fixture.options,
    )
    .unwrap();
    assert!(unrefreshed.steps.is_empty());

    let after = plan_at(&fixture, "2026-01-01T10:00:00Z");
    assert_eq!(
        step_names(&after),
        vec![format!("delete-old {AUTOSCALING}")]
    );
    assert_eq!(after.steps[0].id.as_deref(), Some("web"));
    assert!(after.kept[0].expired);

    fixture.options.destroy = true;
    let destroy = plan_at(&fixture, "2026-01-01T09:00:00Z");
    let mut names = step_names(&destroy);
    names.sort();
    assert_eq!(
        names,
        vec![
            format!("delete {AUTOSCALING}"),
            format!("delete-old {AUTOSCALING}")
        ]
    );
}

#[test]
fn the_second_group_of_a_blue_green_rollout_in_progress_is_neither_adopted_nor_a_duplicate() {
    let mut fixture = Fixture::new();
    let group = json!({"name": "web", "launch_template_id": "lt-1", "desired": 2});
    fixture.want(AUTOSCALING, Kind::AutoscalingGroup, group.clone(), &[]);
    fixture.record(AUTOSCALING, Kind::AutoscalingGroup, "web", group, &[]);
    fixture.live_object(
        AUTOSCALING,
        Kind::AutoscalingGroup,
        "web-green",
        json!({"name": "web-green", "launch_template_id": "lt-1", "desired": 2}),
    );
    let duplicate = fixture.plan().unwrap();
    assert_eq!(
        step_names(&duplicate),
        vec![format!("delete-old {AUTOSCALING}")]
    );

    let spec = crate::model::rollout::RolloutSpec {
        strategy: crate::model::rollout::RolloutStrategy::BlueGreen,
        checkpoints: vec![100],
        min_healthy: 90,
        max_surge: 1,
        warmup_seconds: 0,
        bake_seconds: 0,
        keep_old_seconds: 3600,
        abort_on: Vec::new(),
        timeout_seconds: 600,
        source: SourceLocation {
            file: "main.hcl".to_string(),
            line: 1,
            column: 1,
        },
    };
    fixture.state.rollouts.insert(
        Address::new(AUTOSCALING),
        crate::state::RolloutRecord {
            course: crate::state::RolloutCourse {
                region: REGION.to_string(),
                spec,
                capacity: 2,
                min: 2,
                max: 2,
                from_version: json!(1),
                to_version: json!(2),
                targets: vec![2],
                weights: Vec::new(),
            },
            step: 0,
            phase: crate::state::RolloutPhase::Forward,
            launched: Vec::new(),
            relaunched: Vec::new(),
            green: Some("web-green".to_string()),
            returning: false,
            canary: None,
            reason: None,
            started: "2026-01-01T09:00:00Z".to_string(),
        },
    );
    let plan = fixture.plan().unwrap();
    assert!(plan.steps.is_empty(), "{:?}", step_names(&plan));
    assert!(plan.adopted.is_empty());
}

/// A template at version 2 and a group that a rollback took back to version 1, with the
/// release of version 2 remembered; the group wants the template's latest version and
/// `desired` instances.
fn rolled_back_group(desired: u64) -> Fixture {
    let mut fixture = Fixture::new();
    let template = json!({"name": "web", "image": "ami-00000002", "latest_version": 2});
    fixture.want(TEMPLATE, Kind::LaunchTemplate, template.clone(), &[]);
    fixture.record(TEMPLATE, Kind::LaunchTemplate, "lt-1", template, &[]);
    let group = |version: Value, desired: u64| {
        json!({"name": "web", "launch_template_id": "lt-1", "launch_template_version": version,
               "min": 1, "max": 4, "desired": desired})
    };
    let latest = Value::String(reference(&Address::new(TEMPLATE), "latest_version"));
    fixture.want(
        AUTOSCALING,
        Kind::AutoscalingGroup,
        group(latest, desired),
        &[TEMPLATE],
    );
    fixture.record(
        AUTOSCALING,
        Kind::AutoscalingGroup,
        "web",
        group(json!(1), 2),
        &[TEMPLATE],
    );
    fixture.state.rolled_back.insert(
        Address::new(AUTOSCALING),
        crate::state::RolledBack {
            version: json!(2),
            back_to: json!(1),
            reason: "step 1 of 3: 0 of 1 new instances healthy after 2m".to_string(),
            at: "2026-01-01T00:02:00Z".parse().unwrap(),
        },
    );
    fixture
}

fn planned_version(plan: &Plan) -> Option<Value> {
    let change = plan
        .changes
        .iter()
        .find(|change| change.address.as_str() == AUTOSCALING)?;
    change
        .after
        .as_ref()?
        .get("launch_template_version")
        .cloned()
}

#[test]
fn a_rolled_back_version_is_held_until_the_template_changes() {
    let plan = rolled_back_group(2).plan().unwrap();
    assert!(plan.changes.is_empty(), "{:?}", actions(&plan));
    assert_eq!(plan.held.len(), 1);
    assert_eq!(plan.held[0].address.as_str(), AUTOSCALING);
    assert_eq!(plan.held[0].rolled_back.back_to, json!(1));

    // Another change to the group goes ahead on the version it runs.
    let plan = rolled_back_group(3).plan().unwrap();
    assert_eq!(
        actions(&plan),
        [(AUTOSCALING.to_string(), ChangeAction::Update)]
    );
    assert_eq!(planned_version(&plan), Some(json!(1)));
    assert_eq!(plan.held.len(), 1);

    // A changed template is another release: its new version is not held.
    let mut changed = rolled_back_group(2);
    changed
        .desired
        .get_mut(&Address::new(TEMPLATE))
        .unwrap()
        .attributes
        .insert("image".to_string(), json!("ami-00000003"));
    let plan = changed.plan().unwrap();
    assert!(plan.held.is_empty());
    assert!(!is_known(&planned_version(&plan).unwrap()));
}

/// A `--retry-rollout` of a group in a parked region (the environment failed over) was told
/// to use `--target` or drop an `--exclude`, neither of which brings it into the plan
/// (review): the hint says the region is out of every plan until failback.
#[test]
fn retry_rollout_of_a_group_in_a_parked_region_says_it_waits_for_failback() {
    let mut retried = rolled_back_group(2);
    retried.options.retry_rollouts = vec!["autoscaling.web".to_string()];
    retried.options.parked_regions = BTreeSet::from([REGION.to_string()]);
    let error = retried.plan().unwrap_err();
    assert!(
        matches!(error, PlanError::RetryOutOfScope { parked: true, .. }),
        "{error:?}"
    );
    let help = miette::Diagnostic::help(&error).map(|help| help.to_string());
    assert!(
        help.as_deref()
            .is_some_and(|help| help.contains("cairn dr failback")),
        "{help:?}"
    );
    retried.options.parked_regions.clear();
    retried.options.exclude = vec!["autoscaling.web".to_string()];
    let error = retried.plan().unwrap_err();
    assert!(
        matches!(error, PlanError::RetryOutOfScope { parked: false, .. }),
        "{error:?}"
    );
}

#[test]
fn retry_rollout_lets_the_held_version_go_and_must_name_a_rolled_back_group() {
    let mut retried = rolled_back_group(2);
    retried.options.retry_rollouts = vec!["autoscaling.web".to_string()];
    let plan = retried.plan().unwrap();
    assert!(plan.held.is_empty());
    assert_eq!(planned_version(&plan), Some(json!(2)));

    retried.options.retry_rollouts = vec!["autoscaling.api".to_string()];
    match retried.plan() {
        Err(PlanError::RetryMatchesNothing {
            pattern,
            rolled_back,
        }) => {
            assert_eq!(pattern, "autoscaling.api");
            assert_eq!(rolled_back, [Address::new(AUTOSCALING)]);
        }
        other => panic!("expected RetryMatchesNothing, got {other:?}"),
    }
}

/// Moves the recorded template (in state and in the cloud) on to version 2 with security
/// groups `latest`, and records version 1's as `version_1` when given (as the apply that made
/// it does).
fn template_moved_on(fixture: &mut Fixture, latest: &[&str], version_1: Option<&[&str]>) {
    let moved_on = attributes(json!({"security_group_ids": latest, "latest_version": 2}));
    fixture
        .state
        .resources
        .get_mut(&Address::new(TEMPLATE))
        .unwrap()
        .attributes
        .extend(moved_on.clone());
    fixture.live_mut("lt-1").attributes.extend(moved_on);
    if let Some(groups) = version_1 {
        let version = attributes(json!({"latest_version": 1, "security_group_ids": groups}));
        fixture.state.record_template_version("lt-1", &version);
    }
}

/// A security group recorded with a template that lists it and a group whose instance runs
/// that template; the configuration keeps the template (without the security group) and,
/// when `group_stays`, the group.
fn security_group_in_use(group_stays: bool) -> Fixture {
    let mut fixture = Fixture::new();
    group_and_template(&mut fixture);
    fixture.desired.remove(&Address::new(GROUP));
    fixture
        .desired
        .get_mut(&Address::new(TEMPLATE))
        .unwrap()
        .attributes
        .insert("security_group_ids".to_string(), json!([]));
    record_servers(&mut fixture, 1, group_stays);
    fixture
}

/// Records the autoscaling group of `group_and_template`, its instance running template
/// version `version`, and wants it as it is when it `stays`.
fn record_servers(fixture: &mut Fixture, version: u64, stays: bool) {
    let group = json!({"name": "web", "launch_template_id": "lt-1", "launch_template_version": 1,
                       "min": 1, "max": 1, "desired": 1,
                       "instances": [{"id": "i-1", "launch_template_version": version}]});
    fixture.record(
        AUTOSCALING,
        Kind::AutoscalingGroup,
        "web",
        group.clone(),
        &[TEMPLATE],
    );
    if stays {
        fixture.want(AUTOSCALING, Kind::AutoscalingGroup, group, &[TEMPLATE]);
    }
}

/// A group whose instance still ran an older template version counted as using every
/// security group the plan deleted, in any network: a held group (a rolled-back release)
/// blocked unrelated deletes (review). The groups of a version Cairn made are recorded; only
/// a version whose groups are unknown still counts as using any.
#[test]
fn an_instance_on_an_older_version_uses_that_versions_security_groups_only() {
    let in_use_with = |recorded: Option<&[&str]>| {
        let mut fixture = security_group_in_use(true);
        template_moved_on(&mut fixture, &[], recorded);
        let plan = fixture.plan().unwrap();
        let deleted = step_names(&plan).contains(&format!("delete {GROUP}"));
        let in_use: Vec<String> = plan.in_use.iter().map(|held| held.id.clone()).collect();
        assert_eq!(deleted, in_use.is_empty(), "{:?}", step_names(&plan));
        in_use
    };
    assert!(in_use_with(Some(&["sg-9"])).is_empty());
    assert_eq!(in_use_with(Some(&["sg-9", "sg-1"])), ["sg-1"]);
    // Made before versions were recorded, or outside Cairn: it may use any.
    assert_eq!(in_use_with(None), ["sg-1"]);
}

/// An instance launched from a template since replaced ran a version number of the old one,
/// which the check read as a version of the group's new template: version 2 of the new one
/// (the latest) or its recorded version 1 without the security group said "not in use", and
/// the delete failed with `DependencyViolation` (review). An instance whose template is not
/// the group's may use any security group.
#[test]
fn an_instance_launched_from_a_replaced_template_may_use_any_security_group() {
    for version in [1, 2] {
        let mut fixture = security_group_in_use(true);
        template_moved_on(&mut fixture, &[], Some(&["sg-9"]));
        let on_old_template = json!([{"id": "i-1", "launch_template_id": "lt-0",
                                      "launch_template_version": version}]);
        fixture
            .state
            .resources
            .get_mut(&Address::new(AUTOSCALING))
            .unwrap()
            .attributes
            .insert("instances".into(), on_old_template.clone());
        fixture
            .live_mut("web")
            .attributes
            .insert("instances".into(), on_old_template);
        let plan = fixture.plan().unwrap();
        let in_use: Vec<&str> = plan.in_use.iter().map(|held| held.id.as_str()).collect();
        assert_eq!(in_use, ["sg-1"], "version {version}");
        assert!(!step_names(&plan).contains(&format!("delete {GROUP}")));
    }
}

/// The old group of a blue-green rollout, kept (deposed) until its `keep_old` passed, was
/// not counted as running anything: its instances, still on the old version, kept a
/// security group the plan deleted, and the delete failed with `DependencyViolation`.
#[test]
fn the_kept_old_group_of_a_blue_green_rollout_keeps_the_security_groups_it_runs_with() {
    let mut fixture = security_group_in_use(true);
    template_moved_on(&mut fixture, &[], Some(&["sg-1"]));
    let on_version = |version: u64| json!([{"id": "i-1", "launch_template_version": version}]);
    let serving = fixture
        .state
        .resources
        .get_mut(&Address::new(AUTOSCALING))
        .unwrap();
    serving.attributes.insert("instances".into(), on_version(2));
    let mut old = serving.clone();
    fixture
        .live_mut("web")
        .attributes
        .insert("instances".into(), on_version(2));
    let plan = plan_at(&fixture, "2026-01-01T09:00:00Z");
    assert!(plan.in_use.is_empty(), "{:?}", plan.in_use);

    old.id = "web-blue".to_string();
    old.attributes.insert("name".into(), json!("web-blue"));
    old.attributes.insert("instances".into(), on_version(1));
    fixture.live_object(
        AUTOSCALING,
        Kind::AutoscalingGroup,
        "web-blue",
        Value::Object(old.attributes.clone().into_iter().collect()),
    );
    fixture.state.deposed.push(old);
    fixture.state.keep_until.insert(
        "web-blue".to_string(),
        "2026-01-01T10:00:00Z".parse().unwrap(),
    );
    let plan = plan_at(&fixture, "2026-01-01T09:00:00Z");
    let in_use: Vec<&str> = plan.in_use.iter().map(|held| held.id.as_str()).collect();
    assert_eq!(in_use, ["sg-1"]);
    assert!(!step_names(&plan).contains(&format!("delete {GROUP}")));
    // Once its deadline passed, the old group goes first, and the security group after it.
    let plan = plan_at(&fixture, "2026-01-01T10:00:00Z");
    assert!(plan.in_use.is_empty(), "{:?}", plan.in_use);
    let steps = step_names(&plan);
    let position = |name: String| steps.iter().position(|step| *step == name);
    assert!(
        position(format!("delete-old {AUTOSCALING}")) < position(format!("delete {GROUP}")),
        "{steps:?}"
    );
    assert!(position(format!("delete {GROUP}")).is_some(), "{steps:?}");
}

/// `group_and_template` with the autoscaling group recorded and wanted as it is, its
/// instance running template version `version`.
fn servers_on_version(version: u64) -> Fixture {
    let mut fixture = Fixture::new();
    group_and_template(&mut fixture);
    record_servers(&mut fixture, version, true);
    fixture
}

/// A replaced security group (a new name or description) skipped the in-use check: its old
/// object's delete ran while instances still used it and failed with `DependencyViolation`
/// (review). With `create_before_destroy` the old one stays deposed until they let go;
/// destroy-then-create cannot wait, and is refused.
#[test]
fn a_replaced_security_group_instances_use_is_kept_or_refused() {
    let mut fixture = servers_on_version(1);
    let group = fixture.desired.get_mut(&Address::new(GROUP)).unwrap();
    group.attributes.insert("name".into(), json!("web-2"));
    group.lifecycle.create_before_destroy = true;
    let plan = fixture.plan().unwrap();
    assert_eq!(
        step_names(&plan),
        vec![format!("create {GROUP}"), format!("update {TEMPLATE}")]
    );
    assert!(plan.changes[0].create_before_destroy);
    // Nothing is destroyed now: the replacement keeps its old object (review).
    assert!(plan.changes[0].keeps_old);
    assert_eq!(plan.summary().destroyed(), 0);
    assert_eq!(plan.in_use.len(), 1);
    assert_eq!(plan.in_use[0].id, "sg-1");
    assert_eq!(plan.in_use[0].users, [Address::new(AUTOSCALING)]);

    let mut fixture = servers_on_version(1);
    let group = fixture.desired.get_mut(&Address::new(GROUP)).unwrap();
    group
        .attributes
        .insert("description".into(), json!("front"));
    match fixture.plan() {
        Err(PlanError::ReplaceInUse { replacements }) => {
            let [replaced] = replacements.as_slice() else {
                panic!("expected one refused replacement, got {replacements:?}");
            };
            assert_eq!(replaced.address, Address::new(GROUP));
            assert_eq!(replaced.id, "sg-1");
            assert_eq!(replaced.replace_because, ["description"]);
            assert_eq!(replaced.users, [Address::new(AUTOSCALING)]);
        }
        other => panic!("expected ReplaceInUse, got {other:?}"),
    }
}

/// A `create_before_destroy` replacement of a security group that keeps its name in its
/// network (only the description changed) was planned, and its create failed with
/// `InvalidGroup.Duplicate` while the old group existed (review): the plan refuses it.
#[test]
fn a_created_first_security_group_that_keeps_its_name_is_refused() {
    let mut fixture = servers_on_version(1);
    let group = fixture.desired.get_mut(&Address::new(GROUP)).unwrap();
    group
        .attributes
        .insert("description".into(), json!("front"));
    group.lifecycle.create_before_destroy = true;
    match fixture.plan() {
        Err(PlanError::ReplaceKeepsName { replacements }) => {
            let [replaced] = replacements.as_slice() else {
                panic!("expected one refused replacement, got {replacements:?}");
            };
            assert_eq!(replaced.address, Address::new(GROUP));
            assert_eq!(replaced.replace_because, ["description"]);
        }
        other => panic!("expected ReplaceKeepsName, got {other:?}"),
    }
    let group = fixture.desired.get_mut(&Address::new(GROUP)).unwrap();
    group.attributes.insert("name".into(), json!("web-2"));
    assert!(fixture.plan().is_ok());
}

/// The deposed old object of an earlier replacement is deleted only once no instance runs
/// the version that uses it.
#[test]
fn a_deposed_security_group_instances_use_stays_until_they_let_go() {
    let deposed_plan = |running: u64| {
        let mut fixture = servers_on_version(running);
        template_moved_on(&mut fixture, &["sg-1"], Some(&["sg-0"]));
        let mut old = fixture.state.resources[&Address::new(GROUP)].clone();
        old.id = "sg-0".to_string();
        fixture.state.deposed.push(old);
        fixture.plan().unwrap()
    };
    let plan = deposed_plan(1);
    assert!(step_names(&plan).is_empty(), "{:?}", step_names(&plan));
    assert_eq!(plan.in_use.len(), 1);
    assert_eq!(plan.in_use[0].id, "sg-0");

    let plan = deposed_plan(2);
    assert_eq!(step_names(&plan), vec![format!("delete-old {GROUP}")]);
    assert!(plan.in_use.is_empty());
}

/// A plan that deleted a security group and the group whose instances ran with it, keeping
/// their template, deleted the security group first when state no longer recorded the
/// template using it (the template had moved on to another security group while the instances
/// still ran the older version), and the cloud refused it (review).
#[test]
fn a_security_group_is_deleted_after_the_groups_whose_instances_use_it() {
    let mut fixture = servers_on_version(1);
    fixture.desired.remove(&Address::new(GROUP));
    fixture.desired.remove(&Address::new(AUTOSCALING));
    let template = fixture.desired.get_mut(&Address::new(TEMPLATE)).unwrap();
    template.depends_on.clear();
    template
        .attributes
        .insert("security_group_ids".into(), json!(["sg-2"]));
    template_moved_on(&mut fixture, &["sg-2"], Some(&["sg-1"]));
    fixture
        .state
        .resources
        .get_mut(&Address::new(TEMPLATE))
        .unwrap()
        .dependencies
        .clear();
    let plan = fixture.plan().unwrap();
    assert!(plan.in_use.is_empty());
    assert!(
        waits_for(
            &plan,
            &format!("delete {GROUP}"),
            &format!("delete {AUTOSCALING}")
        ),
        "{:?}",
        step_names(&plan)
    );
}

#[test]
fn a_security_group_instances_still_use_stays_until_they_let_go() {
    let plan = security_group_in_use(true).plan().unwrap();
    assert!(
        !step_names(&plan).iter().any(|name| name.contains(GROUP)),
        "{:?}",
        step_names(&plan)
    );
    assert_eq!(plan.in_use.len(), 1);
    assert_eq!(plan.in_use[0].id, "sg-1");
    assert_eq!(plan.in_use[0].users, [Address::new(AUTOSCALING)]);

    // With its group deleted too, nothing stays to use it: it is deleted in the same plan.
    let plan = security_group_in_use(false).plan().unwrap();
    assert!(plan.in_use.is_empty());
    let names = step_names(&plan);
    assert!(names.contains(&format!("delete {GROUP}")), "{names:?}");
}

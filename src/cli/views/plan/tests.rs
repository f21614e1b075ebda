//! Snapshots of both views for one small plan that has every kind of change, and checks that
//! secrets never appear.

use super::*;
use crate::model::{Address, DesiredResource, Kind, Lifecycle, Owner, Tags, reference};
use crate::plan::{Observed, PlanOptions, plan};
use crate::provider::LiveResource;
use crate::state::{StateDocument, StateResource};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const OLD_SECRET: &str = "old-secret-1234";
const NEW_SECRET: &str = "new-secret-5678";

fn attributes(value: Value) -> crate::model::Attributes {
    value.as_object().unwrap().clone().into_iter().collect()
}

fn owner() -> Owner {
    Owner {
        stack: "shop".to_string(),
        env: "staging".to_string(),
    }
}

fn desired(
    address: &str,
    kind: Kind,
    values: Value,
    depends_on: &[&str],
) -> (Address, DesiredResource) {
    let address = Address::new(address);
    let resource = DesiredResource {
        address: address.clone(),
        kind,
        region: "us-east-1".to_string(),
        attributes: attributes(values),
        tags: Tags::new(),
        depends_on: depends_on.iter().map(|name| Address::new(*name)).collect(),
        lifecycle: Lifecycle::default(),
        sensitive: BTreeSet::new(),
        source: None,
    };
    (address, resource)
}

fn recorded(address: &str, kind: Kind, id: &str, values: Value) -> StateResource {
    let address = Address::new(address);
    StateResource {
        tags: owner().tags_for(&address),
        address,
        kind,
        region: "us-east-1".to_string(),
        id: id.to_string(),
        attributes: attributes(values),
        dependencies: BTreeSet::new(),
        lifecycle: Lifecycle::default(),
        sensitive: BTreeSet::new(),
    }
}

/// What the cloud reports for a recorded object that nobody changed.
fn live_of(object: &StateResource) -> LiveResource {
    LiveResource {
        kind: object.kind,
        region: object.region.clone(),
        id: object.id.clone(),
        attributes: object.attributes.clone(),
        tags: object.tags.clone(),
    }
}

const OLD_USER_DATA: &str = "#cloud-config\npackages:\n  - nginx\nruncmd:\n  - systemctl enable nginx\n  - systemctl start nginx\n  - echo one\n  - echo two\n  - echo three\n  - echo four\n";

fn sample_plan() -> crate::plan::Plan {
    let new_user_data = OLD_USER_DATA.replace("  - nginx\n", "  - nginx\n  - curl\n");
    let mut wanted = BTreeMap::from([
        desired(
            "network.main[us-east-1]",
            Kind::Network,
            json!({"cidr": "10.1.0.0/16"}),
            &[],
        ),
        desired(
            "launch_template.web[us-east-1]",
            Kind::LaunchTemplate,
            json!({"name": "web", "image": "ami-2", "user_data": new_user_data}),
            &[],
        ),
        desired(
            "launch_template.app[us-east-1]",
            Kind::LaunchTemplate,
            json!({"name": "app", "image": "ami-1", "user_data": format!("password={NEW_SECRET}")}),
            &[],
        ),
        desired(
            "autoscaling.web[us-east-1]",
            Kind::AutoscalingGroup,
            json!({
                "name": "web",
                "launch_template_id": reference(&Address::new("launch_template.web[us-east-1]"), "id"),
                "launch_template_version": reference(&Address::new("launch_template.web[us-east-1]"), "latest_version"),
                "min": 2,
                "max": 12,
                "desired": 2,
            }),
            &["launch_template.web[us-east-1]"],
        ),
    ]);
    let app = wanted
        .get_mut(&Address::new("launch_template.app[us-east-1]"))
        .unwrap();
    app.sensitive.insert("user_data".to_string());
    let group = wanted
        .get_mut(&Address::new("autoscaling.web[us-east-1]"))
        .unwrap();
    group.tags.insert("team".to_string(), "web".to_string());

    let mut state = StateDocument::new("shop", "staging");
    state.serial = 7;
    let mut app_state = recorded(
        "launch_template.app[us-east-1]",
        Kind::LaunchTemplate,
        "lt-app",
        json!({"name": "app", "image": "ami-1", "user_data": format!("password={OLD_SECRET}"), "latest_version": 3}),
    );
    app_state.sensitive.insert("user_data".to_string());
    for object in [
        recorded(
            "network.main[us-east-1]",
            Kind::Network,
            "vpc-1",
            json!({"cidr": "10.0.0.0/16"}),
        ),
        recorded(
            "launch_template.web[us-east-1]",
            Kind::LaunchTemplate,
            "lt-web",
            json!({"name": "web", "image": "ami-1", "user_data": OLD_USER_DATA, "latest_version": 4}),
        ),
        app_state,
        recorded(
            "volume.old[us-east-1a]",
            Kind::Volume,
            "vol-1",
            json!({"zone": "us-east-1a", "size_gb": 10}),
        ),
    ] {
        state.resources.insert(object.address.clone(), object);
    }
    let mut live: Vec<LiveResource> = state.resources.values().map(live_of).collect();
    // Someone changed the app template's secret and the web template's image by hand.
    live[0]
        .attributes
        .insert("user_data".into(), json!("password=hand-made-secret"));
    live[1].attributes.insert("image".into(), json!("ami-9"));
    let observed = Observed::from_live(crate::plan::refresh_scopes(&wanted, &state), live);
    let options = PlanOptions::default();
    plan(&wanted, &BTreeMap::new(), &state, observed, &options).unwrap()
}

#[test]
fn text_rendering() {
    let plan = sample_plan();
    let text = render_text(&plan, &RenderOptions { color: false });
    insta::assert_snapshot!(text);
    assert!(text.ends_with("Plan: 2 to add, 2 to change, 2 to destroy.\n"));
}

#[test]
fn json_rendering() {
    let plan = sample_plan();
    let rendered = render_json(&plan);
    assert_eq!(
        rendered["summary"],
        json!({"create": 1, "update": 2, "replace": 1, "delete": 1})
    );
    insta::assert_snapshot!(serde_json::to_string_pretty(&rendered).unwrap());
}

#[test]
fn secrets_appear_in_no_view() {
    let plan = sample_plan();
    let outputs = [
        render_text(&plan, &RenderOptions { color: false }),
        render_text(&plan, &RenderOptions { color: true }),
        render_json(&plan).to_string(),
    ];
    for output in outputs {
        for secret in [OLD_SECRET, NEW_SECRET, "hand-made-secret"] {
            assert!(
                !output.contains(secret),
                "`{secret}` leaked into:\n{output}"
            );
        }
    }
}

#[test]
fn colors_are_switchable() {
    let plan = sample_plan();
    assert!(render_text(&plan, &RenderOptions { color: true }).contains('\u{1b}'));
    assert!(!render_text(&plan, &RenderOptions { color: false }).contains('\u{1b}'));
}

#[test]
fn empty_plan_says_no_changes() {
    let state = StateDocument::new("shop", "staging");
    let plan = plan(
        &BTreeMap::new(),
        &BTreeMap::new(),
        &state,
        Observed::not_refreshed(),
        &PlanOptions::default(),
    )
    .unwrap();
    assert_eq!(
        render_text(&plan, &RenderOptions::default()),
        "No changes. Your infrastructure matches the configuration.\n"
    );
}

/// The plan from `recorded` (what state and the cloud agree on) to `wanted`.
fn plan_between(
    wanted: Vec<(Address, DesiredResource)>,
    recorded: Vec<StateResource>,
) -> crate::plan::Plan {
    let wanted: BTreeMap<Address, DesiredResource> = wanted.into_iter().collect();
    let mut state = StateDocument::new("shop", "staging");
    state.serial = 1;
    let live: Vec<LiveResource> = recorded.iter().map(live_of).collect();
    for object in recorded {
        state.resources.insert(object.address.clone(), object);
    }
    let observed = Observed::from_live(crate::plan::refresh_scopes(&wanted, &state), live);
    plan(
        &wanted,
        &BTreeMap::new(),
        &state,
        observed,
        &PlanOptions::default(),
    )
    .unwrap()
}

fn rule(port: i64, cidr: &str) -> Value {
    json!({"cidr": cidr, "from_port": port, "protocol": "tcp", "to_port": port})
}

fn text_of(plan: &crate::plan::Plan) -> String {
    render_text(plan, &RenderOptions { color: false })
}

#[test]
fn nested_values_render_as_blocks_one_attribute_a_line() {
    let plan = plan_between(
        vec![
            desired(
                "firewall.web[us-east-1]",
                Kind::SecurityGroup,
                json!({
                    "name": "web",
                    "network_id": reference(&Address::new("network.main[us-east-1]"), "id"),
                    "ingress": [rule(443, "0.0.0.0/0"), {
                        "from_port": 8080,
                        "protocol": "tcp",
                        "source_group_id": reference(&Address::new("firewall.lb[us-east-1]"), "id"),
                        "to_port": 8080,
                    }],
                    "egress": [{"cidr": "0.0.0.0/0", "from_port": -1, "protocol": "all", "to_port": -1}],
                }),
                &[],
            ),
            desired(
                "launch_template.web[us-east-1]",
                Kind::LaunchTemplate,
                json!({
                    "name": "web",
                    "volumes": [{"device": "/dev/xvda", "encrypted": true, "size_gb": 20}],
                    "security_group_ids": ["sg-1", "sg-2"],
                    "metadata": {"owner": "web", "limits": {"cpu": 2, "memory_gb": 4}},
                }),
                &[],
            ),
        ],
        Vec::new(),
    );
    let text = text_of(&plan);
    assert!(!text.contains("{\""), "one-line JSON in:\n{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn nulls_are_hidden_on_create() {
    let plan = plan_between(
        vec![desired(
            "launch_template.web[us-east-1]",
            Kind::LaunchTemplate,
            json!({
                "name": "web",
                "image": "ami-1",
                "user_data": null,
                "volumes": [{"device": "/dev/xvda", "size_gb": 20, "snapshot_id": null}],
            }),
            &[],
        )],
        Vec::new(),
    );
    let text = text_of(&plan);
    assert!(!text.contains("null"), "{text}");
    assert!(!text.contains("user_data"), "{text}");
    assert!(!text.contains("snapshot_id"), "{text}");
    insta::assert_snapshot!(text);
}

/// Regression (issue 9): a rule list the cloud returned in another order was shown as
/// changed beside the attribute that really changed.
#[test]
fn a_set_like_list_that_only_changed_order_is_not_shown_as_changed() {
    let wanted = |egress_port: i64| {
        vec![desired(
            "firewall.web[us-east-1]",
            Kind::SecurityGroup,
            json!({
                "name": "web",
                "ingress": [rule(22, "10.0.0.0/8"), rule(443, "0.0.0.0/0")],
                "egress": [rule(egress_port, "0.0.0.0/0")],
            }),
            &[],
        )]
    };
    let recorded = || {
        vec![recorded(
            "firewall.web[us-east-1]",
            Kind::SecurityGroup,
            "sg-1",
            json!({
                "name": "web",
                "ingress": [rule(443, "0.0.0.0/0"), rule(22, "10.0.0.0/8")],
                "egress": [rule(443, "0.0.0.0/0")],
            }),
        )]
    };
    let plan = plan_between(wanted(8443), recorded());
    let text = text_of(&plan);
    assert!(!text.contains("ingress"), "{text}");
    assert!(text.contains("will be updated in place"), "{text}");
    insta::assert_snapshot!(text);

    // With nothing else changed, the order alone is no change at all.
    let plan = plan_between(wanted(443), recorded());
    assert!(plan.changes.is_empty(), "{}", text_of(&plan));
}

#[test]
fn an_ordered_list_shows_the_elements_that_changed() {
    let volumes = |first: i64| {
        json!([
            {"device": "/dev/xvda", "size_gb": first},
            {"device": "/dev/xvdb", "size_gb": 100},
            {"device": "/dev/xvdc", "size_gb": 200},
        ])
    };
    let plan = plan_between(
        vec![desired(
            "launch_template.web[us-east-1]",
            Kind::LaunchTemplate,
            json!({"name": "web", "volumes": volumes(30), "zones": ["a", "c"]}),
            &[],
        )],
        vec![recorded(
            "launch_template.web[us-east-1]",
            Kind::LaunchTemplate,
            "lt-1",
            json!({"name": "web", "volumes": volumes(20), "zones": ["a", "b"], "latest_version": 1}),
        )],
    );
    insta::assert_snapshot!(text_of(&plan));
}

#[test]
fn a_sensitive_nested_value_never_appears() {
    let secret_cidr = "203.0.113.77/32";
    let mut wanted = vec![desired(
        "firewall.admin[us-east-1]",
        Kind::SecurityGroup,
        json!({"name": "admin", "ingress": [rule(22, secret_cidr)]}),
        &[],
    )];
    wanted[0].1.sensitive.insert("ingress".to_string());
    let created = plan_between(wanted.clone(), Vec::new());

    let mut before = recorded(
        "firewall.admin[us-east-1]",
        Kind::SecurityGroup,
        "sg-1",
        json!({"name": "admin", "ingress": [rule(22, "198.51.100.1/32")]}),
    );
    before.sensitive.insert("ingress".to_string());
    let updated = plan_between(wanted, vec![before]);

    let text = format!("{}\n{}", text_of(&created), text_of(&updated));
    for secret in [secret_cidr, "198.51.100.1/32"] {
        assert!(!text.contains(secret), "`{secret}` leaked into:\n{text}");
        assert!(!render_json(&created).to_string().contains(secret));
        assert!(!render_json(&updated).to_string().contains(secret));
    }
    insta::assert_snapshot!(text);
}

/// Issue 18: the plan says which calls a dead run left unresolved and what it does about
/// each, in text and JSON.
#[test]
fn interrupted_calls_are_listed_with_what_the_plan_does_about_them() {
    use crate::plan::{Interrupted, Operation, Resolution};
    use crate::state::Intent;
    let since = chrono::DateTime::parse_from_rfc3339("2026-11-30T12:04:11Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let intent = |operation, address: &str, kind, id: Option<&str>| Intent {
        operation,
        address: Address::new(address),
        kind,
        region: "us-east-1".to_string(),
        id: id.map(str::to_string),
        token: format!("cairn-{address}"),
        since,
    };
    let mut plan = sample_plan();
    plan.interrupted = vec![
        Interrupted {
            intent: intent(
                Operation::Create,
                "volume.data[us-east-1]",
                Kind::Volume,
                None,
            ),
            resolution: Resolution::LookFirst,
        },
        Interrupted {
            intent: intent(
                Operation::Delete,
                "firewall.old[us-east-1]",
                Kind::SecurityGroup,
                Some("sg-9"),
            ),
            resolution: Resolution::FinishDelete,
        },
    ];
    let text = render_text(&plan, &RenderOptions { color: false });
    assert!(
        text.contains(
            "1 create interrupted at 12:04:11 UTC: looking for it before creating again\n      \
             volume.data[us-east-1]\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("1 delete interrupted at 12:04:11 UTC: finishing the delete\n      firewall.old[us-east-1] (`sg-9`)\n"),
        "{text}"
    );
    let rendered = render_json(&plan);
    assert_eq!(
        rendered["interrupted"][0],
        json!({
            "operation": "create",
            "address": "volume.data[us-east-1]",
            "kind": "volume",
            "region": "us-east-1",
            "id": null,
            "since": "2026-11-30T12:04:11Z",
            "resolution": "look_first",
            "message": "looking for it before creating again",
        })
    );
    assert_eq!(
        rendered["interrupted"][1]["resolution"],
        json!("finish_delete")
    );

    // Nothing else to do still is not "no changes": applying records how they ended.
    let mut quiet = crate::plan::Plan {
        changes: Vec::new(),
        steps: Vec::new(),
        ..plan
    };
    quiet.interrupted.truncate(1);
    quiet.interrupted[0].resolution = Resolution::Found;
    assert!(!summary_line(&quiet).starts_with("No changes"));
}

//! Plan → apply → plan again, through the local state backend and an in-memory cloud: the
//! second plan is empty (idempotence), updates whose values were unknown at plan time land,
//! replacements cascade, a crash's leftovers are adopted, and destroy leaves nothing.

use async_trait::async_trait;
use cairn::apply::{ApplyOptions, SilentObserver, StateSink, execute};
use cairn::model::{Address, Attributes, DesiredResource, Kind, Lifecycle, Owner, Tags, reference};
use cairn::plan::{Observed, Plan, PlanOptions, plan, refresh, refresh_scopes};
use cairn::provider::{
    CallCount, CreateRequest, LiveResource, Provider, ProviderError, UpdateRequest,
};
use cairn::state::{LocalBackend, StateBackend, StateDocument};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// A cloud in memory: ids per kind, a launch template's version grows on every update.
#[derive(Default)]
struct MemoryCloud {
    objects: Mutex<BTreeMap<String, LiveResource>>,
    counter: Mutex<u64>,
    calls: Mutex<CallCount>,
}

impl MemoryCloud {
    fn objects(&self) -> Vec<LiveResource> {
        self.objects.lock().unwrap().values().cloned().collect()
    }
}

#[async_trait]
impl cairn::provider::CoreProvider for MemoryCloud {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn read(
        &self,
        region: &str,
        kind: Kind,
        owner: &Owner,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        self.calls.lock().unwrap().reads += 1;
        Ok(self
            .objects()
            .into_iter()
            .filter(|object| {
                object.region == region && object.kind == kind && owner.owns(&object.tags)
            })
            .collect())
    }

    async fn create(&self, request: &CreateRequest) -> Result<LiveResource, ProviderError> {
        self.calls.lock().unwrap().mutations += 1;
        let number = {
            let mut counter = self.counter.lock().unwrap();
            *counter += 1;
            *counter
        };
        let mut attributes = request.attributes.clone();
        if request.kind == Kind::LaunchTemplate {
            attributes.insert("latest_version".to_string(), json!(1));
        }
        let object = LiveResource {
            kind: request.kind,
            region: request.region.clone(),
            id: format!("{}-{number}", request.kind),
            attributes,
            tags: request.tags.clone(),
        };
        self.objects
            .lock()
            .unwrap()
            .insert(object.id.clone(), object.clone());
        Ok(object)
    }

    async fn update(&self, request: &UpdateRequest) -> Result<LiveResource, ProviderError> {
        self.calls.lock().unwrap().mutations += 1;
        let mut objects = self.objects.lock().unwrap();
        let object = objects
            .get_mut(&request.id)
            .ok_or_else(|| ProviderError::NotFound {
                kind: request.kind,
                region: request.region.clone(),
                id: request.id.clone(),
            })?;
        let version = object
            .attributes
            .get("latest_version")
            .and_then(Value::as_u64);
        object.attributes.extend(request.after.clone());
        if let Some(version) = version {
            object
                .attributes
                .insert("latest_version".to_string(), json!(version + 1));
        }
        object.tags = request.tags.clone();
        Ok(object.clone())
    }

    async fn delete(&self, region: &str, kind: Kind, id: &str) -> Result<(), ProviderError> {
        self.calls.lock().unwrap().mutations += 1;
        self.objects
            .lock()
            .unwrap()
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| ProviderError::NotFound {
                kind,
                region: region.to_string(),
                id: id.to_string(),
            })
    }

    async fn import(
        &self,
        region: &str,
        kind: Kind,
        id: &str,
    ) -> Result<LiveResource, ProviderError> {
        self.objects
            .lock()
            .unwrap()
            .get(id)
            .cloned()
            .ok_or_else(|| ProviderError::NotFound {
                kind,
                region: region.to_string(),
                id: id.to_string(),
            })
    }

    fn calls(&self) -> CallCount {
        self.calls.lock().unwrap().clone()
    }
}

/// Saves through the local backend, with the serial the executor chose.
struct BackendSink<'a>(&'a LocalBackend);

impl StateSink for BackendSink<'_> {
    fn persist(
        &mut self,
        state: &StateDocument,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.persist(state).map_err(Into::into)
    }
}

const REGION: &str = "us-east-1";
const NETWORK: &str = "network.main[us-east-1]";
const SUBNET: &str = "network.main.subnet.public[us-east-1a]";
const GROUP: &str = "firewall.web[us-east-1]";
const TEMPLATE: &str = "launch_template.web[us-east-1]";
const AUTOSCALING: &str = "autoscaling.web[us-east-1]";

fn id_of(address: &str) -> String {
    reference(&Address::new(address), "id")
}

fn resource(
    address: &str,
    kind: Kind,
    attributes: Value,
    depends_on: &[&str],
) -> (Address, DesiredResource) {
    let address = Address::new(address);
    let desired = DesiredResource {
        address: address.clone(),
        kind,
        region: REGION.to_string(),
        attributes: attributes
            .as_object()
            .unwrap()
            .clone()
            .into_iter()
            .collect::<Attributes>(),
        tags: Tags::from([("app".to_string(), "shop".to_string())]),
        depends_on: depends_on
            .iter()
            .map(|name| Address::new(*name))
            .collect::<BTreeSet<_>>(),
        lifecycle: Lifecycle::default(),
        sensitive: BTreeSet::new(),
        source: None,
    };
    (address, desired)
}

fn config(cidr: &str, image: &str) -> BTreeMap<Address, DesiredResource> {
    BTreeMap::from([
        resource(NETWORK, Kind::Network, json!({"cidr": cidr}), &[]),
        resource(
            SUBNET,
            Kind::Subnet,
            json!({"network_id": id_of(NETWORK), "cidr": "10.0.1.0/24", "zone": "us-east-1a", "public": true}),
            &[NETWORK],
        ),
        resource(
            GROUP,
            Kind::SecurityGroup,
            json!({"name": "web", "description": "web", "network_id": id_of(NETWORK), "ingress": [], "egress": []}),
            &[NETWORK],
        ),
        resource(
            TEMPLATE,
            Kind::LaunchTemplate,
            json!({"name": "web", "image": image, "instance_type": "t3.small", "security_group_ids": [id_of(GROUP)], "user_data": "#cloud-config\n"}),
            &[GROUP],
        ),
        resource(
            AUTOSCALING,
            Kind::AutoscalingGroup,
            json!({
                "name": "web",
                "launch_template_id": id_of(TEMPLATE),
                "launch_template_version": reference(&Address::new(TEMPLATE), "latest_version"),
                "subnet_ids": [id_of(SUBNET)],
                "min": 1,
                "max": 3,
                "desired": 2,
            }),
            &[TEMPLATE, SUBNET],
        ),
    ])
}

struct Stack {
    _directory: tempfile::TempDir,
    backend: LocalBackend,
    cloud: Arc<MemoryCloud>,
}

impl Stack {
    fn new() -> Self {
        let directory = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(directory.path(), "staging").unwrap();
        Stack {
            _directory: directory,
            backend,
            cloud: Arc::new(MemoryCloud::default()),
        }
    }

    fn state(&self) -> StateDocument {
        self.backend
            .load()
            .unwrap()
            .unwrap_or_else(|| StateDocument::new("shop", "staging"))
    }

    async fn plan(
        &self,
        desired: &BTreeMap<Address, DesiredResource>,
        options: PlanOptions,
    ) -> Plan {
        let state = self.state();
        let owner = Owner {
            stack: "shop".to_string(),
            env: "staging".to_string(),
        };
        let observed: Observed = refresh(
            self.cloud.as_ref(),
            &owner,
            &refresh_scopes(desired, &state),
            &state,
        )
        .await
        .unwrap();
        plan(desired, &BTreeMap::new(), &state, observed, &options).unwrap()
    }

    async fn apply(&self, plan: &Plan) {
        let _lock = self.backend.lock("apply").unwrap();
        let state = self.state();
        cairn::plan::ensure_applicable(plan, &state).unwrap();
        let options = ApplyOptions {
            jitter_seed: Some(1),
            ..ApplyOptions::default()
        };
        let report = execute(
            plan,
            self.cloud.clone(),
            state,
            &mut BackendSink(&self.backend),
            &options,
            &SilentObserver,
        )
        .await;
        assert!(report.succeeded(), "{report:?}");
    }
}

fn actions(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .map(|change| format!("{:?} {}", change.action, change.address))
        .collect()
}

#[tokio::test]
async fn plan_apply_plan_converges_through_updates_replacements_and_destroy() {
    let stack = Stack::new();
    let desired = config("10.0.0.0/16", "ami-00000001");

    let first = stack.plan(&desired, PlanOptions::default()).await;
    assert_eq!(first.summary().create, 5);
    assert_eq!(first.refresh_calls.reads, 5);
    stack.apply(&first).await;
    assert_eq!(stack.cloud.objects().len(), 5);
    let second = stack.plan(&desired, PlanOptions::default()).await;
    assert!(!second.has_changes(), "{:?}", actions(&second));

    // A new image makes a new template version, known only once the update ran.
    let new_image = config("10.0.0.0/16", "ami-00000002");
    let update = stack.plan(&new_image, PlanOptions::default()).await;
    assert_eq!(
        actions(&update),
        vec![
            format!("Update {AUTOSCALING}"),
            format!("Update {TEMPLATE}")
        ]
    );
    stack.apply(&update).await;
    let group = stack
        .cloud
        .objects()
        .into_iter()
        .find(|object| object.kind == Kind::AutoscalingGroup)
        .unwrap();
    assert_eq!(group.attributes["launch_template_version"], json!(2));
    assert!(
        !stack
            .plan(&new_image, PlanOptions::default())
            .await
            .has_changes()
    );

    // A new network cidr replaces the network and everything built on its id.
    let moved = config("10.9.0.0/16", "ami-00000002");
    let replace = stack.plan(&moved, PlanOptions::default()).await;
    // The group and template take the new ids in place; the rest is replaced.
    assert_eq!(
        actions(&replace),
        vec![
            format!("Update {AUTOSCALING}"),
            format!("Replace {GROUP}"),
            format!("Update {TEMPLATE}"),
            format!("Replace {SUBNET}"),
            format!("Replace {NETWORK}"),
        ]
    );
    stack.apply(&replace).await;
    assert_eq!(stack.cloud.objects().len(), 5);
    assert!(
        !stack
            .plan(&moved, PlanOptions::default())
            .await
            .has_changes()
    );

    let destroy = stack
        .plan(
            &moved,
            PlanOptions {
                destroy: true,
                ..PlanOptions::default()
            },
        )
        .await;
    assert_eq!(destroy.summary().delete, 5);
    stack.apply(&destroy).await;
    assert!(stack.cloud.objects().is_empty());
    assert!(stack.state().resources.is_empty());
}

#[tokio::test]
async fn objects_left_by_a_crash_are_adopted_not_created_twice() {
    let stack = Stack::new();
    let desired = config("10.0.0.0/16", "ami-00000001");
    let first = stack.plan(&desired, PlanOptions::default()).await;
    // The process died after the network's create call returned and before state was saved.
    let network_step = first
        .steps
        .iter()
        .find(|step| step.address.as_str() == NETWORK)
        .unwrap();
    stack
        .cloud
        .create(&CreateRequest {
            kind: Kind::Network,
            region: REGION.to_string(),
            attributes: network_step.after.clone().unwrap(),
            tags: network_step.tags.clone(),
            token: "crashed".to_string(),
        })
        .await
        .unwrap();

    let after_crash = stack.plan(&desired, PlanOptions::default()).await;
    assert_eq!(after_crash.adopted.len(), 1);
    assert_eq!(after_crash.summary().create, 4);
    stack.apply(&after_crash).await;
    assert_eq!(stack.cloud.objects().len(), 5);
    assert!(
        !stack
            .plan(&desired, PlanOptions::default())
            .await
            .has_changes()
    );
}

#[tokio::test]
async fn a_saved_plan_is_refused_after_the_state_moved_on() {
    let stack = Stack::new();
    let desired = config("10.0.0.0/16", "ami-00000001");
    let first = stack.plan(&desired, PlanOptions::default()).await;
    let stale = stack.plan(&desired, PlanOptions::default()).await;
    stack.apply(&first).await;
    let error = cairn::plan::ensure_applicable(&stale, &stack.state()).unwrap_err();
    let help = miette::Diagnostic::help(&error).map(|help| help.to_string());
    assert!(
        help.is_some_and(|help| help.contains("run `cairn plan` again")),
        "{error}"
    );
}

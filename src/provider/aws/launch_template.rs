//! `launch_template` → launch template. The contract's attributes are those of the default
//! version; an update creates a version and makes it the default. `latest_version` is the
//! template's latest version number.
//!
//! A refresh reads the owned templates (tag-filtered) and then every template's default
//! version in one DescribeLaunchTemplateVersions call (`$Default` without a template id
//! returns the default version of each template in the region), so it costs two calls per
//! page, not one per template.

use super::consistency::until_visible;
use super::context::{RegionContext, Selector, describe_pages};
use super::error::missing_id;
use super::{attributes, tags};
use crate::model::{Attributes, Kind, Value, cloud};
use crate::provider::{CreateRequest, LiveResource, ProviderError, UpdateRequest};
use aws_sdk_ec2::types::{
    InstanceType, LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest,
    LaunchTemplateHttpTokensState, LaunchTemplateInstanceMetadataOptionsRequest,
    LaunchTemplateVersion, RequestLaunchTemplateData, ResourceType, ResponseLaunchTemplateData,
};
use std::collections::BTreeMap;

const DEFAULT_VERSION: &str = "$Default";

/// The launch template data the attributes ask for.
fn data(attributes: &crate::model::Attributes) -> Result<RequestLaunchTemplateData, ProviderError> {
    let mut data = RequestLaunchTemplateData::builder()
        .image_id(attributes::string(attributes, "image")?)
        .instance_type(InstanceType::from(
            attributes::string(attributes, "instance_type")?.as_str(),
        ))
        .set_security_group_ids(Some(attributes::strings(attributes, "security_group_ids")?));
    if let Some(user_data) = attributes::optional_string(attributes, "user_data")? {
        // The API carries user data base64-encoded; the contract holds the text itself.
        data = data.user_data(aws_smithy_types::base64::encode(user_data));
    }
    if attributes::optional_string(attributes, "http_tokens")?.as_deref() == Some("required") {
        data = data.metadata_options(
            LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .http_tokens(LaunchTemplateHttpTokensState::Required)
                .build(),
        );
    }
    for volume in attributes::objects(attributes, "volumes")? {
        let size_gb = attributes::integer32(&volume, "size_gb")?;
        data = data.block_device_mappings(
            LaunchTemplateBlockDeviceMappingRequest::builder()
                .device_name(attributes::string(&volume, "device")?)
                .ebs(
                    LaunchTemplateEbsBlockDeviceRequest::builder()
                        .volume_size(size_gb)
                        .encrypted(attributes::flag(&volume, "encrypted")?)
                        .build(),
                )
                .build(),
        );
    }
    Ok(data.build())
}

/// The contract's attributes of one version's data.
fn attributes_of(data: Option<&ResponseLaunchTemplateData>) -> Attributes {
    let mut attributes = Attributes::new();
    let Some(data) = data else {
        return attributes;
    };
    if let Some(image) = data.image_id() {
        attributes.insert("image".to_string(), Value::from(image));
    }
    if let Some(instance_type) = data.instance_type() {
        attributes.insert(
            "instance_type".to_string(),
            Value::from(instance_type.as_str()),
        );
    }
    attributes.insert(
        "security_group_ids".to_string(),
        attributes::string_set(data.security_group_ids().iter().cloned()),
    );
    if let Some(user_data) = data.user_data() {
        // Data that is not base64 text was not written by Cairn; show it as the API has it.
        let text = aws_smithy_types::base64::decode(user_data)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .unwrap_or_else(|| user_data.to_string());
        attributes.insert("user_data".to_string(), Value::from(text));
    }
    // Only "required" is kept: "optional" is AWS's default, which the contract writes as null.
    if data
        .metadata_options()
        .and_then(|options| options.http_tokens())
        == Some(&LaunchTemplateHttpTokensState::Required)
    {
        attributes.insert("http_tokens".to_string(), Value::from("required"));
    }
    let mut volumes: Vec<(String, Value)> = data
        .block_device_mappings()
        .iter()
        .filter_map(|mapping| {
            let device = mapping.device_name()?;
            let ebs = mapping.ebs()?;
            Some((
                device.to_string(),
                attributes::object(Attributes::from([
                    ("device".to_string(), Value::from(device)),
                    (
                        "size_gb".to_string(),
                        Value::from(ebs.volume_size().unwrap_or_default()),
                    ),
                    (
                        "encrypted".to_string(),
                        Value::from(ebs.encrypted().unwrap_or(false)),
                    ),
                ])),
            ))
        })
        .collect();
    volumes.sort_by(|left, right| left.0.cmp(&right.0));
    attributes.insert(
        "volumes".to_string(),
        Value::from(
            volumes
                .into_iter()
                .map(|(_, volume)| volume)
                .collect::<Vec<_>>(),
        ),
    );
    attributes
}

pub(super) async fn describe(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    let error = |error| selector.error(Kind::LaunchTemplate, &context.region, error);
    let pages = describe_pages!(
        context,
        Kind::LaunchTemplate,
        selector,
        context.ec2.describe_launch_templates(),
        launch_template_ids,
        200
    )?;
    let templates: Vec<_> = pages
        .iter()
        .flat_map(|page| page.launch_templates())
        .filter(|template| template.launch_template_id().is_some())
        .collect();
    if templates.is_empty() {
        return Ok(Vec::new());
    }
    let version_pages = context
        .read_pages(
            |token| {
                let call = context
                    .ec2
                    .describe_launch_template_versions()
                    .versions(DEFAULT_VERSION)
                    .set_next_token(token);
                match selector {
                    Selector::Owner(_) | Selector::All => call.max_results(context.page(200)),
                    Selector::Id(id) => call.launch_template_id(id),
                }
                .send()
            },
            |page| page.next_token(),
        )
        .await
        .map_err(error)?;
    let defaults: BTreeMap<&str, &LaunchTemplateVersion> = version_pages
        .iter()
        .flat_map(|page| page.launch_template_versions())
        .filter_map(|version| Some((version.launch_template_id()?, version)))
        .collect();
    Ok(templates
        .into_iter()
        .filter_map(|template| {
            let id = template.launch_template_id()?;
            let mut attributes = attributes_of(
                defaults
                    .get(id)
                    .and_then(|version| version.launch_template_data()),
            );
            attributes.insert(
                "name".to_string(),
                Value::from(template.launch_template_name().unwrap_or_default()),
            );
            attributes.insert(
                "latest_version".to_string(),
                Value::from(template.latest_version_number().unwrap_or_default()),
            );
            Some(context.live(
                Kind::LaunchTemplate,
                id,
                attributes,
                tags::from_ec2(template.tags()),
            ))
        })
        .collect())
}

pub(super) async fn create(
    context: &RegionContext,
    request: &CreateRequest,
) -> Result<String, ProviderError> {
    let call = context
        .ec2
        .create_launch_template()
        .launch_template_name(attributes::string(&request.attributes, "name")?)
        .launch_template_data(data(&request.attributes)?)
        .client_token(&request.token)
        .tag_specifications(tags::specification(
            ResourceType::LaunchTemplate,
            &request.tags,
        ));
    context
        .create(
            "CreateLaunchTemplate",
            || call.clone().send(),
            |output| {
                output
                    .launch_template()
                    .and_then(|template| template.launch_template_id())
            },
        )
        .await
}

pub(super) async fn update(
    context: &RegionContext,
    current: &LiveResource,
    request: &UpdateRequest,
) -> Result<(), ProviderError> {
    let changed = cloud::LAUNCH_TEMPLATE_VERSION_FIELDS.iter().any(|name| {
        let live = current
            .attributes
            .get(*name)
            .filter(|value| !value.is_null());
        let wanted = request.after.get(*name).filter(|value| !value.is_null());
        live != wanted
    });
    if !changed {
        return Ok(());
    }
    let id = request.id.as_str();
    // The token makes a retried update return the version the first attempt created.
    let call = context
        .ec2
        .create_launch_template_version()
        .launch_template_id(id)
        .launch_template_data(data(&request.after)?)
        .client_token(&request.token);
    let output = context.mutate_visible(|| call.clone().send()).await?;
    let version = output
        .launch_template_version()
        .and_then(|version| version.version_number())
        .ok_or_else(|| missing_id("CreateLaunchTemplateVersion"))?;
    let call = context
        .ec2
        .modify_launch_template()
        .launch_template_id(id)
        .default_version(version.to_string());
    until_visible(|| context.mutate(call.clone().send()))
        .await
        .map_err(|error| error.about(Kind::LaunchTemplate, &context.region, id))?;
    Ok(())
}

pub(super) async fn delete(context: &RegionContext, id: &str) -> Result<(), ProviderError> {
    context
        .delete(
            Kind::LaunchTemplate,
            id,
            context
                .ec2
                .delete_launch_template()
                .launch_template_id(id)
                .send(),
        )
        .await
}

/// The settings of version `version` (a number, or `$Latest`) of template `id`
/// (DescribeLaunchTemplateVersions).
pub(super) async fn version_settings(
    context: &RegionContext,
    id: &str,
    version: &Value,
) -> Result<Attributes, ProviderError> {
    let wanted = match version {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let output = context
        .read(
            context
                .ec2
                .describe_launch_template_versions()
                .launch_template_id(id)
                .versions(&wanted)
                .send(),
        )
        .await
        .map_err(|error| error.about(Kind::LaunchTemplate, &context.region, id))?;
    let found =
        output
            .launch_template_versions()
            .first()
            .ok_or_else(|| ProviderError::NotFound {
                kind: Kind::LaunchTemplate,
                region: context.region.clone(),
                id: format!("{id} version {wanted}"),
            })?;
    Ok(attributes_of(found.launch_template_data()))
}

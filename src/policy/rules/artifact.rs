//! The same artifact (CAIRN016): production should run the images staging runs.

use super::super::catalog::DIFFERENT_ARTIFACT;
use super::super::context::{Context, is_staging};
use super::super::finding::Finding;
use super::super::locate::Part;
use crate::graph::{ExpandOptions, expand};
use crate::model::{Kind, Value};

/// CAIRN016: a launch template or instance whose image in production differs from the image
/// of the same block, in the same region, in a staging environment. Images are regional, so
/// regions are only compared with themselves.
pub fn different_artifacts(context: &Context<'_>) -> Vec<Finding> {
    if !context.production {
        return Vec::new();
    }
    let mut findings = Vec::new();
    for staging in context
        .config
        .environments
        .values()
        .filter(|environment| is_staging(environment))
    {
        // A staging environment that does not expand reports its own errors when checked.
        let Ok(tried) = expand(context.config, &staging.name, &ExpandOptions::default()) else {
            continue;
        };
        for resource in context
            .resources
            .values()
            .filter(|resource| matches!(resource.kind, Kind::LaunchTemplate | Kind::Instance))
        {
            let Some(image) = resource.attributes.get("image").and_then(Value::as_str) else {
                continue;
            };
            let Some(tested) = tried
                .resources
                .get(&resource.address)
                .and_then(|other| other.attributes.get("image"))
                .and_then(Value::as_str)
            else {
                continue;
            };
            if image == tested {
                continue;
            }
            let hidden = resource.sensitive.contains("image");
            let message = if hidden {
                format!(
                    "`{}` runs a different image in production than in `{}` ({})",
                    resource.address.block_path(),
                    staging.name,
                    resource.region
                )
            } else {
                format!(
                    "`{}` runs `{image}` in production but `{tested}` in `{}` ({})",
                    resource.address.block_path(),
                    staging.name,
                    resource.region
                )
            };
            let finding = Finding::new(DIFFERENT_ARTIFACT, message, resource.address.clone());
            findings.push(context.locator.place(
                finding,
                &resource.address,
                Part::Attribute("image"),
            ));
        }
    }
    findings
}

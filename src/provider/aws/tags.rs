//! Tags: ownership filters for batched describes, tags set in the creating call, and the sync
//! of user tags on update.

use super::context::RegionContext;
use super::error::CallError;
use crate::model::{OWNERSHIP_TAGS, Owner, TAG_ENV, TAG_STACK, Tags};
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};

/// Tag keys the provider itself writes to remember what the cloud cannot tell it back (where
/// a snapshot was copied from). They are hidden from the tags a read returns.
pub(crate) const INTERNAL_PREFIX: &str = "cairn:provider:";

/// EC2 filters selecting the resources `owner` created.
pub(crate) fn owner_filters(owner: &Owner) -> Vec<Filter> {
    vec![
        Filter::builder()
            .name(format!("tag:{TAG_STACK}"))
            .values(&owner.stack)
            .build(),
        Filter::builder()
            .name(format!("tag:{TAG_ENV}"))
            .values(&owner.env)
            .build(),
    ]
}

/// One EC2 filter.
pub(crate) fn filter(name: &str, values: impl IntoIterator<Item = String>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().collect()))
        .build()
}

/// Tags applied by the creating call itself, so a crash right after the create cannot leave
/// an untagged (unadoptable) resource.
pub(crate) fn specification(resource_type: ResourceType, tags: &Tags) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource_type)
        .set_tags(Some(to_ec2(tags)))
        .build()
}

pub(crate) fn to_ec2(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect()
}

/// All tags of a resource, without the provider's internal ones.
pub(crate) fn from_ec2(tags: &[Tag]) -> Tags {
    tags.iter()
        .filter_map(|tag| {
            Some((
                tag.key()?.to_string(),
                tag.value().unwrap_or("").to_string(),
            ))
        })
        .filter(|(key, _)| !key.starts_with(INTERNAL_PREFIX))
        .collect()
}

/// The value of one tag, internal ones included.
pub(crate) fn ec2_tag<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|tag| tag.key() == Some(key))
        .and_then(|tag| tag.value())
}

/// Keys to set and keys to remove so that `current` becomes `desired`. Ownership tags are
/// never removed: losing them would orphan the resource.
pub(crate) fn difference(current: &Tags, desired: &Tags) -> (Tags, Vec<String>) {
    let set: Tags = desired
        .iter()
        .filter(|(key, value)| current.get(*key) != Some(value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let remove = current
        .keys()
        .filter(|key| !desired.contains_key(*key) && !key.starts_with("cairn:"))
        .cloned()
        .collect();
    (set, remove)
}

/// Keys to set and keys to remove so that the ownership tags of `current` become exactly
/// `ownership`; no other tag is touched.
pub(crate) fn ownership_difference(current: &Tags, ownership: &Tags) -> (Tags, Vec<String>) {
    let set: Tags = ownership
        .iter()
        .filter(|(key, value)| current.get(*key) != Some(value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let remove = OWNERSHIP_TAGS
        .iter()
        .filter(|key| current.contains_key(**key) && !ownership.contains_key(**key))
        .map(|key| key.to_string())
        .collect();
    (set, remove)
}

/// Brings an EC2 resource's tags to `desired` with CreateTags/DeleteTags.
pub(crate) async fn sync_ec2(
    context: &RegionContext,
    id: &str,
    current: &Tags,
    desired: &Tags,
) -> Result<(), CallError> {
    let (set, remove) = difference(current, desired);
    change_ec2(context, id, &set, &remove).await
}

/// Sets `set` and removes `remove` on an EC2 resource with CreateTags/DeleteTags, making no
/// call for an empty change.
pub(crate) async fn change_ec2(
    context: &RegionContext,
    id: &str,
    set: &Tags,
    remove: &[String],
) -> Result<(), CallError> {
    if !set.is_empty() {
        context
            .mutate(
                context
                    .ec2
                    .create_tags()
                    .resources(id)
                    .set_tags(Some(to_ec2(set)))
                    .send(),
            )
            .await?;
    }
    if !remove.is_empty() {
        let tags = remove
            .iter()
            .map(|key| Tag::builder().key(key).build())
            .collect();
        context
            .mutate(
                context
                    .ec2
                    .delete_tags()
                    .resources(id)
                    .set_tags(Some(tags))
                    .send(),
            )
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn difference_sets_changed_and_removes_dropped_user_tags_only() {
        let current = Tags::from([
            ("cairn:stack".to_string(), "shop".to_string()),
            ("tier".to_string(), "web".to_string()),
            ("old".to_string(), "x".to_string()),
        ]);
        let desired = Tags::from([("tier".to_string(), "data".to_string())]);
        let (set, remove) = difference(&current, &desired);
        assert_eq!(set, Tags::from([("tier".to_string(), "data".to_string())]));
        assert_eq!(remove, vec!["old".to_string()]);
    }

    #[test]
    fn ownership_difference_touches_ownership_tags_only() {
        let current = Tags::from([
            ("cairn:stack".to_string(), "shop".to_string()),
            ("cairn:env".to_string(), "staging".to_string()),
            (
                "cairn:address".to_string(),
                "volume.data[us-east-1]".to_string(),
            ),
            ("cairn:backup-policy".to_string(), "daily".to_string()),
            ("tier".to_string(), "data".to_string()),
        ]);
        let (set, remove) = ownership_difference(&current, &Tags::new());
        assert!(set.is_empty());
        assert_eq!(remove, vec!["cairn:stack", "cairn:env", "cairn:address"]);

        let other = Tags::from([
            ("cairn:stack".to_string(), "shop".to_string()),
            ("cairn:env".to_string(), "production".to_string()),
            (
                "cairn:address".to_string(),
                "volume.data[us-east-1]".to_string(),
            ),
        ]);
        let (set, remove) = ownership_difference(&current, &other);
        assert_eq!(
            set,
            Tags::from([("cairn:env".to_string(), "production".to_string())])
        );
        assert!(remove.is_empty());
    }
}

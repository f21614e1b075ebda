//! Checks of region and zone names against the static AWS catalog
//! ([`crate::model::regions`]), so that a mistyped region or a zone of another region is a
//! configuration error at its file:line:col instead of a failed call at refresh.
//!
//! Promise: nothing here calls a cloud; a name the catalog has passes on both clouds, and on
//! `aws` a Local Zone or Wavelength Zone named after its parent region passes too (accounts
//! opt in to those, so no static table can list them).

use super::Cloud;
use super::diagnostics::{Diagnostic, closest};
use super::schema::list;
use super::source::{Sources, Span};
use super::tree::Attr;
use crate::model::regions;
use hcl_edit::Span as _;

/// A diagnostic at `span` when `region` is not an AWS region, with the closest name as a hint.
pub fn check_region(sources: &Sources, span: Span, region: &str) -> Option<Diagnostic> {
    if regions::is_region(region) {
        return None;
    }
    let diagnostic = Diagnostic::at(sources, span, format!("unknown region `{region}`"))
        .expected("an AWS region such as `us-east-1` or `eu-west-1`");
    Some(match closest(region, regions::region_names()) {
        Some(candidate) => diagnostic.hint(format!("did you mean `{candidate}`?")),
        None => diagnostic.hint(format!(
            "the regions are {}",
            list(&regions::region_names().collect::<Vec<_>>())
        )),
    })
}

/// Diagnostics for every zone of `zones` (the value of `attr`) that is not a zone of `region`,
/// or is listed twice. Nothing is said about the zones of an unknown region: the region's own
/// diagnostic covers them.
pub fn check_zones(
    sources: &Sources,
    attr: &Attr,
    cloud: Cloud,
    region: &str,
    zones: &[String],
) -> Vec<Diagnostic> {
    let Some(offered) = regions::zones(region) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (position, zone) in zones.iter().enumerate() {
        let span = element_span(attr, position);
        if zones[..position].contains(zone) {
            found.push(
                Diagnostic::at(sources, span, format!("zone `{zone}` is listed twice"))
                    .hint("each zone gets its own subnets; list every zone once"),
            );
            continue;
        }
        let edge_zone = cloud == Cloud::Aws && regions::is_edge_zone_of(zone, region);
        if offered.contains(zone) || edge_zone {
            continue;
        }
        let message = match regions::region_of_zone(zone) {
            Some(other) => format!("zone `{zone}` is in region `{other}`, not in `{region}`"),
            None => format!("zone `{zone}` is not a zone of region `{region}`"),
        };
        let names: Vec<&str> = offered.iter().map(String::as_str).collect();
        let mut diagnostic =
            Diagnostic::at(sources, span, message).expected(format!("one of {}", list(&names)));
        if let Some(candidate) = closest(zone, names.iter().copied()) {
            diagnostic = diagnostic.hint(format!("did you mean `{candidate}`?"));
        }
        found.push(diagnostic);
    }
    found
}

/// The span of the `position`-th element when `attr` is a list written out in the source
/// (`["us-east-1a", "us-east-1b"]`), else the span of the whole value (`var.zones`).
pub fn element_span(attr: &Attr, position: usize) -> Span {
    let hcl_edit::expr::Expression::Array(array) = &attr.edit else {
        return attr.value_span;
    };
    array
        .iter()
        .nth(position)
        .and_then(|element| element.span())
        .map_or(attr.value_span, |range| Span {
            file: attr.file,
            start: range.start,
            end: range.end,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tree::parse_file;

    fn zones_of(text: &str, cloud: Cloud, region: &str) -> Vec<String> {
        let mut sources = Sources::default();
        let file = sources.add("main.hcl".into(), text.into());
        let Ok(body) = parse_file(&sources, file) else {
            panic!("test input parses");
        };
        let attr = &body.attributes["zones"];
        let hcl::Expression::Array(items) = &attr.expr else {
            panic!("test input is a list");
        };
        let zones: Vec<String> = items.iter().map(|item| item.to_string()).collect();
        let zones: Vec<String> = zones.iter().map(|z| z.trim_matches('"').into()).collect();
        check_zones(&sources, attr, cloud, region, &zones)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_mistyped_region_is_refused_with_the_closest_name() {
        let mut sources = Sources::default();
        let file = sources.add("main.hcl".into(), "region \"us-east-l\" {}\n".into());
        let span = Span {
            file,
            start: 7,
            end: 18,
        };
        let Some(diagnostic) = check_region(&sources, span, "us-east-l") else {
            panic!("`us-east-l` is not a region");
        };
        let text = diagnostic.to_string();
        assert!(text.contains("unknown region `us-east-l`"), "{text}");
        assert!(text.contains("--> main.hcl:1:8"), "{text}");
        assert!(text.contains("hint: did you mean `us-east-1`?"), "{text}");
        assert!(check_region(&sources, span, "eu-west-1").is_none());
    }

    #[test]
    fn a_zone_of_another_region_points_at_its_element() {
        let found = zones_of(
            "zones = [\"us-east-1a\", \"us-west-2b\"]\n",
            Cloud::Sim,
            "us-east-1",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("zone `us-west-2b` is in region `us-west-2`, not in `us-east-1`"),
            "{}",
            found[0]
        );
        assert!(found[0].contains("--> main.hcl:1:24"), "{}", found[0]);
    }

    #[test]
    fn a_wrong_zone_letter_hints_the_first_zone_of_the_region() {
        let found = zones_of("zones = [\"us-west-2x\"]\n", Cloud::Sim, "us-west-2");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("hint: did you mean `us-west-2a`?"),
            "{}",
            found[0]
        );
        assert!(
            found[0].contains(
                "expected one of `us-west-2a`, `us-west-2b`, `us-west-2c` or `us-west-2d`"
            ),
            "{}",
            found[0]
        );
    }

    #[test]
    fn a_zone_listed_twice_is_refused() {
        let found = zones_of(
            "zones = [\"us-east-1a\", \"us-east-1a\"]\n",
            Cloud::Sim,
            "us-east-1",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("listed twice"), "{}", found[0]);
    }

    #[test]
    fn local_zones_pass_on_aws_only() {
        let text = "zones = [\"us-west-2a\", \"us-west-2-lax-1a\"]\n";
        assert!(zones_of(text, Cloud::Aws, "us-west-2").is_empty());
        assert_eq!(zones_of(text, Cloud::Sim, "us-west-2").len(), 1);
    }
}

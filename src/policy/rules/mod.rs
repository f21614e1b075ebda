//! The rule implementations, one file per concern. Each check reads a [`Context`] and
//! returns findings placed at their source; the catalog says what the ids mean.

mod artifact;
mod exposure;
mod outputs;
mod production;
mod secrets;
mod storage;

use super::context::Context;
use super::finding::Finding;

/// One check: may report several rules.
type Check = fn(&Context<'_>) -> Vec<Finding>;

/// Every check, in catalog order of the rules they report.
const CHECKS: [Check; 9] = [
    exposure::world_open_ingress,
    storage::unencrypted_volumes,
    exposure::instance_metadata_v1,
    exposure::public_subnets,
    secrets::secret_literals,
    outputs::sensitive_outputs,
    production::production,
    exposure::network_cidr_rules,
    artifact::different_artifacts,
];

/// Runs every check.
pub fn run(context: &Context<'_>) -> Vec<Finding> {
    CHECKS.iter().flat_map(|check| check(context)).collect()
}

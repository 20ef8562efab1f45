//! The set of permissions the portal requires, as a version it can compare with the sets it ran with
//! before, and what that history says of a tenant: a permission required only since after its admin's
//! consent is one that admin was never asked for, so the tenant needs to consent again ("needs
//! re-consent"); a permission that was asked for and is still missing is a consent that granted less
//! than asked ("missing roles").

use std::collections::HashMap;

use time::OffsetDateTime;

use super::{Api, RequiredApi};

/// A set of `api:Role` permissions, sorted and without duplicates: the same set always reads the same.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PermissionSet(Vec<String>);

impl PermissionSet {
    /// The permissions of a configuration.
    pub fn of(required: &[RequiredApi]) -> Self {
        Self::from_entries(required.iter().flat_map(RequiredApi::permissions))
    }

    /// A stored list (a consent's `roles_requested`, a `permission_sets` row). Rows written before the
    /// portal knew several APIs hold bare role names: each is put on the API that defines it (the
    /// Defender XDR API first, the only one the portal knew then); a name no API defines is kept as is.
    pub fn from_entries(entries: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let mut permissions: Vec<String> = entries.into_iter().map(Into::into).map(|entry| qualify(&entry)).collect();
        permissions.sort();
        permissions.dedup();
        Self(permissions)
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, permission: &str) -> bool {
        self.0.binary_search_by(|p| p.as_str().cmp(permission)).is_ok()
    }

    /// The permissions of `self` that `older` did not have.
    pub fn added_since(&self, older: &PermissionSet) -> Vec<String> {
        self.0.iter().filter(|p| !older.contains(p)).cloned().collect()
    }

    /// The stored form: a JSON array.
    pub fn to_json(&self) -> String {
        serde_json::Value::from(self.0.clone()).to_string()
    }

    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        Ok(Self::from_entries(serde_json::from_str::<Vec<String>>(text)?))
    }
}

/// `api:Role` as it is; a bare role name on the API that defines it.
fn qualify(entry: &str) -> String {
    if entry.contains(':') {
        return entry.to_owned();
    }
    [Api::Defender, Api::Mde, Api::Graph]
        .into_iter()
        .find(|api| api.defines(entry))
        .map_or_else(|| entry.to_owned(), |api| format!("{api}:{entry}"))
}

/// Since when each permission has been required: the first time a set holding it was seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequirementHistory {
    since: HashMap<String, OffsetDateTime>,
}

impl RequirementHistory {
    /// From every set the portal ran with and when each was first seen.
    pub fn new<'a>(sets: impl IntoIterator<Item = (&'a PermissionSet, OffsetDateTime)>) -> Self {
        let mut since: HashMap<String, OffsetDateTime> = HashMap::new();
        for (set, first_seen) in sets {
            for permission in set.as_slice() {
                since.entry(permission.clone()).and_modify(|at| *at = (*at).min(first_seen)).or_insert(first_seen);
            }
        }
        Self { since }
    }

    /// When `permission` (`api:Role`) was first required; `None` when the history does not know it.
    pub fn required_since(&self, permission: &str) -> Option<OffsetDateTime> {
        self.since.get(permission).copied()
    }

    /// Was `role` on `api` required only after a consent given at `consented_at`? Then the admin who
    /// consented was never asked for it.
    pub fn is_newer_than_consent(&self, api: Api, role: &str, consented_at: OffsetDateTime) -> bool {
        self.required_since(&format!("{api}:{role}")).is_some_and(|since| since > consented_at)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_set_is_sorted_deduplicated_and_qualifies_bare_roles() {
        let set = PermissionSet::from_entries(["graph:ThreatHunting.Read.All", "Incident.Read.All", "defender:Incident.Read.All", "Odd"]);
        assert_eq!(set.as_slice(), ["Odd", "defender:Incident.Read.All", "graph:ThreatHunting.Read.All"]);
        assert!(set.contains("defender:Incident.Read.All"));
        assert!(!set.contains("Incident.Read.All"));
        assert_eq!(PermissionSet::from_json(&set.to_json()).unwrap(), set);
        let newer = PermissionSet::from_entries(["defender:Incident.Read.All", "graph:SecurityIncident.Read.All"]);
        assert_eq!(newer.added_since(&set), ["graph:SecurityIncident.Read.All"]);
        assert!(PermissionSet::from_entries(["Machine.Read.All"]).contains("mde:Machine.Read.All"));
    }

    #[test]
    fn a_permission_is_required_since_the_first_set_that_held_it() {
        let old = PermissionSet::from_entries(["defender:Incident.Read.All"]);
        let new = PermissionSet::from_entries(["defender:Incident.Read.All", "graph:SecurityIncident.Read.All"]);
        let history = RequirementHistory::new([(&new, datetime!(2026-11-01 0:00 UTC)), (&old, datetime!(2026-01-01 0:00 UTC))]);
        assert_eq!(history.required_since("defender:Incident.Read.All"), Some(datetime!(2026-01-01 0:00 UTC)));
        assert_eq!(history.required_since("graph:SecurityIncident.Read.All"), Some(datetime!(2026-11-01 0:00 UTC)));
        let before = datetime!(2026-06-01 0:00 UTC);
        assert!(history.is_newer_than_consent(Api::Graph, "SecurityIncident.Read.All", before));
        assert!(!history.is_newer_than_consent(Api::Defender, "Incident.Read.All", before));
        assert!(!history.is_newer_than_consent(Api::Graph, "SecurityIncident.Read.All", datetime!(2026-11-02 0:00 UTC)));
        assert!(!history.is_newer_than_consent(Api::Graph, "ThreatHunting.Read.All", before), "unknown: not newer");
    }
}

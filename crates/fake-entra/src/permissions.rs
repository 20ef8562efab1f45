//! Application permissions per API: what an app registration requests, what an admin's consent grants
//! in a tenant, and what a tenant's policy lets an admin grant. JSON: an object from API name to role
//! values, e.g. `{"graph": ["SecurityIncident.Read.All"], "defender": ["Incident.Read.All"]}`.
//!
//! The older JSON form, a bare `roles` list, stands for the Defender XDR API's roles (the only API the
//! fake knew then): [`Permissions::from`] a `Vec<String>` reads it so.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::apis::{Api, DEFENDER_API};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Permissions(BTreeMap<String, Vec<String>>);

impl Permissions {
    pub fn new() -> Self {
        Self::default()
    }

    /// These permissions and `roles` on `api`, e.g.
    /// `Permissions::new().with("graph", &["SecurityIncident.Read.All"])`.
    pub fn with(mut self, api: &str, roles: &[&str]) -> Self {
        self.set(api, roles.iter().map(|role| (*role).to_owned()).collect());
        self
    }

    /// Replaces the roles on `api`.
    pub fn set(&mut self, api: &str, roles: Vec<String>) {
        self.0.insert(api.to_owned(), roles);
    }

    /// The roles on `api` (none when the API is not listed).
    pub fn roles(&self, api: &str) -> &[String] {
        self.0.get(api).map_or(&[], Vec::as_slice)
    }

    /// Whether `api` is listed (with roles or an empty list).
    pub fn lists(&self, api: &str) -> bool {
        self.0.contains_key(api)
    }

    /// `(api, roles)` by API name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(api, roles)| (api.as_str(), roles.as_slice()))
    }

    /// No API listed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// No role on any API.
    pub fn has_no_roles(&self) -> bool {
        self.0.values().all(Vec::is_empty)
    }

    /// What a consent grants in a tenant whose policy is `grantable`: on an API the policy lists, only
    /// the requested roles it allows; on the others, every requested role.
    pub fn allowed_by(&self, grantable: &Permissions) -> Permissions {
        let allowed = self.0.iter().map(|(api, roles)| {
            let kept = match grantable.0.get(api) {
                Some(allowed) => roles.iter().filter(|role| allowed.contains(role)).cloned().collect(),
                None => roles.clone(),
            };
            (api.clone(), kept)
        });
        Permissions(allowed.collect())
    }

    /// Every API named must be one of `apis`, and every role one that API defines; the error names
    /// the first that is not.
    pub fn check_against(&self, apis: &[Api]) -> Result<(), String> {
        for (name, roles) in &self.0 {
            let Some(api) = apis.iter().find(|api| api.name == *name) else {
                let known: Vec<&str> = apis.iter().map(|api| api.name.as_str()).collect();
                return Err(format!("no API named {name:?} (the fake knows {})", known.join(", ")));
            };
            if let Some(role) = roles.iter().find(|role| !api.defines(role)) {
                return Err(format!("the API {name} ({}) defines no application role {role:?}", api.display_name));
            }
        }
        Ok(())
    }
}

/// The older form: roles on the Defender XDR API.
impl From<Vec<String>> for Permissions {
    fn from(defender_roles: Vec<String>) -> Self {
        let mut permissions = Permissions::new();
        permissions.set(DEFENDER_API, defender_roles);
        permissions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_restricts_only_the_apis_it_lists() {
        let requested = Permissions::new()
            .with("graph", &["SecurityIncident.Read.All", "ThreatHunting.Read.All"])
            .with("defender", &["Incident.Read.All", "AdvancedHunting.Read.All"]);
        let policy = Permissions::new().with("defender", &["Incident.Read.All"]);
        let granted = requested.allowed_by(&policy);
        assert_eq!(granted.roles("defender"), ["Incident.Read.All"]);
        assert_eq!(granted.roles("graph"), ["SecurityIncident.Read.All", "ThreatHunting.Read.All"]);
        assert_eq!(requested.allowed_by(&Permissions::new()), requested);
    }

    #[test]
    fn unknown_apis_and_roles_are_named() {
        let apis = Api::all();
        assert!(Permissions::new().with("graph", &["ThreatHunting.Read.All"]).check_against(&apis).is_ok());
        let error = Permissions::new().with("intune", &[]).check_against(&apis).unwrap_err();
        assert!(error.contains("\"intune\""), "{error}");
        let error = Permissions::from(vec!["Alert.Read.All".to_owned()]).check_against(&apis).unwrap_err();
        assert!(error.contains("defender") && error.contains("\"Alert.Read.All\""), "{error}");
    }

    #[test]
    fn the_json_is_an_object_from_api_to_roles() {
        let permissions = Permissions::new().with("mde", &["Alert.Read.All"]).with("defender", &[]);
        let json = serde_json::to_value(&permissions).unwrap();
        assert_eq!(json, serde_json::json!({"defender": [], "mde": ["Alert.Read.All"]}));
        assert_eq!(serde_json::from_value::<Permissions>(json).unwrap(), permissions);
        assert!(Permissions::new().with("defender", &[]).has_no_roles());
    }
}

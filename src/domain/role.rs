use std::fmt;

use serde::{Deserialize, Serialize};

/// An application permission on the Defender resource, as it appears in a token's `roles` claim
/// (`Incident.Read.All`). Compared exactly, case included: Microsoft's own partner page misspells
/// one as `Incidents.Read.All`, and a near miss must show as a difference, not a match.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RoleNameError {
    #[error("a role name cannot be empty")]
    Empty,
    #[error("role name {0:?} has characters other than letters, digits and dots")]
    BadCharacters(String),
}

impl RoleName {
    pub fn parse(value: &str) -> Result<Self, RoleNameError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(RoleNameError::Empty);
        }
        if value.len() > 120 || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-') {
            return Err(RoleNameError::BadCharacters(value.to_owned()));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses a comma-separated list such as `Incident.Read.All,AdvancedHunting.Read.All`, dropping
/// duplicates and keeping the order given.
pub fn parse_role_list(value: &str) -> Result<Vec<RoleName>, RoleNameError> {
    let mut roles: Vec<RoleName> = Vec::new();
    for part in value.split(',') {
        let role = RoleName::parse(part)?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    Ok(roles)
}

/// A list of permissions as stored (a JSON array, `["graph:SecurityIncident.Read.All"]`): what a check
/// found present or missing, what a consent requested. Each entry is `api:Role`; rows written before
/// the portal knew several APIs hold bare role names, which stay readable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RoleList(pub Vec<String>);

impl RoleList {
    /// The JSON text stored.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".to_owned())
    }

    /// Reads a stored list; every entry must be a role name, with or without its `api:` prefix.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        let entries: Vec<String> = serde_json::from_str(text)?;
        for entry in &entries {
            let role = entry.split_once(':').map_or(entry.as_str(), |(api, role)| if api.is_empty() { entry.as_str() } else { role });
            RoleName::parse(role).map_err(serde::de::Error::custom)?;
        }
        Ok(Self(entries))
    }

    /// The entries as text.
    pub fn names(&self) -> Vec<String> {
        self.0.clone()
    }
}

impl std::ops::Deref for RoleList {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for RoleList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = Vec::<String>::deserialize(deserializer)?;
        let text = serde_json::to_string(&entries).map_err(serde::de::Error::custom)?;
        Self::from_json(&text).map_err(serde::de::Error::custom)
    }
}

impl From<Vec<String>> for RoleList {
    fn from(entries: Vec<String>) -> Self {
        Self(entries)
    }
}

impl TryFrom<String> for RoleName {
    type Error = RoleNameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RoleName> for String {
    fn from(value: RoleName) -> Self {
        value.0
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoleName({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_keeps_order_and_drops_duplicates() {
        let roles = parse_role_list("Incident.Read.All, AdvancedHunting.Read.All,Incident.Read.All").unwrap();
        let names: Vec<&str> = roles.iter().map(RoleName::as_str).collect();
        assert_eq!(names, ["Incident.Read.All", "AdvancedHunting.Read.All"]);
    }

    #[test]
    fn near_misses_are_different_roles() {
        assert_ne!(RoleName::parse("Incident.Read.All").unwrap(), RoleName::parse("Incidents.Read.All").unwrap());
        assert_ne!(RoleName::parse("Incident.Read.All").unwrap(), RoleName::parse("incident.read.all").unwrap());
    }

    #[test]
    fn a_list_is_stored_as_a_json_array_of_names() {
        let roles = RoleList::from(vec!["graph:ThreatHunting.Read.All".to_owned(), "defender:Incident.Read.All".to_owned()]);
        assert_eq!(roles.to_json(), r#"["graph:ThreatHunting.Read.All","defender:Incident.Read.All"]"#);
        assert_eq!(RoleList::from_json(&roles.to_json()).unwrap(), roles);
        assert_eq!(RoleList::default().to_json(), "[]");
        // A row from before permissions per API: bare role names.
        assert_eq!(RoleList::from_json(r#"["Incident.Read.All"]"#).unwrap().names(), ["Incident.Read.All"]);
        assert!(RoleList::from_json(r#"["Incident Read"]"#).is_err());
        assert!(RoleList::from_json(r#"["graph:Incident Read"]"#).is_err());
    }

    #[test]
    fn refuses_empty_and_odd_values() {
        assert_eq!(parse_role_list("Incident.Read.All,,"), Err(RoleNameError::Empty));
        assert!(matches!(RoleName::parse("Incident Read"), Err(RoleNameError::BadCharacters(_))));
        assert!(matches!(RoleName::parse("<script>"), Err(RoleNameError::BadCharacters(_))));
    }
}

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
    fn refuses_empty_and_odd_values() {
        assert_eq!(parse_role_list("Incident.Read.All,,"), Err(RoleNameError::Empty));
        assert!(matches!(RoleName::parse("Incident Read"), Err(RoleNameError::BadCharacters(_))));
        assert!(matches!(RoleName::parse("<script>"), Err(RoleNameError::BadCharacters(_))));
    }
}

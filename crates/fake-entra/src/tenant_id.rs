//! The fake's model of a tenant id. The portal has a type of its own for the ids it receives; the fake
//! keeps its own so that it depends on nothing of the portal's.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A tenant id: a GUID, held and printed in lower case with hyphens, as Microsoft writes it in `tid`
/// claims and issuers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(Uuid);

/// A value that is not a tenant id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantIdError;

impl fmt::Display for TenantIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tenant id is a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47")
    }
}

impl std::error::Error for TenantIdError {}

impl TenantId {
    /// Parses the hyphenated GUID form only, the one Microsoft accepts in a tenant path segment.
    pub fn parse(value: &str) -> Result<Self, TenantIdError> {
        if value.len() != 36 {
            return Err(TenantIdError);
        }
        Uuid::try_parse(value).map(Self).map_err(|_| TenantIdError)
    }

    pub fn new_random() -> Self {
        Self(Uuid::new_v4())
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl FromStr for TenantId {
    type Err = TenantIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for TenantId {
    type Error = TenantIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TenantId> for String {
    fn from(value: TenantId) -> Self {
        value.to_string()
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({})", self.0.hyphenated())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_hyphenated_form_and_prints_it_in_lower_case() {
        let tid = TenantId::parse("72F988BF-86F1-41AF-91AB-2D7CD011DB47").unwrap();
        assert_eq!(tid.to_string(), "72f988bf-86f1-41af-91ab-2d7cd011db47");
        for other in ["", "common", "contoso.com", "72f988bf86f141af91ab2d7cd011db47", "{72f988bf-86f1-41af-91ab-2d7cd011db47}"] {
            assert_eq!(TenantId::parse(other), Err(TenantIdError), "{other}");
        }
    }
}

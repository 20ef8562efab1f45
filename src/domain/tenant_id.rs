use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An Entra ID tenant id: a GUID, always held and printed in lower case with hyphens
/// (`72f988bf-86f1-41af-91ab-2d7cd011db47`), the form Microsoft uses in `tid` claims and issuers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(Uuid);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a tenant id is a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47")]
pub struct TenantIdError;

impl TenantId {
    /// Parses the hyphenated GUID form only. Microsoft never sends braces, URNs or the simple
    /// 32-digit form, so anything else is a sign of a forged or mangled value.
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
        // `pad`, so that a width (`{:<38}`) lines tables up as it did for the text.
        f.pad(self.0.hyphenated().encode_lower(&mut Uuid::encode_buffer()))
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
    fn parses_and_prints_lower_case() {
        let tid = TenantId::parse("72F988BF-86F1-41AF-91AB-2D7CD011DB47").unwrap();
        assert_eq!(tid.to_string(), "72f988bf-86f1-41af-91ab-2d7cd011db47");
    }

    #[test]
    fn a_width_pads_it_like_text() {
        let tid = TenantId::parse("72f988bf-86f1-41af-91ab-2d7cd011db47").unwrap();
        assert_eq!(format!("[{tid:<38}]"), "[72f988bf-86f1-41af-91ab-2d7cd011db47  ]");
    }

    #[test]
    fn refuses_other_forms() {
        for bad in [
            "",
            "common",
            "contoso.com",
            "72f988bf86f141af91ab2d7cd011db47",
            "{72f988bf-86f1-41af-91ab-2d7cd011db47}",
            "urn:uuid:72f988bf-86f1-41af-91ab-2d7cd011db47",
            "72f988bf-86f1-41af-91ab-2d7cd011db4g",
        ] {
            assert_eq!(TenantId::parse(bad), Err(TenantIdError), "{bad}");
        }
    }
}

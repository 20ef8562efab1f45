use std::fmt;

/// A tenant's health, as the dashboard shows it: one word with a colour, and a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TenantStatus {
    Verified,
    /// Roles read from a token whose signature a client cannot check (Microsoft Graph's), and the
    /// probe that would prove them did not run: "roles read, not proven", never "verified".
    Unproven,
    /// The token lacks roles required since after the tenant's consent: its admin never approved them,
    /// and must consent again (a consent that granted less than asked is `MissingRoles`).
    NeedsReconsent,
    MissingRoles,
    Propagating,
    ConsentRemoved,
    AppDisabled,
    ServiceNotProvisioned,
    TenantNotFound,
    CredentialsInvalid,
    Throttled,
    Unreachable,
    TokenInvalid,
    NeverChecked,
}

impl TenantStatus {
    pub const ALL: [TenantStatus; 14] = [
        Self::Verified,
        Self::Unproven,
        Self::NeedsReconsent,
        Self::MissingRoles,
        Self::Propagating,
        Self::ConsentRemoved,
        Self::AppDisabled,
        Self::ServiceNotProvisioned,
        Self::TenantNotFound,
        Self::CredentialsInvalid,
        Self::Throttled,
        Self::Unreachable,
        Self::TokenInvalid,
        Self::NeverChecked,
    ];

    /// The value stored in the database and used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Unproven => "unproven",
            Self::NeedsReconsent => "needs_reconsent",
            Self::MissingRoles => "missing_roles",
            Self::Propagating => "propagating",
            Self::ConsentRemoved => "consent_removed",
            Self::AppDisabled => "app_disabled",
            Self::ServiceNotProvisioned => "service_not_provisioned",
            Self::TenantNotFound => "tenant_not_found",
            Self::CredentialsInvalid => "credentials_invalid",
            Self::Throttled => "throttled",
            Self::Unreachable => "unreachable",
            Self::TokenInvalid => "token_invalid",
            Self::NeverChecked => "never_checked",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// The word shown.
    pub fn label(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Unproven => "roles read, not proven",
            Self::NeedsReconsent => "needs re-consent",
            Self::MissingRoles => "missing roles",
            Self::Propagating => "propagating",
            Self::ConsentRemoved => "consent removed",
            Self::AppDisabled => "app disabled",
            Self::ServiceNotProvisioned => "service not provisioned",
            Self::TenantNotFound => "tenant not found",
            Self::CredentialsInvalid => "credentials invalid or expired",
            Self::Throttled => "throttled",
            Self::Unreachable => "unreachable",
            Self::TokenInvalid => "token not valid",
            Self::NeverChecked => "never checked",
        }
    }

    /// The colour class: ok, info, warn, bad, neutral.
    pub fn tone(self) -> &'static str {
        match self {
            Self::Verified => "ok",
            Self::Propagating | Self::Unproven => "info",
            Self::NeedsReconsent | Self::MissingRoles | Self::Throttled | Self::Unreachable => "warn",
            Self::NeverChecked => "neutral",
            _ => "bad",
        }
    }

    /// Did the token itself fail (Microsoft refused it, it did not verify, the API refused it)? Missing
    /// or propagating roles are not a failure of the token: the customer sees them named instead.
    pub fn is_token_failure(self) -> bool {
        !matches!(
            self,
            Self::Verified | Self::Unproven | Self::Propagating | Self::NeedsReconsent | Self::MissingRoles | Self::NeverChecked
        )
    }

    /// How bad a status is, to give a tenant the worst of its APIs' statuses: what the customer or the
    /// partner must act on ranks above what passes by itself (propagation, throttling, a network error).
    pub fn severity(self) -> u8 {
        match self {
            Self::Verified => 0,
            Self::NeverChecked => 1,
            Self::Unproven => 2,
            Self::Propagating => 3,
            Self::Throttled => 4,
            Self::Unreachable => 5,
            Self::MissingRoles => 6,
            Self::NeedsReconsent => 7,
            Self::TokenInvalid => 8,
            Self::ServiceNotProvisioned => 9,
            Self::AppDisabled => 10,
            Self::ConsentRemoved => 11,
            Self::CredentialsInvalid => 12,
            Self::TenantNotFound => 13,
        }
    }

    /// Does the tenant hold every required role (proven, or read from a token only its API can check)?
    /// A campaign counts such a tenant as re-consented (`db::campaigns` says the same in SQL).
    pub fn is_granted(self) -> bool {
        matches!(self, Self::Verified | Self::Unproven)
    }

    /// Is the tenant still waiting for roles to appear (after a consent, or before its first check)?
    pub fn awaits_roles(self) -> bool {
        matches!(self, Self::Propagating | Self::NeedsReconsent | Self::MissingRoles | Self::NeverChecked)
    }

    /// Microsoft's answer, classified: an AADSTS code (and the HTTP status) to a status.
    pub fn from_token_error(status: u16, aadsts: Option<u32>) -> Self {
        match aadsts {
            Some(700016 | 7000229 | 65001) => Self::ConsentRemoved,
            Some(7000112) => Self::AppDisabled,
            Some(500011) => Self::ServiceNotProvisioned,
            Some(90002 | 900023) => Self::TenantNotFound,
            Some(7000215 | 7000222 | 7000218 | 700027 | 700024 | 700021 | 50027 | 50013) => Self::CredentialsInvalid,
            _ if status == 429 => Self::Throttled,
            _ => Self::Unreachable,
        }
    }
}

impl fmt::Display for TenantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so that a width (`{:<16}`) lines tables up as it did for the text.
        f.pad(self.as_str())
    }
}

/// In JSON (exports, the API, `tenants list --json`) a status is its stored value.
impl serde::Serialize for TenantStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for TenantStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::parse(&value).ok_or_else(|| serde::de::Error::custom(format!("unknown status {value:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_and_only_token_failures_are_failures() {
        for status in TenantStatus::ALL {
            assert_eq!(TenantStatus::parse(status.as_str()), Some(status));
            let ok = matches!(status, TenantStatus::Verified | TenantStatus::Unproven);
            assert_eq!(status.is_token_failure(), !status.awaits_roles() && !ok, "{status}");
        }
        assert!(TenantStatus::ConsentRemoved.is_token_failure());
        assert!(!TenantStatus::MissingRoles.is_token_failure());
        assert_eq!(format!("[{:<16}]", TenantStatus::Verified), "[verified        ]");
    }
}

use std::fmt;

/// What an audit event records. Stored as its text (`invite.created`), which staff read on the invites
/// page and in the `audit_events` table; the text of a kind never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    InviteCreated,
    InviteRevoked,
    InviteSent,
    InviteSignedIn,
    InviteWrongTenant,
    InviteAlreadyUsed,
    InviteCancelled,
    InviteFailed,
    InviteVerified,
    InviteChecked,
    TenantConsented,
    TenantReconsented,
    TenantConflict,
    TenantChecked,
    TenantDegraded,
    TenantRemoved,
    StaffSignedIn,
    StaffSignedOut,
    StaffRefused,
    PermissionsChanged,
    CampaignCreated,
    CampaignResent,
    CampaignCompleted,
}

impl AuditKind {
    pub const ALL: [AuditKind; 23] = [
        Self::InviteCreated,
        Self::InviteRevoked,
        Self::InviteSent,
        Self::InviteSignedIn,
        Self::InviteWrongTenant,
        Self::InviteAlreadyUsed,
        Self::InviteCancelled,
        Self::InviteFailed,
        Self::InviteVerified,
        Self::InviteChecked,
        Self::TenantConsented,
        Self::TenantReconsented,
        Self::TenantConflict,
        Self::TenantChecked,
        Self::TenantDegraded,
        Self::TenantRemoved,
        Self::StaffSignedIn,
        Self::StaffSignedOut,
        Self::StaffRefused,
        Self::PermissionsChanged,
        Self::CampaignCreated,
        Self::CampaignResent,
        Self::CampaignCompleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InviteCreated => "invite.created",
            Self::InviteRevoked => "invite.revoked",
            Self::InviteSent => "invite.sent",
            Self::InviteSignedIn => "invite.signed_in",
            Self::InviteWrongTenant => "invite.wrong_tenant",
            Self::InviteAlreadyUsed => "invite.already_used",
            Self::InviteCancelled => "invite.cancelled",
            Self::InviteFailed => "invite.failed",
            Self::InviteVerified => "invite.verified",
            Self::InviteChecked => "invite.checked",
            Self::TenantConsented => "tenant.consented",
            Self::TenantReconsented => "tenant.reconsented",
            Self::TenantConflict => "tenant.conflict",
            Self::TenantChecked => "tenant.checked",
            Self::TenantDegraded => "tenant.degraded",
            Self::TenantRemoved => "tenant.removed",
            Self::StaffSignedIn => "staff.signed_in",
            Self::StaffSignedOut => "staff.signed_out",
            Self::StaffRefused => "staff.refused",
            Self::PermissionsChanged => "permissions.changed",
            Self::CampaignCreated => "campaign.created",
            Self::CampaignResent => "campaign.resent",
            Self::CampaignCompleted => "campaign.completed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == value)
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_text_and_no_two_share_one() {
        let texts: std::collections::HashSet<&str> = AuditKind::ALL.iter().map(|kind| kind.as_str()).collect();
        assert_eq!(texts.len(), AuditKind::ALL.len());
        for kind in AuditKind::ALL {
            assert_eq!(AuditKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(AuditKind::parse("invite.completed"), None);
    }
}

use super::Timestamp;

/// Where an invite stands. One rule derives it from the invite's dates: revoked first, then
/// completed, then expired; an invite that is none of these is pending (open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InviteStatus {
    Pending,
    Completed,
    Expired,
    Revoked,
}

/// The dates an invite's status is derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InviteDates {
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
}

impl InviteDates {
    pub fn status(&self, now: Timestamp) -> InviteStatus {
        if self.revoked_at.is_some() {
            InviteStatus::Revoked
        } else if self.completed_at.is_some() {
            InviteStatus::Completed
        } else if self.expires_at <= now {
            InviteStatus::Expired
        } else {
            InviteStatus::Pending
        }
    }

    /// Does the invite's link still open at `now`? Unless revoked or expired: a completed invite
    /// still opens, for its own tenant to approve again.
    pub fn link_works(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

impl InviteStatus {
    /// The word staff read on the invites page.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "open",
            Self::Completed => "completed",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    /// The colour class of the label.
    pub fn tone(self) -> &'static str {
        match self {
            Self::Pending => "info",
            Self::Completed => "ok",
            Self::Expired => "warn",
            Self::Revoked => "neutral",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn revoked_then_completed_then_expired_then_pending() {
        let now = at("2026-11-25T12:00:00Z");
        let open = InviteDates { expires_at: at("2026-11-26T12:00:00Z"), revoked_at: None, completed_at: None };
        assert_eq!(open.status(now), InviteStatus::Pending);
        assert_eq!(InviteDates { expires_at: now, ..open }.status(now), InviteStatus::Expired, "expired at its expiry");
        let completed = InviteDates { completed_at: Some(now), expires_at: at("2026-11-01T00:00:00Z"), ..open };
        assert_eq!(completed.status(now), InviteStatus::Completed, "completed wins over expired");
        assert_eq!(InviteDates { revoked_at: Some(now), ..completed }.status(now), InviteStatus::Revoked);
    }

    #[test]
    fn a_completed_link_works_until_it_expires_and_a_revoked_one_never() {
        let now = at("2026-11-25T12:00:00Z");
        let completed = InviteDates { expires_at: at("2026-11-26T12:00:00Z"), revoked_at: None, completed_at: Some(now) };
        assert!(completed.link_works(now));
        assert!(!InviteDates { expires_at: now, ..completed }.link_works(now));
        assert!(!InviteDates { revoked_at: Some(now), ..completed }.link_works(now));
    }
}

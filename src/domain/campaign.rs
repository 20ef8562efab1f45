//! Re-consent campaigns: which tenants a campaign asks, and where each of them stands.

use std::fmt;

/// Which tenants a new campaign asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Selection {
    /// Every tenant on the dashboard.
    All,
    /// Only the tenants whose latest check shows "needs re-consent".
    #[default]
    NeedsReconsent,
}

impl Selection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::NeedsReconsent => "needs_reconsent",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::All, Self::NeedsReconsent].into_iter().find(|s| s.as_str() == value)
    }
}

/// Where a tenant of a campaign stands. Derived from the tenant, its campaign invite and its latest
/// e-mail whenever it is read, so it cannot drift from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CampaignTenantState {
    /// A check since the campaign's permissions were first required shows every one of them, however
    /// the tenant got them (this campaign's link, another link, the Entra admin center).
    Reconsented,
    /// Asked, and the link still works.
    Waiting,
    /// The e-mail failed (or was interrupted), or no address is known for the tenant.
    EmailFailed,
    /// The campaign's link expired (or was revoked) before the tenant approved.
    LinkExpired,
    /// The tenant was removed from the dashboard since: it no longer counts.
    Removed,
}

impl CampaignTenantState {
    /// In the order the page and the bar show them.
    pub const ALL: [Self; 5] = [Self::Reconsented, Self::Waiting, Self::EmailFailed, Self::LinkExpired, Self::Removed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reconsented => "reconsented",
            Self::Waiting => "waiting",
            Self::EmailFailed => "email_failed",
            Self::LinkExpired => "link_expired",
            Self::Removed => "removed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Reconsented => "re-consented",
            Self::Waiting => "waiting",
            Self::EmailFailed => "e-mail failed",
            Self::LinkExpired => "link expired",
            Self::Removed => "removed",
        }
    }

    /// The colour class, as the tenant statuses use them.
    pub fn tone(self) -> &'static str {
        match self {
            Self::Reconsented => "ok",
            Self::Waiting => "info",
            Self::EmailFailed | Self::LinkExpired => "warn",
            Self::Removed => "neutral",
        }
    }

    /// Can staff ask this tenant again (a new e-mail, and a new link when its link expired)?
    pub fn can_resend(self) -> bool {
        matches!(self, Self::Waiting | Self::EmailFailed | Self::LinkExpired)
    }
}

impl fmt::Display for CampaignTenantState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for CampaignTenantState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A campaign's counts per state, and what they add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    pub reconsented: i64,
    pub waiting: i64,
    pub email_failed: i64,
    pub link_expired: i64,
    pub removed: i64,
}

impl Progress {
    pub fn from_counts(counts: &[(CampaignTenantState, i64)]) -> Self {
        let mut progress = Self::default();
        for (state, count) in counts {
            *progress.count_mut(*state) += count;
        }
        progress
    }

    fn count_mut(&mut self, state: CampaignTenantState) -> &mut i64 {
        match state {
            CampaignTenantState::Reconsented => &mut self.reconsented,
            CampaignTenantState::Waiting => &mut self.waiting,
            CampaignTenantState::EmailFailed => &mut self.email_failed,
            CampaignTenantState::LinkExpired => &mut self.link_expired,
            CampaignTenantState::Removed => &mut self.removed,
        }
    }

    pub fn count(&self, state: CampaignTenantState) -> i64 {
        let mut copy = *self;
        *copy.count_mut(state)
    }

    /// The tenants that count: all but those removed since.
    pub fn total(&self) -> i64 {
        self.reconsented + self.waiting + self.email_failed + self.link_expired
    }

    /// Re-consented, in whole percent of those that count (100 for an empty campaign).
    pub fn percent_done(&self) -> i64 {
        if self.total() == 0 { 100 } else { self.reconsented * 100 / self.total() }
    }

    /// Has at least half re-consented?
    pub fn half_done(&self) -> bool {
        self.total() > 0 && self.reconsented * 2 >= self.total()
    }

    pub fn complete(&self) -> bool {
        self.total() > 0 && self.reconsented == self.total()
    }

    /// The tenants staff can ask again.
    pub fn resendable(&self) -> i64 {
        self.waiting + self.email_failed + self.link_expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_progress_adds_up() {
        for state in CampaignTenantState::ALL {
            assert_eq!(CampaignTenantState::parse(state.as_str()), Some(state));
        }
        assert_eq!(Selection::parse("all"), Some(Selection::All));
        assert_eq!(Selection::parse("some"), None);
        let progress = Progress::from_counts(&[
            (CampaignTenantState::Reconsented, 2),
            (CampaignTenantState::Waiting, 1),
            (CampaignTenantState::LinkExpired, 1),
            (CampaignTenantState::Removed, 3),
        ]);
        assert_eq!((progress.total(), progress.percent_done(), progress.resendable()), (4, 50, 2));
        assert!(progress.half_done() && !progress.complete());
        assert!(Progress::from_counts(&[(CampaignTenantState::Reconsented, 1), (CampaignTenantState::Removed, 1)]).complete());
        assert!(!Progress::default().complete() && !Progress::default().half_done());
    }
}

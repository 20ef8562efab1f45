//! Re-consent campaigns, the use cases: when the application needs permissions a tenant's admin never
//! approved, ask every such customer at once — an invite pinned to each tenant, an e-mail in the
//! customer's language saying what is new and what stays, the usual reminders — and follow each tenant
//! until a check shows every required role, however it got them.
//!
//! [`requirements`] records the permission sets the portal runs with (what makes a tenant "needs
//! re-consent"); [`create`] starts a campaign; [`progress`] reads one and tells staff of its milestones;
//! [`resend`] asks again.

pub mod create;
pub mod progress;
pub mod requirements;
pub mod resend;

pub use create::{CAMPAIGN_LINK_DAYS, CampaignRequest, CreatedCampaign, create};
pub use progress::{CampaignView, TENANTS_PAGE_SIZE, list, show};

use crate::db::Pool;

use crate::domain::Timestamp;
use crate::error::UseCaseError;

/// What the tenants page says of re-consent: the latest change of the required permissions, and how many
/// tenants a campaign would ask now.
#[derive(Debug, Clone)]
pub struct DashboardPanel {
    pub change: Option<requirements::Change>,
    /// Tenants that need re-consent and are not asked by a running campaign yet.
    pub askable: i64,
}

pub async fn dashboard_panel(pool: &Pool, now: Timestamp) -> Result<DashboardPanel, Error> {
    let change = requirements::latest_change(pool).await?;
    let askable = crate::db::campaigns::count_candidates(pool, true, now).await?;
    Ok(DashboardPanel { change, askable })
}

/// Why a campaign use case did not do what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No campaign (or no tenant of it) by that id.
    NotFound,
    /// No tenant to ask: none matches the selection, or each is already asked by a running campaign.
    NoTenants,
    /// E-mails cannot be sent: no SMTP server is configured.
    EmailsOff,
}

impl Refusal {
    /// What staff read.
    pub fn message(self) -> &'static str {
        match self {
            Self::NotFound => "No such campaign.",
            Self::NoTenants => {
                "No tenant to ask: none matches (with --needs-reconsent, no tenant's latest check shows \"needs re-consent\"), or \
                 each is already asked by a running campaign whose link still works."
            }
            Self::EmailsOff => "E-mails cannot be sent: no SMTP server is configured (PORTAL_SMTP_URL).",
        }
    }
}

/// What a campaign use case answers instead of its outcome.
pub type Error = UseCaseError<Refusal>;

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

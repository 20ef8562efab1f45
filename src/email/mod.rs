//! E-mails: the onboarding e-mail (and its reminders) to customers, in their language, and notifications
//! to staff, in English.
//!
//! Nothing here runs inside a request. Handlers only add a row to the `outbox` table (in the transaction
//! of what they record) and wake the [`worker`]; the worker composes each message when it sends it
//! ([`compose`]), mints a fresh onboarding link for it (only the link's hash is stored, in
//! `invite_links`), and hands it to the [`transport`]: an SMTP server, or the in-memory mailbox of the
//! demo.
//!
//! Delivery guarantee (docs/operations.md, "E-mails"): a row is claimed (`sending`) before the SMTP conversation and
//! marked `sent` after the server accepted it; a row found `sending` at start-up (the process stopped in
//! between) becomes `interrupted` and is never sent again automatically — staff see it and can resend.
//! So each message is sent automatically at most once, and nothing queued is lost.

pub mod compose;
pub mod resend;
pub mod transport;
pub mod worker;

use std::sync::Arc;

use lettre::Address;
use serde_json::json;

pub use crate::config::{DEFAULT_REMINDER_AFTER_DAYS, DEFAULT_REMINDER_MAX, EmailSettings, SmtpUrl, TransportSettings};
use crate::db;
pub use crate::domain::email_address::parse_address;
use crate::domain::{AuditKind, TenantId, Timestamp};
pub use transport::{DeliveredMessage, MemoryMailbox, Transport};

/// How long a shutdown waits for the e-mail being sent: one SMTP conversation, and a little more.
pub const WORKER_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(35);

/// How long the worker sleeps when nobody wakes it.
pub const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// What an outbox row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Onboarding,
    Reminder,
    TenantConnected,
    TenantDegraded,
    /// A campaign passed half way, or completed.
    CampaignProgress,
    /// A running campaign's weekly digest.
    CampaignDigest,
    /// One of the portal's own credentials reached a threshold of days left (`crate::credentials`).
    CredentialExpiring,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Onboarding,
        Kind::Reminder,
        Kind::TenantConnected,
        Kind::TenantDegraded,
        Kind::CampaignProgress,
        Kind::CampaignDigest,
        Kind::CredentialExpiring,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Onboarding => "onboarding",
            Kind::Reminder => "reminder",
            Kind::TenantConnected => "tenant_connected",
            Kind::TenantDegraded => "tenant_degraded",
            Kind::CampaignProgress => "campaign_progress",
            Kind::CampaignDigest => "campaign_digest",
            Kind::CredentialExpiring => "credential_expiring",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// Does the e-mail carry an onboarding link?
    pub fn is_for_customer(self) -> bool {
        matches!(self, Kind::Onboarding | Kind::Reminder)
    }
}

/// The sending half the application holds: the transport, and the bell that wakes the worker.
pub struct Mailer {
    pub transport: Transport,
    wake: tokio::sync::Notify,
}

impl Mailer {
    pub fn new(settings: &TransportSettings) -> anyhow::Result<Arc<Self>> {
        Ok(Arc::new(Self { transport: Transport::new(settings)?, wake: tokio::sync::Notify::new() }))
    }

    /// Tells the worker that rows were added (after the transaction that added them committed).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The in-memory mailbox, in the demo.
    pub fn memory(&self) -> Option<&MemoryMailbox> {
        match &self.transport {
            Transport::Memory(mailbox) => Some(mailbox),
            _ => None,
        }
    }

    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
    }
}

/// Queues "tenant connected" for every staff recipient of `notify`, inside the transaction that records
/// the consent. `kind` is the audit kind (`tenant.consented` or `tenant.reconsented`).
pub async fn notify_tenant_connected(
    conn: &mut db::WriteTransaction,
    notify: &[Address],
    tenant_id: TenantId,
    customer: &str,
    consented_by: Option<&str>,
    kind: AuditKind,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    let detail = json!({ "customer": customer, "consented_by": consented_by, "reconsent": kind == AuditKind::TenantReconsented });
    let recipients: Vec<String> = notify.iter().map(ToString::to_string).collect();
    db::outbox::insert_staff_notifications(conn, Kind::TenantConnected.as_str(), tenant_id, detail, &recipients, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("other"), None);
    }
}

//! E-mails: the onboarding e-mail (and its reminders) to customers, in their language, and notifications
//! to staff, in English.
//!
//! Nothing here runs inside a request. Handlers only add a row to the `outbox` table (in the transaction
//! of what they record) and wake the [`worker`]; the worker composes each message when it sends it
//! ([`compose`]), mints a fresh onboarding link for it (only the link's hash is stored, in
//! `invite_links`), and hands it to the [`transport`]: an SMTP server, or the in-memory mailbox of the
//! demo.
//!
//! Delivery guarantee (README "E-mails"): a row is claimed (`sending`) before the SMTP conversation and
//! marked `sent` after the server accepted it; a row found `sending` at start-up (the process stopped in
//! between) becomes `interrupted` and is never sent again automatically — staff see it and can resend.
//! So each message is sent automatically at most once, and nothing queued is lost.

pub mod compose;
pub mod transport;
pub mod worker;

use std::sync::Arc;

use lettre::Address;
use lettre::message::Mailbox;
use serde_json::json;
use sqlx::SqliteConnection;

use crate::config::Config;
use crate::db;
pub use transport::{DeliveredMessage, MemoryMailbox, SmtpUrl, Transport};

/// How long a shutdown waits for the e-mail being sent: one SMTP conversation, and a little more.
pub const WORKER_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(35);

/// How long the worker sleeps when nobody wakes it.
pub const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// How e-mails leave the portal.
#[derive(Debug, Clone, Default)]
pub enum TransportSettings {
    /// No e-mail can be sent (neither PORTAL_SMTP_URL nor the demo).
    #[default]
    Off,
    /// An SMTP server.
    Smtp(SmtpUrl),
    /// The demo's in-process mailbox, shown on `/outbox`.
    Memory,
}

/// The e-mail settings of the configuration.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub transport: TransportSettings,
    /// The sender (required with SMTP).
    pub from: Option<Mailbox>,
    /// Staff who get notifications (tenant connected, tenant degraded).
    pub notify: Vec<Address>,
    /// Days after the last onboarding e-mail before a reminder.
    pub reminder_after_days: u32,
    /// Reminders per invite, at most.
    pub reminder_max: u32,
    /// First retry delay after a temporary failure; doubles up to `retry_cap`.
    pub retry_base: std::time::Duration,
    pub retry_cap: std::time::Duration,
}

pub const DEFAULT_REMINDER_AFTER_DAYS: u32 = 3;
pub const DEFAULT_REMINDER_MAX: u32 = 2;

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            transport: TransportSettings::Off,
            from: None,
            notify: Vec::new(),
            reminder_after_days: DEFAULT_REMINDER_AFTER_DAYS,
            reminder_max: DEFAULT_REMINDER_MAX,
            retry_base: std::time::Duration::from_secs(60),
            retry_cap: std::time::Duration::from_secs(3600),
        }
    }
}

impl EmailSettings {
    /// Can the portal send e-mails at all?
    pub fn enabled(&self) -> bool {
        !matches!(self.transport, TransportSettings::Off)
    }
}

/// What an outbox row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Onboarding,
    Reminder,
    TenantConnected,
    TenantDegraded,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Onboarding => "onboarding",
            Kind::Reminder => "reminder",
            Kind::TenantConnected => "tenant_connected",
            Kind::TenantDegraded => "tenant_degraded",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Kind::Onboarding, Kind::Reminder, Kind::TenantConnected, Kind::TenantDegraded].into_iter().find(|k| k.as_str() == value)
    }

    /// Does the e-mail carry an onboarding link?
    pub fn is_for_customer(self) -> bool {
        matches!(self, Kind::Onboarding | Kind::Reminder)
    }
}

/// An e-mail address as typed, checked with lettre's parser (one address, no name, no line break, no
/// invisible character).
pub fn parse_address(value: &str) -> Result<Address, String> {
    let value = value.trim();
    crate::domain::free_text::refuse_hidden("the e-mail address", value).map_err(|e| e.to_string())?;
    value.parse::<Address>().map_err(|_| format!("{value:?} is not an e-mail address"))
}

/// The sending half the application holds: the transport, and the bell that wakes the worker.
pub struct Mailer {
    pub transport: Transport,
    wake: tokio::sync::Notify,
}

impl Mailer {
    pub fn new(config: &Config) -> anyhow::Result<Arc<Self>> {
        Ok(Arc::new(Self { transport: Transport::new(&config.email.transport)?, wake: tokio::sync::Notify::new() }))
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

/// Queues the onboarding e-mail of an invite (or a resend of it), inside the caller's transaction.
/// Returns the outbox id.
pub async fn enqueue_onboarding(
    conn: &mut SqliteConnection,
    invite_id: &str,
    recipient: &Address,
    language: &str,
    requested_by: &str,
) -> Result<String, sqlx::Error> {
    let row = db::outbox::NewMessage {
        kind: Kind::Onboarding.as_str(),
        recipient: recipient.as_ref(),
        language,
        invite_id: Some(invite_id),
        tenant_id: None,
        detail: json!({}),
        follows: None,
        requested_by,
    };
    db::outbox::insert(conn, row, &db::now_text()).await
}

/// Queues "tenant connected" for every staff recipient, inside the transaction that records the
/// consent. `kind` is the audit kind (`tenant.consented` or `tenant.reconsented`).
pub async fn notify_tenant_connected(
    conn: &mut SqliteConnection,
    config: &Config,
    tenant_id: &str,
    customer: &str,
    consented_by: Option<&str>,
    kind: &str,
) -> Result<(), sqlx::Error> {
    let detail = json!({ "customer": customer, "consented_by": consented_by, "reconsent": kind == "tenant.reconsented" });
    let recipients: Vec<String> = config.email.notify.iter().map(ToString::to_string).collect();
    db::outbox::insert_staff_notifications(conn, Kind::TenantConnected.as_str(), tenant_id, detail, &recipients, &db::now_text()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_by_lettre() {
        assert!(parse_address("it@contoso.example").is_ok());
        for bad in [
            "not an address",
            "a@b\r\nBcc: x@y.example",
            "<b>@x.example",
            "a@",
            "@b.example",
            "a b@c.example",
            "it@contoso\u{202E}elpmaxe.",
            "i\u{200B}t@contoso.example",
        ] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kinds_round_trip() {
        for kind in [Kind::Onboarding, Kind::Reminder, Kind::TenantConnected, Kind::TenantDegraded] {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("other"), None);
    }
}

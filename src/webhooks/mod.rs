//! Signed webhooks: events about tenants, campaigns and the portal's own credentials, posted to the
//! receivers of `PORTAL_WEBHOOK_URLS` and signed as the Standard Webhooks specification says.
//!
//! Nothing here runs inside a request. What changes a tenant queues its event ([`enqueue`]) in the
//! transaction of the change — the outbox pattern: the event exists if and only if the change was
//! committed — one row per endpoint in `webhook_deliveries`, holding the body exactly as it will be
//! sent. The [`worker`] posts each one, at least once: retried with a growing delay for 24 hours (then
//! `failed`), a tenant's later event held back until its earlier one was delivered or given up, and
//! with the same `webhook-id` on every attempt, across restarts, so receivers can drop duplicates.

pub mod worker;

pub use crate::db::webhooks::enqueue;
pub use crate::domain::webhook_event::{Event, EventType, TenantFacts};

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::config::WebhookSettings;
use crate::db::engine::Exec;
use crate::domain::Timestamp;

/// Queues a `credential.expiring` event (the credential-expiry check calls this in the transaction
/// that records the warning as sent).
pub async fn enqueue_credential_expiring<'e>(
    db: impl Into<Exec<'e>>,
    settings: &WebhookSettings,
    label: &str,
    kind: &str,
    expires_at: Timestamp,
    days_left: i64,
    now: Timestamp,
) -> Result<Option<String>, sqlx::Error> {
    enqueue(db, settings, &Event::credential_expiring(label, kind, expires_at, days_left, now), None).await
}

/// The `webhook-signature` header's value for one attempt: `v1,` and the base64 HMAC-SHA256, keyed by
/// the secret's bytes, of `{webhook-id}.{webhook-timestamp}.{body}`.
pub fn sign(secret: &[u8], message_id: &str, timestamp: i64, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, format!("{message_id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(tag.as_ref()))
}

/// The application's half of webhooks: the settings, the HTTP client, and the bell that wakes the
/// worker.
pub struct Webhooks {
    settings: WebhookSettings,
    client: reqwest::Client,
    wake: tokio::sync::Notify,
}

impl Webhooks {
    /// Built at start-up (with the sweeper, whose checks queue events too).
    pub fn new(settings: &WebhookSettings) -> Arc<Self> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            // A receiver that moved is a configuration to fix, not a place to follow events to.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("consent-portal-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|error| {
                // Only a TLS backend that cannot start fails here, and then every client of the process does.
                tracing::error!(%error, "cannot build the webhooks' HTTP client; using the default one");
                reqwest::Client::new()
            });
        Arc::new(Self { settings: settings.clone(), client, wake: tokio::sync::Notify::new() })
    }

    pub fn settings(&self) -> &WebhookSettings {
        &self.settings
    }

    pub fn enabled(&self) -> bool {
        self.settings.enabled()
    }

    /// Tells the worker that events were queued (after the transaction that queued them committed).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks reference libraries' tests.
    #[test]
    fn signatures_match_the_reference_example() {
        let secret = crate::config::WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = sign(secret.expose(), "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}

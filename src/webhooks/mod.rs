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

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::config::WebhookSettings;
use crate::db;
use crate::db::engine::Exec;
use crate::domain::{TenantId, TenantStatus, Timestamp};

/// What an event reports: its `type`, as receivers match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// A customer's admin consented (first time or again).
    TenantConnected,
    /// A verified tenant's check found a problem.
    TenantDegraded,
    /// A tenant with a problem is verified again.
    TenantRecovered,
    /// Staff removed a tenant from the dashboard.
    TenantRemoved,
    /// A re-consent campaign completed.
    CampaignCompleted,
    /// The portal's own client secret or certificate expires soon.
    CredentialExpiring,
    /// Sent by staff from the Webhooks page, to try a receiver.
    Test,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        Self::TenantConnected,
        Self::TenantDegraded,
        Self::TenantRecovered,
        Self::TenantRemoved,
        Self::CampaignCompleted,
        Self::CredentialExpiring,
        Self::Test,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TenantConnected => "tenant.connected",
            Self::TenantDegraded => "tenant.degraded",
            Self::TenantRecovered => "tenant.recovered",
            Self::TenantRemoved => "tenant.removed",
            Self::CampaignCompleted => "campaign.completed",
            Self::CredentialExpiring => "credential.expiring",
            Self::Test => "webhook.test",
        }
    }
}

/// One event, before it is queued.
#[derive(Debug, Clone)]
pub struct Event {
    pub event_type: EventType,
    /// The tenant it is about: its events are delivered in order.
    pub tenant_id: Option<TenantId>,
    pub data: Value,
    pub at: Timestamp,
}

/// What a tenant event says of its tenant.
pub struct TenantFacts<'a> {
    pub tenant_id: TenantId,
    pub customer: &'a str,
    pub status: TenantStatus,
    pub roles_missing: &'a [String],
}

impl Event {
    /// An event about a tenant: `data` holds `tenant_id`, `customer`, `status` and `roles_missing`,
    /// and the fields of `extra` (an object).
    pub fn tenant(event_type: EventType, facts: &TenantFacts<'_>, extra: Value, at: Timestamp) -> Self {
        let mut data = json!({
            "tenant_id": facts.tenant_id,
            "customer": facts.customer,
            "status": facts.status.as_str(),
            "roles_missing": facts.roles_missing,
        });
        if let (Some(data), Value::Object(extra)) = (data.as_object_mut(), extra) {
            data.extend(extra);
        }
        Self { event_type, tenant_id: Some(facts.tenant_id), data, at }
    }

    /// A completed campaign: its id, who started it and when, and its final counts.
    pub fn campaign_completed(campaign_id: &str, created_by: &str, created_at: Timestamp, progress: Value, at: Timestamp) -> Self {
        let data = json!({ "campaign_id": campaign_id, "created_by": created_by, "created_at": created_at, "progress": progress });
        Self { event_type: EventType::CampaignCompleted, tenant_id: None, data, at }
    }

    /// One of the portal's own credentials expires in `days_left` days: its `label` (which one, never
    /// the secret), `kind` (`secret` or `certificate`) and expiry.
    pub fn credential_expiring(label: &str, kind: &str, expires_at: Timestamp, days_left: i64, at: Timestamp) -> Self {
        let data = json!({ "label": label, "kind": kind, "expires_at": expires_at, "days_left": days_left });
        Self { event_type: EventType::CredentialExpiring, tenant_id: None, data, at }
    }

    /// The event of the Webhooks page's "Send a test event".
    pub fn test(requested_by: &str, at: Timestamp) -> Self {
        let data = json!({ "message": "A test event from the consent portal.", "requested_by": requested_by });
        Self { event_type: EventType::Test, tenant_id: None, data, at }
    }

    /// The body as it is sent (and signed): `{"type", "timestamp", "data"}`.
    pub fn body(&self) -> String {
        json!({ "type": self.event_type.as_str(), "timestamp": self.at, "data": self.data }).to_string()
    }
}

/// Queues `event` for every configured endpoint, inside the caller's transaction; nothing when
/// webhooks are off. Returns the event's `webhook-id`. Wake the worker ([`Webhooks::wake`]) after the
/// transaction commits.
pub async fn enqueue<'e>(
    db: impl Into<Exec<'e>>,
    settings: &WebhookSettings,
    event: &Event,
    requested_by: Option<&str>,
) -> Result<Option<String>, sqlx::Error> {
    if !settings.enabled() {
        return Ok(None);
    }
    let mut db = db.into();
    let message_id = format!("msg_{}", uuid::Uuid::now_v7().simple());
    let body = event.body();
    let give_up_at = event.at + give_up_after(settings);
    for endpoint in &settings.endpoints {
        let new = db::webhooks::NewDelivery {
            message_id: &message_id,
            endpoint: &endpoint.key,
            endpoint_origin: &endpoint.origin,
            event_type: event.event_type.as_str(),
            tenant_id: event.tenant_id,
            body: &body,
            give_up_at,
            requested_by,
        };
        db::webhooks::insert(db.reborrow(), new, event.at).await?;
    }
    Ok(Some(message_id))
}

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

fn give_up_after(settings: &WebhookSettings) -> time::Duration {
    time::Duration::try_from(settings.give_up_after).unwrap_or(time::Duration::DAY)
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

    #[test]
    fn a_tenant_event_carries_the_tenant_facts() {
        let tenant = TenantId::parse("72f988bf-86f1-41af-91ab-2d7cd011db47").unwrap();
        let missing = vec!["graph:ThreatHunting.Read.All".to_owned()];
        let facts = TenantFacts { tenant_id: tenant, customer: "Contoso", status: TenantStatus::MissingRoles, roles_missing: &missing };
        let at = Timestamp::parse("2026-12-01T10:00:00Z").unwrap();
        let event = Event::tenant(EventType::TenantDegraded, &facts, json!({ "previous_status": "verified" }), at);
        let body: Value = serde_json::from_str(&event.body()).unwrap();
        assert_eq!(
            body,
            json!({ "type": "tenant.degraded", "timestamp": "2026-12-01T10:00:00Z", "data": {
                "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47", "customer": "Contoso", "status": "missing_roles",
                "roles_missing": ["graph:ThreatHunting.Read.All"], "previous_status": "verified" } })
        );
    }
}

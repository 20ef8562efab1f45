//! A webhook event before it is queued: its type (as receivers match on it), the tenant it is about
//! (its events are delivered in order), and its data; and the body it is sent as.

use serde_json::{Value, json};

use super::{TenantId, TenantStatus, Timestamp};

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

#[cfg(test)]
mod tests {
    use super::*;

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

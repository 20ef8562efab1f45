//! The `audit_events` table: an append-only record of who did what, for staff and for proof.

use sqlx::FromRow;

use super::engine::{Exec, on_engine};

use crate::domain::{AuditKind, TenantId, Timestamp};

#[derive(Debug, Clone, FromRow)]
pub struct AuditEvent {
    pub id: i64,
    pub at: Timestamp,
    pub kind: AuditKind,
    pub actor: Option<String>,
    pub customer_id: Option<String>,
    pub invite_id: Option<String>,
    pub tenant_id: Option<TenantId>,
    /// A JSON object.
    pub detail: String,
}

/// What an audit event is about. `detail` is a JSON object and must never hold a secret or token.
#[derive(Debug)]
pub struct NewAuditEvent<'a> {
    pub kind: AuditKind,
    pub actor: Option<&'a str>,
    pub customer_id: Option<&'a str>,
    pub invite_id: Option<&'a str>,
    pub tenant_id: Option<TenantId>,
    pub detail: serde_json::Value,
}

impl<'a> NewAuditEvent<'a> {
    /// An event of `kind` by `actor`, about nothing else yet.
    pub fn new(kind: AuditKind, actor: Option<&'a str>) -> Self {
        Self { kind, actor, customer_id: None, invite_id: None, tenant_id: None, detail: serde_json::Value::Null }
    }
}

pub async fn record<'e>(db: impl Into<Exec<'e>>, event: NewAuditEvent<'_>, now: Timestamp) -> Result<(), sqlx::Error> {
    let detail = if event.detail.is_null() { serde_json::json!({}) } else { event.detail }.to_string();
    let sql = "INSERT INTO audit_events (at, kind, actor, customer_id, invite_id, tenant_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    on_engine!(db, |executor| sqlx::query(sql)
        .bind(now)
        .bind(event.kind)
        .bind(event.actor)
        .bind(event.customer_id)
        .bind(event.invite_id)
        .bind(event.tenant_id)
        .bind(&detail)
        .execute(executor)
        .await
        .map(|_| ()))
}

const SELECT: &str = "SELECT id, at, kind, actor, customer_id, invite_id, tenant_id, detail FROM audit_events";

/// The events of one invite, oldest first (its timeline).
pub async fn for_invite<'e>(db: impl Into<Exec<'e>>, invite_id: &str) -> Result<Vec<AuditEvent>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE invite_id = $1 ORDER BY id");
    on_engine!(db, |executor| sqlx::query_as(&sql).bind(invite_id).fetch_all(executor).await)
}

/// The events of several invites, oldest first.
pub async fn for_invites<'e>(db: impl Into<Exec<'e>>, invite_ids: &[String]) -> Result<Vec<AuditEvent>, sqlx::Error> {
    if invite_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = super::placeholder_list(1, invite_ids.len());
    let sql = format!("{SELECT} WHERE invite_id IN ({placeholders}) ORDER BY id");
    on_engine!(db, |executor| {
        let mut query = sqlx::query_as(&sql);
        for id in invite_ids {
            query = query.bind(id);
        }
        query.fetch_all(executor).await
    })
}

/// The events of one kind since `since`, newest first.
pub async fn recent_of_kind<'e>(
    db: impl Into<Exec<'e>>,
    kind: AuditKind,
    since: Timestamp,
    limit: i64,
) -> Result<Vec<AuditEvent>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE kind = $1 AND at >= $2 ORDER BY id DESC LIMIT $3");
    on_engine!(db, |executor| sqlx::query_as(&sql).bind(kind).bind(since).bind(limit).fetch_all(executor).await)
}

/// The latest event of one kind.
pub async fn latest_of_kind<'e>(db: impl Into<Exec<'e>>, kind: AuditKind) -> Result<Option<AuditEvent>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE kind = $1 ORDER BY id DESC LIMIT 1");
    on_engine!(db, |executor| sqlx::query_as(&sql).bind(kind).fetch_optional(executor).await)
}

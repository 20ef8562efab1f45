//! The `audit_events` table: an append-only record of who did what, for staff and for proof.

use serde::Serialize;
use sqlx::{FromRow, SqliteExecutor};

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct AuditEvent {
    pub id: i64,
    pub at: String,
    pub kind: String,
    pub actor: Option<String>,
    pub customer_id: Option<String>,
    pub invite_id: Option<String>,
    pub tenant_id: Option<String>,
    pub detail: String,
}

/// What an audit event is about. `detail` is a JSON object and must never hold a secret or token.
#[derive(Debug, Default)]
pub struct NewAuditEvent<'a> {
    pub kind: &'a str,
    pub actor: Option<&'a str>,
    pub customer_id: Option<&'a str>,
    pub invite_id: Option<&'a str>,
    pub tenant_id: Option<&'a str>,
    pub detail: serde_json::Value,
}

pub async fn record(db: impl SqliteExecutor<'_>, event: NewAuditEvent<'_>) -> Result<(), sqlx::Error> {
    let detail = if event.detail.is_null() { serde_json::json!({}) } else { event.detail };
    sqlx::query("INSERT INTO audit_events (at, kind, actor, customer_id, invite_id, tenant_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(super::now_text())
        .bind(event.kind)
        .bind(event.actor)
        .bind(event.customer_id)
        .bind(event.invite_id)
        .bind(event.tenant_id)
        .bind(detail.to_string())
        .execute(db)
        .await?;
    Ok(())
}

pub async fn for_customer(db: impl SqliteExecutor<'_>, customer_id: &str) -> Result<Vec<AuditEvent>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, at, kind, actor, customer_id, invite_id, tenant_id, detail FROM audit_events WHERE customer_id = ? ORDER BY id",
    )
    .bind(customer_id)
    .fetch_all(db)
    .await
}

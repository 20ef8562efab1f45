//! The `tenants` table (one row per proven tenant) and `consents` (every consent, for history).

use serde::Serialize;
use sqlx::{FromRow, Sqlite, SqliteExecutor, Transaction};

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct TenantRow {
    pub tenant_id: String,
    pub customer_id: String,
    pub customer: String,
    pub invite_id: Option<String>,
    pub display_name: Option<String>,
    pub consented_by_upn: Option<String>,
    pub consented_by_oid: Option<String>,
    pub consented_at: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub last_checked_at: Option<String>,
}

const SELECT: &str = "SELECT t.tenant_id, t.customer_id, c.name AS customer, t.invite_id, t.display_name, t.consented_by_upn, t.consented_by_oid, \
     t.consented_at, t.status, t.status_reason, t.last_checked_at FROM tenants t JOIN customers c ON c.id = t.customer_id";

pub async fn find(db: impl SqliteExecutor<'_>, tenant_id: &str) -> Result<Option<TenantRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE t.tenant_id = ?")).bind(tenant_id).fetch_optional(db).await
}

pub async fn list(db: impl SqliteExecutor<'_>) -> Result<Vec<TenantRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE t.removed_at IS NULL ORDER BY c.name, t.tenant_id")).fetch_all(db).await
}

/// Who consented, for a new consent or a re-consent.
pub struct Consent<'a> {
    pub tenant_id: &'a str,
    pub customer_id: &'a str,
    pub invite_id: &'a str,
    pub upn: Option<&'a str>,
    pub oid: Option<&'a str>,
    pub flow: &'a str,
    pub roles_requested: &'a [String],
}

/// What recording a consent did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    New,
    /// The same customer consented again: the consent is updated, the history keeps both.
    Reconsented,
    /// The tenant belongs to another customer: nothing changed.
    OtherCustomer {
        customer_id: String,
    },
}

/// Records a consent in a write transaction the caller commits.
pub async fn record_consent(tx: &mut Transaction<'_, Sqlite>, consent: Consent<'_>) -> Result<Recorded, sqlx::Error> {
    let now = super::now_text();
    let existing: Option<(String,)> =
        sqlx::query_as("SELECT customer_id FROM tenants WHERE tenant_id = ?").bind(consent.tenant_id).fetch_optional(&mut **tx).await?;
    let recorded = match existing {
        Some((customer_id,)) if customer_id != consent.customer_id => return Ok(Recorded::OtherCustomer { customer_id }),
        Some(_) => {
            sqlx::query(
                "UPDATE tenants SET invite_id = ?, consented_by_upn = ?, consented_by_oid = ?, consented_at = ?, removed_at = NULL WHERE tenant_id = ?",
            )
            .bind(consent.invite_id)
            .bind(consent.upn)
            .bind(consent.oid)
            .bind(&now)
            .bind(consent.tenant_id)
            .execute(&mut **tx)
            .await?;
            Recorded::Reconsented
        }
        None => {
            sqlx::query(
                "INSERT INTO tenants (tenant_id, customer_id, invite_id, consented_by_upn, consented_by_oid, consented_at) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(consent.tenant_id)
            .bind(consent.customer_id)
            .bind(consent.invite_id)
            .bind(consent.upn)
            .bind(consent.oid)
            .bind(&now)
            .execute(&mut **tx)
            .await?;
            Recorded::New
        }
    };
    sqlx::query(
        "INSERT INTO consents (tenant_id, customer_id, invite_id, consented_by_upn, consented_by_oid, consented_at, flow, roles_requested) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(consent.tenant_id)
    .bind(consent.customer_id)
    .bind(consent.invite_id)
    .bind(consent.upn)
    .bind(consent.oid)
    .bind(&now)
    .bind(consent.flow)
    .bind(serde_json::to_string(consent.roles_requested).unwrap_or_else(|_| "[]".into()))
    .execute(&mut **tx)
    .await?;
    Ok(recorded)
}

pub async fn consent_count(db: impl SqliteExecutor<'_>, tenant_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM consents WHERE tenant_id = ?").bind(tenant_id).fetch_one(db).await
}

/// Stores the outcome of a check on the tenant row.
pub async fn set_status(
    db: impl SqliteExecutor<'_>,
    tenant_id: &str,
    status: &str,
    reason: &str,
    checked_at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tenants SET status = ?, status_reason = ?, last_checked_at = ? WHERE tenant_id = ?")
        .bind(status)
        .bind(reason)
        .bind(checked_at)
        .bind(tenant_id)
        .execute(db)
        .await?;
    Ok(())
}

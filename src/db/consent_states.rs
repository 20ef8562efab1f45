//! The `consent_states` table: every `state` value issued for a consent redirect, stored as a hash,
//! single use, expiring, bound to a browser session, an invite and (v2) the signed-in tenant.

use super::engine::{Exec, on_engine};
use sqlx::FromRow;

use crate::config::ConsentFlow;
use crate::domain::{TenantId, Timestamp};

#[derive(Debug, Clone, FromRow)]
pub struct ConsentState {
    pub state_hash: String,
    pub session_binding: String,
    pub invite_id: String,
    pub tenant_id: Option<TenantId>,
    pub flow: ConsentFlow,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    pub result_tenant_id: Option<TenantId>,
}

pub struct NewConsentState<'a> {
    pub state_hash: &'a str,
    pub session_binding: &'a str,
    pub invite_id: &'a str,
    pub tenant_id: Option<TenantId>,
    pub flow: ConsentFlow,
    pub expires_at: Timestamp,
}

pub async fn insert<'e>(db: impl Into<Exec<'e>>, new: NewConsentState<'_>, now: Timestamp) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO consent_states (state_hash, session_binding, invite_id, tenant_id, flow, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    on_engine!(db, |executor| sqlx::query(sql)
        .bind(new.state_hash)
        .bind(new.session_binding)
        .bind(new.invite_id)
        .bind(new.tenant_id)
        .bind(new.flow)
        .bind(now)
        .bind(new.expires_at)
        .execute(executor)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

pub async fn find<'e>(db: impl Into<Exec<'e>>, state_hash: &str) -> Result<Option<ConsentState>, sqlx::Error> {
    let sql = "SELECT state_hash, session_binding, invite_id, tenant_id, flow, created_at, expires_at, used_at, result_tenant_id FROM consent_states WHERE state_hash = $1";
    on_engine!(db, |executor| sqlx::query_as(sql).bind(state_hash).fetch_optional(executor).await)
}

/// Marks the state used by the callback that recorded `tenant_id`; false when another callback used it
/// first (the caller's transaction then changes nothing).
pub async fn mark_used<'e>(tx: impl Into<Exec<'e>>, state_hash: &str, tenant_id: TenantId, now: Timestamp) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE consent_states SET used_at = $1, result_tenant_id = $2 WHERE state_hash = $3 AND used_at IS NULL";
    let done = on_engine!(tx, |executor| sqlx::query(sql)
        .bind(now)
        .bind(tenant_id)
        .bind(state_hash)
        .execute(executor)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

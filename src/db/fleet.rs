//! The fleet overview's reads (tenants per status, the checks of the tenants that need attention) and
//! the `fleet_days` table (the fleet's counts at the end of each day).

use sqlx::FromRow;

use super::engine::{Exec, on_engine};
use crate::domain::{TenantId, TenantStatus, Timestamp};

/// Tenants not removed, per status (statuses without tenants are left out).
pub async fn status_counts<'e>(db: impl Into<Exec<'e>>) -> Result<Vec<(TenantStatus, i64)>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as("SELECT status, COUNT(*) FROM tenants WHERE removed_at IS NULL GROUP BY status")
        .fetch_all(executor)
        .await)
}

/// A tenant whose status needs attention, with what its latest check said, and its status just before
/// `since` (none when it had no check then).
#[derive(Debug, Clone, FromRow)]
pub struct TroubledTenant {
    pub tenant_id: TenantId,
    pub customer: String,
    pub status: TenantStatus,
    pub status_reason: Option<String>,
    pub status_before: Option<TenantStatus>,
}

/// One check of a troubled tenant.
#[derive(Debug, Clone, FromRow)]
pub struct TroubledCheck {
    pub tenant_id: TenantId,
    pub status: TenantStatus,
    pub finished_at: Timestamp,
}

/// `status IN ($first, …)` over `statuses`, numbered from `first`.
fn status_list(first: usize, statuses: &[TenantStatus]) -> String {
    format!("t.status IN ({})", super::placeholder_list(first, statuses.len()))
}

/// The tenants (not removed) whose status is one of `statuses`, each with its status before `since`.
pub async fn troubled<'e>(
    db: impl Into<Exec<'e>>,
    statuses: &[TenantStatus],
    since: Timestamp,
) -> Result<Vec<TroubledTenant>, sqlx::Error> {
    let sql = format!(
        "SELECT t.tenant_id, c.name AS customer, t.status, t.status_reason, \
           (SELECT k.status FROM checks k WHERE k.tenant_id = t.tenant_id AND k.finished_at < $1 \
            ORDER BY k.finished_at DESC LIMIT 1) AS status_before \
         FROM tenants t JOIN customers c ON c.id = t.customer_id WHERE t.removed_at IS NULL AND {}",
        status_list(2, statuses)
    );
    on_engine!(db, |executor| {
        let mut query = sqlx::query_as(&sql).bind(since);
        for status in statuses {
            query = query.bind(*status);
        }
        query.fetch_all(executor).await
    })
}

/// The checks since `since` of the tenants whose status is one of `statuses`, per tenant, oldest first.
pub async fn troubled_checks<'e>(
    db: impl Into<Exec<'e>>,
    statuses: &[TenantStatus],
    since: Timestamp,
) -> Result<Vec<TroubledCheck>, sqlx::Error> {
    let sql = format!(
        "SELECT k.tenant_id, k.status, k.finished_at FROM tenants t JOIN checks k ON k.tenant_id = t.tenant_id \
         WHERE t.removed_at IS NULL AND {} AND k.finished_at >= $1 ORDER BY k.tenant_id, k.finished_at, k.id",
        status_list(2, statuses)
    );
    on_engine!(db, |executor| {
        let mut query = sqlx::query_as(&sql).bind(since);
        for status in statuses {
            query = query.bind(*status);
        }
        query.fetch_all(executor).await
    })
}

/// The fleet's counts on one day.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct FleetDay {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub verified: i64,
    pub needs_attention: i64,
    pub total: i64,
}

/// Records (or rewrites) the counts of `day`.
pub async fn record_day<'e>(db: impl Into<Exec<'e>>, day: &FleetDay, now: Timestamp) -> Result<(), sqlx::Error> {
    on_engine!(db, |executor| sqlx::query(
        "INSERT INTO fleet_days (day, verified, needs_attention, total, recorded_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (day) DO UPDATE SET verified = excluded.verified, needs_attention = excluded.needs_attention, \
         total = excluded.total, recorded_at = excluded.recorded_at"
    )
    .bind(&day.day)
    .bind(day.verified)
    .bind(day.needs_attention)
    .bind(day.total)
    .bind(now)
    .execute(executor)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// The days recorded from `first` (`YYYY-MM-DD`) on, oldest first.
pub async fn days_from<'e>(db: impl Into<Exec<'e>>, first: &str) -> Result<Vec<FleetDay>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as("SELECT day, verified, needs_attention, total FROM fleet_days WHERE day >= $1 ORDER BY day")
        .bind(first)
        .fetch_all(executor)
        .await)
}

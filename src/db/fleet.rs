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

/// A tenant whose status needs attention, with what its latest check said and what its checks of the
/// window (since a moment) say of how it came to it.
#[derive(Debug, Clone, FromRow)]
pub struct TroubledTenant {
    pub tenant_id: TenantId,
    pub customer: String,
    pub status: TenantStatus,
    pub status_reason: Option<String>,
    /// Its status at the window's start (its latest check before it); none without a check then.
    pub status_before: Option<TenantStatus>,
    /// The status of its latest check in the window that did not need attention, if any.
    pub last_fine_status: Option<TenantStatus>,
    /// Its first check in the window after that one (or the first in the window, without one).
    pub run_start: Option<Timestamp>,
}

/// The tenants (not removed) whose status is one of `attention`, each with its checks since `since`
/// summed up: the status before, the latest check not in `attention`, and the first check after it.
/// One statement of a few index lookups per tenant (index `checks_tenant_finished`, which holds the
/// status: no row of `checks` is read): 10,000 tenants with 90 days of checks stay fast.
pub async fn troubled<'e>(
    db: impl Into<Exec<'e>>,
    attention: &[TenantStatus],
    since: Timestamp,
) -> Result<Vec<TroubledTenant>, sqlx::Error> {
    let (current, fine) = (super::placeholder_list(2, attention.len()), super::placeholder_list(2 + attention.len(), attention.len()));
    let last_fine = |column: &str| {
        format!(
            "SELECT f.{column} FROM checks f WHERE f.tenant_id = t.tenant_id AND f.finished_at >= $1 AND f.status NOT IN ({fine}) \
             ORDER BY f.finished_at DESC LIMIT 1"
        )
    };
    // Materialized, so that the latest fine check is looked up once per tenant, not once per check
    // the outer lookup reads.
    let sql = format!(
        "WITH troubled AS MATERIALIZED (\
           SELECT t.tenant_id, c.name AS customer, t.status, t.status_reason, \
             (SELECT k.status FROM checks k WHERE k.tenant_id = t.tenant_id AND k.finished_at < $1 \
              ORDER BY k.finished_at DESC LIMIT 1) AS status_before, \
             ({}) AS last_fine_status, ({}) AS last_fine_at \
           FROM tenants t JOIN customers c ON c.id = t.customer_id WHERE t.removed_at IS NULL AND t.status IN ({current})) \
         SELECT tenant_id, customer, status, status_reason, status_before, last_fine_status, \
           (SELECT MIN(k.finished_at) FROM checks k WHERE k.tenant_id = troubled.tenant_id AND k.finished_at >= $1 \
            AND k.finished_at > COALESCE(troubled.last_fine_at, '')) AS run_start \
         FROM troubled",
        last_fine("status"),
        last_fine("finished_at"),
    );
    on_engine!(db, |executor| {
        let mut query = sqlx::query_as(&sql).bind(since);
        for status in attention.iter().chain(attention) {
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

/// Rows per INSERT of [`seed_checks`]: 4 values each, far below either engine's limit on bound values.
pub const SEED_ROWS_PER_STATEMENT: usize = 500;

/// Inserts bare checks (a tenant, a status, a time), at most [`SEED_ROWS_PER_STATEMENT`] at once: what
/// `bench overview` fills months of history with.
pub async fn seed_checks<'e>(db: impl Into<Exec<'e>>, rows: &[(TenantId, TenantStatus, Timestamp)]) -> Result<(), sqlx::Error> {
    let sql = format!("INSERT INTO checks (tenant_id, started_at, finished_at, status) VALUES {}", super::placeholder_rows(rows.len(), 4));
    on_engine!(db, |executor| {
        let mut query = sqlx::query(&sql);
        for (id, status, at) in rows {
            query = query.bind(*id).bind(*at).bind(*at).bind(*status);
        }
        query.execute(executor).await.map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// Sets a tenant's status as its latest check would (`bench overview`).
pub async fn seed_status<'e>(
    db: impl Into<Exec<'e>>,
    tenant_id: TenantId,
    status: TenantStatus,
    reason: &str,
    at: Timestamp,
) -> Result<(), sqlx::Error> {
    on_engine!(db, |executor| sqlx::query(
        "UPDATE tenants SET status = $1, status_reason = $2, last_checked_at = $3 WHERE tenant_id = $4"
    )
    .bind(status)
    .bind(reason)
    .bind(at)
    .bind(tenant_id)
    .execute(executor)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

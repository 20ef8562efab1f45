//! What the monitor writes and reads: check results in batches (a check row, the tenant's status and
//! next check, and a `tenant.degraded` audit event when a verified tenant got worse), and the tenants
//! due for a check.

use super::engine::{Engine, Exec, on_engine};
use std::collections::HashMap;

use serde_json::json;
use sqlx::{Connection, SqliteConnection};

use super::Pool;

use crate::config::WebhookSettings;
use crate::domain::webhook_event::{Event, EventType, TenantFacts};
use crate::domain::{ApiResults, AuditKind, RoleList, TenantId, TenantStatus, Timestamp};

/// One check's result, ready to store. The token's header and claims are JSON text already.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub tenant_id: TenantId,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub status: TenantStatus,
    pub reason: String,
    pub roles_present: RoleList,
    pub roles_missing: RoleList,
    pub error_code: Option<i64>,
    pub trace_id: Option<String>,
    pub token_header: Option<String>,
    pub token_claims: Option<String>,
    pub api_status: Option<i64>,
    /// Each required API's part of the check.
    pub apis: ApiResults,
    pub next_check_at: Timestamp,
    /// Microsoft asked not to be asked for this tenant's token before this time (a 429's Retry-After).
    pub not_before: Option<Timestamp>,
}

/// A tenant to check: its id, when it consented (missing roles soon after are "propagating"), and the
/// time before which Microsoft asked not to be asked for its token.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueTenant {
    pub tenant_id: TenantId,
    pub consented_at: Timestamp,
    pub not_before: Option<Timestamp>,
}

/// Stores results in one write transaction. Returns the tenants that went from verified to worse; for
/// each, a "tenant degraded" e-mail is queued to every address of `notify` in the same transaction.
/// No webhook event is queued (benchmarks and tests; the monitor uses [`record_results_with`]).
pub async fn record_results(pool: &Pool, results: &[CheckResult], notify: &[String]) -> Result<Vec<(TenantId, TenantStatus)>, sqlx::Error> {
    record_results_with(pool, results, notify, &WebhookSettings::default()).await
}

/// [`record_results`], queueing the webhook events of the changes for `webhooks` in the same transaction.
pub async fn record_results_with(
    pool: &Pool,
    results: &[CheckResult],
    notify: &[String],
    webhooks: &WebhookSettings,
) -> Result<Vec<(TenantId, TenantStatus)>, sqlx::Error> {
    match pool {
        Pool::Sqlite(pool) => record_results_on(&mut *pool.acquire().await?, results, notify, webhooks).await,
        Pool::Postgres(_) => {
            let mut tx = super::begin_write(pool).await?;
            let degraded = record_results_in(&mut tx, results, notify, webhooks).await?;
            tx.commit().await?;
            Ok(degraded)
        }
    }
}

/// [`record_results`] on a connection the caller holds: a sweep writes all its batches on one, whose
/// page cache stays warm from one batch to the next (SQLite drops a connection's cache when another
/// connection wrote since its last transaction, which is what taking any connection from the pool for
/// each batch amounts to).
///
/// A tenant that went from verified to worse also gets a `tenant.degraded` webhook event, and one
/// whose check had found a problem and that is verified again a `tenant.recovered` event, queued for
/// `webhooks` in the same transaction.
pub async fn record_results_on(
    connection: &mut SqliteConnection,
    results: &[CheckResult],
    notify: &[String],
    webhooks: &WebhookSettings,
) -> Result<Vec<(TenantId, TenantStatus)>, sqlx::Error> {
    let mut tx = connection.begin_with("BEGIN IMMEDIATE").await?;
    let degraded = record_results_in(&mut tx, results, notify, webhooks).await?;
    tx.commit().await?;
    Ok(degraded)
}

/// Stores results inside the write transaction `tx`.
async fn record_results_in<'e>(
    tx: impl Into<Exec<'e>>,
    results: &[CheckResult],
    notify: &[String],
    webhooks: &WebhookSettings,
) -> Result<Vec<(TenantId, TenantStatus)>, sqlx::Error> {
    let mut tx = tx.into();
    // Each tenant's status before this batch, and its customer, read in a few statements rather than
    // one per result; a removed tenant is not there, and its result is not stored.
    let mut rows: Vec<(TenantId, TenantStatus, String)> = Vec::with_capacity(results.len());
    for chunk in results.chunks(IDS_PER_STATEMENT) {
        let sql = format!(
            "SELECT tenant_id, status, customer_id FROM tenants WHERE removed_at IS NULL AND tenant_id IN ({})",
            super::placeholder_list(1, chunk.len())
        );
        rows.extend(on_engine!(tx.reborrow(), |executor| {
            let mut query = sqlx::query_as(&sql);
            for result in chunk {
                query = query.bind(result.tenant_id);
            }
            query.fetch_all(executor).await
        })?);
    }
    let mut current: HashMap<TenantId, (TenantStatus, String)> =
        rows.into_iter().map(|(tenant_id, status, customer_id)| (tenant_id, (status, customer_id))).collect();
    let stored: Vec<&CheckResult> = results.iter().filter(|result| current.contains_key(&result.tenant_id)).collect();

    for chunk in stored.chunks(ROWS_PER_STATEMENT) {
        insert_checks(tx.reborrow(), chunk).await?;
    }
    for chunk in tenant_updates(&stored).chunks(ROWS_PER_STATEMENT) {
        update_tenants(tx.reborrow(), chunk).await?;
    }

    let mut degraded = Vec::new();
    for result in stored {
        let Some((status, customer_id)) = current.get_mut(&result.tenant_id) else { continue };
        // A tenant with two results in one batch: the second follows the first, as if stored apart.
        let previous = std::mem::replace(status, result.status);
        if previous == TenantStatus::Verified && result.status != TenantStatus::Verified {
            let detail = json!({ "from": previous.as_str(), "to": result.status.as_str(), "reason": result.reason });
            let event = super::audit::NewAuditEvent {
                customer_id: Some(customer_id.as_str()),
                tenant_id: Some(result.tenant_id),
                detail: detail.clone(),
                ..super::audit::NewAuditEvent::new(AuditKind::TenantDegraded, Some("system"))
            };
            super::audit::record(tx.reborrow(), event, result.finished_at).await?;
            super::outbox::insert_staff_notifications(
                tx.reborrow(),
                "tenant_degraded",
                result.tenant_id,
                detail,
                notify,
                result.finished_at,
            )
            .await?;
            degraded.push((result.tenant_id, result.status));
        }
        let event_type = match (previous, result.status) {
            (TenantStatus::Verified, TenantStatus::Verified) => None,
            (TenantStatus::Verified, _) => Some(EventType::TenantDegraded),
            (previous, TenantStatus::Verified) if had_a_problem(previous) => Some(EventType::TenantRecovered),
            _ => None,
        };
        if let Some(event_type) = event_type
            && webhooks.enabled()
        {
            let customer = super::tenants::find(tx.reborrow(), result.tenant_id).await?.map(|t| t.customer).unwrap_or_default();
            let facts = TenantFacts {
                tenant_id: result.tenant_id,
                customer: &customer,
                status: result.status,
                roles_missing: &result.roles_missing.0,
            };
            let extra = json!({ "previous_status": previous.as_str(), "reason": result.reason });
            let event = Event::tenant(event_type, &facts, extra, result.finished_at);
            super::webhooks::enqueue(tx.reborrow(), webhooks, &event, None).await?;
        }
    }
    Ok(degraded)
}

/// Was a tenant in `status` found with a problem, so that verified is a recovery? Not before its first
/// check, nor while its roles propagate after a consent: verified then is its first success.
fn had_a_problem(status: TenantStatus) -> bool {
    !matches!(status, TenantStatus::Verified | TenantStatus::NeverChecked | TenantStatus::Propagating)
}

/// Rows written by one INSERT or UPDATE statement: each statement is a round trip to SQLite's thread
/// (two thread wake-ups and sqlx's own work), so a batch of 500 results takes 20 statements, not 1,000.
/// 50 rows of 13 values stay far below SQLite's limit on bound values (32,766).
const ROWS_PER_STATEMENT: usize = 50;

/// Tenant ids bound to one `IN (…)` list: far below either engine's limit on bound values (SQLite's
/// 32,766, PostgreSQL's 65,535) whatever the caller's batch.
const IDS_PER_STATEMENT: usize = 500;

/// One row in `checks` per result, in their order.
async fn insert_checks<'e>(tx: impl Into<Exec<'e>>, results: &[&CheckResult]) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO checks (tenant_id, started_at, finished_at, status, roles_present, roles_missing, error_code, trace_id, detail, \
         token_header, token_claims, api_status, apis) VALUES {}",
        super::placeholder_rows(results.len(), 13)
    );
    on_engine!(tx, |executor| {
        let mut query = sqlx::query(&sql);
        for result in results {
            query = query
                .bind(result.tenant_id)
                .bind(result.started_at)
                .bind(result.finished_at)
                .bind(result.status)
                .bind(&result.roles_present)
                .bind(&result.roles_missing)
                .bind(result.error_code)
                .bind(&result.trace_id)
                .bind(&result.reason)
                .bind(&result.token_header)
                .bind(&result.token_claims)
                .bind(result.api_status)
                .bind(&result.apis);
        }
        query.execute(executor).await.map(|_| ())
    })
}

/// What a batch changes on one tenant: its latest result's status, reason and times, and the longest
/// wait Microsoft asked for in any of its results.
struct TenantUpdate<'a> {
    latest: &'a CheckResult,
    not_before: Option<Timestamp>,
}

/// One update per tenant, in the order of their first result: storing a tenant's results one after
/// the other leaves its latest status and the longest wait, and so does this one update.
fn tenant_updates<'a>(results: &[&'a CheckResult]) -> Vec<TenantUpdate<'a>> {
    let mut updates: Vec<TenantUpdate<'a>> = Vec::with_capacity(results.len());
    let mut index: HashMap<TenantId, usize> = HashMap::with_capacity(results.len());
    for result in results {
        match index.get(&result.tenant_id) {
            Some(&at) => {
                let update = &mut updates[at];
                update.not_before = update.not_before.max(result.not_before);
                update.latest = result;
            }
            None => {
                index.insert(result.tenant_id, updates.len());
                updates.push(TenantUpdate { latest: result, not_before: result.not_before });
            }
        }
    }
    updates
}

/// Each tenant's status, reason, last and next check. The wait only ever grows: a check that was not
/// throttled (run by another process, say) does not shorten a wait Microsoft asked for.
async fn update_tenants<'e>(tx: impl Into<Exec<'e>>, updates: &[TenantUpdate<'_>]) -> Result<(), sqlx::Error> {
    let sql = format!(
        "WITH batch (tenant_id, status, status_reason, checked_at, next_check_at, not_before) AS (VALUES {}) \
         UPDATE tenants SET status = batch.status, status_reason = batch.status_reason, last_checked_at = batch.checked_at, \
         next_check_at = batch.next_check_at, \
         not_before = CASE WHEN batch.not_before IS NOT NULL AND (tenants.not_before IS NULL OR tenants.not_before < batch.not_before) \
         THEN batch.not_before ELSE tenants.not_before END \
         FROM batch WHERE tenants.tenant_id = batch.tenant_id",
        super::placeholder_rows(updates.len(), 6)
    );
    on_engine!(tx, |executor| {
        let mut query = sqlx::query(&sql);
        for update in updates {
            let result = update.latest;
            query = query
                .bind(result.tenant_id)
                .bind(result.status)
                .bind(&result.reason)
                .bind(result.finished_at)
                .bind(result.next_check_at)
                .bind(update.not_before);
        }
        query.execute(executor).await.map(|_| ())
    })
}

/// Tenants whose next check is due at `now` (or never planned) and that Microsoft did not ask to leave
/// alone until later, oldest first.
pub async fn due<'e>(db: impl Into<Exec<'e>>, now: Timestamp, limit: i64) -> Result<Vec<DueTenant>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(
        "SELECT tenant_id, consented_at, not_before FROM tenants WHERE removed_at IS NULL \
         AND (next_check_at IS NULL OR next_check_at <= $1) AND (not_before IS NULL OR not_before <= $1) \
         ORDER BY next_check_at IS NOT NULL, next_check_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(executor)
    .await)
}

/// Takes the tenants [`due`] at `now` (at most `limit`) for a sweep of this replica: their next check is
/// set to `lease_until`, so no other replica sharing the database takes them meanwhile; the sweep's
/// results set it again to the real next check. A replica that stops mid-sweep leaves its tenants due
/// again when the lease runs out, and another replica takes them then. On PostgreSQL the rows are
/// locked as they are taken and a row another replica is taking is skipped, not waited for.
pub async fn lease_due<'e>(
    db: impl Into<Exec<'e>>,
    now: Timestamp,
    limit: i64,
    lease_until: Timestamp,
) -> Result<Vec<DueTenant>, sqlx::Error> {
    let db = db.into();
    let skip_locked = match db.engine() {
        Engine::Sqlite => "",
        Engine::Postgres => " FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE tenants SET next_check_at = $3 WHERE tenant_id IN (SELECT tenant_id FROM tenants WHERE removed_at IS NULL \
         AND (next_check_at IS NULL OR next_check_at <= $1) AND (not_before IS NULL OR not_before <= $1) \
         ORDER BY next_check_at IS NOT NULL, next_check_at LIMIT $2{skip_locked}) \
         RETURNING tenant_id, consented_at, not_before"
    );
    on_engine!(db, |executor| sqlx::query_as(&sql).bind(now).bind(limit).bind(lease_until).fetch_all(executor).await)
}

/// Takes every tenant for a sweep of this replica ("check all"), as [`lease_due`] takes the due ones.
pub async fn lease_all<'e>(db: impl Into<Exec<'e>>, lease_until: Timestamp) -> Result<Vec<DueTenant>, sqlx::Error> {
    let sql = "UPDATE tenants SET next_check_at = $1 WHERE removed_at IS NULL RETURNING tenant_id, consented_at, not_before";
    on_engine!(db, |executor| sqlx::query_as(sql).bind(lease_until).fetch_all(executor).await)
}

/// Every tenant (for "check all").
pub async fn all<'e>(db: impl Into<Exec<'e>>) -> Result<Vec<DueTenant>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(
        "SELECT tenant_id, consented_at, not_before FROM tenants WHERE removed_at IS NULL ORDER BY tenant_id"
    )
    .fetch_all(executor)
    .await)
}

pub async fn one<'e>(db: impl Into<Exec<'e>>, tenant_id: TenantId) -> Result<Option<DueTenant>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(
        "SELECT tenant_id, consented_at, not_before FROM tenants WHERE tenant_id = $1 AND removed_at IS NULL"
    )
    .bind(tenant_id)
    .fetch_optional(executor)
    .await)
}

/// The time before which Microsoft asked not to be asked for this tenant's token, if any.
pub async fn not_before<'e>(db: impl Into<Exec<'e>>, tenant_id: TenantId) -> Result<Option<Timestamp>, sqlx::Error> {
    let found: Option<Option<Timestamp>> =
        on_engine!(db, |executor| sqlx::query_scalar("SELECT not_before FROM tenants WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(executor)
            .await)?;
    Ok(found.flatten())
}

/// Records tenants for one customer directly, consented (and the customer created) at `consented_at`
/// (benchmarks and tests).
pub async fn seed_tenants(pool: &Pool, customer: &str, tenant_ids: &[TenantId], consented_at: Timestamp) -> Result<(), sqlx::Error> {
    let mut tx = super::begin_write(pool).await?;
    let customer = super::customers::insert(&mut tx, customer, None, consented_at).await?;
    for tenant_id in tenant_ids {
        on_engine!(&mut tx, |executor| sqlx::query("INSERT INTO tenants (tenant_id, customer_id, consented_at) VALUES ($1, $2, $3)")
            .bind(tenant_id)
            .bind(&customer.id)
            .bind(consented_at)
            .execute(executor)
            .await
            .map(|_| ()))?;
    }
    tx.commit().await
}

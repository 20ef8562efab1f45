//! What the dashboard reads: a page of tenants (searched, filtered, sorted, counted by status) with the
//! tenants that got worse lately, and one tenant's whole record.

use std::collections::HashMap;

use crate::db::Pool;
use serde_json::Value;

use crate::db;
use crate::db::checks::{CheckRow, TokenDetail};
use crate::db::tenants::{ConsentRow, SortKey, TenantQuery, TenantSummary};
use crate::domain::{AuditKind, Clock, TenantId, TenantStatus, Timestamp, clock};
use crate::error::Failure;

/// How long a tenant that went from verified to worse is named in the dashboard's banner.
const DEGRADED_FOR: time::Duration = time::Duration::days(7);
/// Tenants named in the banner, at most.
const DEGRADED_SHOWN: i64 = 20;

/// One page of the dashboard's tenants.
#[derive(Debug, Clone)]
pub struct Search<'a> {
    /// Part of the customer's name, the tenant id, or who consented.
    pub text: &'a str,
    pub status: Option<TenantStatus>,
    pub sort: SortKey,
    pub descending: bool,
    /// From 1; a page past the end is the last page.
    pub page: i64,
    pub page_size: i64,
}

/// A page of tenants and what the dashboard says around it.
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub rows: Vec<TenantSummary>,
    /// Tenants that match the search.
    pub total: i64,
    pub page: i64,
    pub pages: i64,
    /// Tenants (not removed) of each status.
    pub counts: HashMap<TenantStatus, i64>,
    pub degraded: Vec<Degradation>,
}

/// A tenant that went from verified to worse lately.
#[derive(Debug, Clone)]
pub struct Degradation {
    pub tenant_id: Option<TenantId>,
    pub at: Timestamp,
    pub from: TenantStatus,
    pub to: TenantStatus,
}

pub async fn search(db: &Pool, clock: &dyn Clock, search: &Search<'_>) -> Result<SearchPage, Failure> {
    let size = search.page_size;
    let requested = search.page.clamp(1, 1_000_000);
    let query = TenantQuery {
        search: Some(search.text),
        status: search.status,
        sort: search.sort,
        descending: search.descending,
        limit: size,
        offset: (requested - 1) * size,
    };
    let (mut rows, total) = db::tenants::search(db, &query).await?;
    let pages = ((total + size - 1) / size).max(1);
    let page = requested.min(pages);
    if page != requested {
        rows = db::tenants::search(db, &TenantQuery { offset: (page - 1) * size, ..query }).await?.0;
    }
    let counts = db::tenants::status_counts(db).await?.into_iter().collect();
    let since = clock::now(clock) - DEGRADED_FOR;
    let degraded = db::audit::recent_of_kind(db, AuditKind::TenantDegraded, since, DEGRADED_SHOWN).await?;
    let degraded = degraded
        .into_iter()
        .map(|event| {
            let detail: Value = serde_json::from_str(&event.detail).unwrap_or_default();
            let status =
                |name: &str| detail.get(name).and_then(Value::as_str).and_then(TenantStatus::parse).unwrap_or(TenantStatus::NeverChecked);
            Degradation { tenant_id: event.tenant_id, at: event.at, from: status("from"), to: status("to") }
        })
        .collect();
    Ok(SearchPage { rows, total, page, pages, counts, degraded })
}

/// One tenant's record: its row (removed or not), its latest checks (newest first), its consents, and
/// the decoded token of its latest check.
#[derive(Debug, Clone)]
pub struct TenantRecord {
    pub summary: TenantSummary,
    pub removed_at: Option<Timestamp>,
    pub checks: Vec<CheckRow>,
    pub consents: Vec<ConsentRow>,
    pub token: Option<TokenDetail>,
}

impl TenantRecord {
    /// The latest check, when it is a failure to explain: Microsoft gave an error code, or the token
    /// itself failed (missing or propagating roles are shown as such, not as a failure).
    pub fn problem(&self) -> Option<&CheckRow> {
        self.checks.first().filter(|check| check.error_code.is_some() || check.status.is_token_failure())
    }
}

/// The record of `tenant` with its `history` latest checks, if it is recorded.
pub async fn record(db: &Pool, tenant: TenantId, history: i64) -> Result<Option<TenantRecord>, Failure> {
    let Some(summary) = db::tenants::find_with_roles(db, tenant).await? else {
        return Ok(None);
    };
    let removed_at = db::tenants::removed_at(db, tenant).await?;
    let checks = db::checks::history(db, tenant, history).await?;
    let consents = db::tenants::consents(db, tenant).await?;
    let token = match checks.first() {
        Some(latest) => db::checks::token_detail(db, latest.id).await?,
        None => None,
    };
    Ok(Some(TenantRecord { summary, removed_at, checks, consents, token }))
}

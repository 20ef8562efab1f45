//! The `tenants` table (one row per proven tenant) and `consents` (every consent, for history).

use super::engine::{Engine, Exec, on_engine};
use sqlx::FromRow;

use super::invites::Binding;
use crate::config::ConsentFlow;
use crate::domain::{ApiResults, RoleList, TenantId, TenantStatus, Timestamp};

#[derive(Debug, Clone, FromRow)]
pub struct TenantRow {
    pub tenant_id: TenantId,
    pub customer_id: String,
    pub customer: String,
    pub invite_id: Option<String>,
    pub display_name: Option<String>,
    pub consented_by_upn: Option<String>,
    pub consented_by_oid: Option<String>,
    pub consented_at: Timestamp,
    pub status: TenantStatus,
    pub status_reason: Option<String>,
    pub last_checked_at: Option<Timestamp>,
}

impl TenantRow {
    /// Who consented: their UPN, or else their object id.
    pub fn consented_by(&self) -> Option<&str> {
        self.consented_by_upn.as_deref().or(self.consented_by_oid.as_deref())
    }
}

const SELECT: &str = "SELECT t.tenant_id, t.customer_id, c.name AS customer, t.invite_id, t.display_name, t.consented_by_upn, t.consented_by_oid, \
     t.consented_at, t.status, t.status_reason, t.last_checked_at FROM tenants t JOIN customers c ON c.id = t.customer_id";

pub async fn find<'e>(db: impl Into<Exec<'e>>, tenant_id: TenantId) -> Result<Option<TenantRow>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(&format!("{SELECT} WHERE t.tenant_id = $1")).bind(tenant_id).fetch_optional(executor).await)
}

/// Who consented, for a new consent or a re-consent.
pub struct Consent<'a> {
    pub tenant_id: TenantId,
    pub customer_id: &'a str,
    pub invite_id: &'a str,
    pub upn: Option<&'a str>,
    pub oid: Option<&'a str>,
    pub flow: ConsentFlow,
    pub roles_requested: &'a RoleList,
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
    /// The invite already onboarded another tenant: nothing changed.
    InviteUsedByOtherTenant {
        tenant_id: TenantId,
    },
}

/// Records a consent in a write transaction the caller commits, and completes its invite, binding the
/// invite to the tenant. A refusal (`OtherCustomer`, `InviteUsedByOtherTenant`) may leave writes in the
/// transaction: the caller rolls it back.
pub async fn record_consent<'e>(tx: impl Into<Exec<'e>>, consent: Consent<'_>, now: Timestamp) -> Result<Recorded, sqlx::Error> {
    let mut tx = tx.into();
    // Checked here, in the transaction that records the consent: a completed invite onboards no other
    // tenant, whichever flow or concurrent callback gets here.
    if let Binding::OtherTenant { tenant_id } =
        super::invites::complete_for_tenant(tx.reborrow(), consent.invite_id, consent.tenant_id, now).await?
    {
        return Ok(Recorded::InviteUsedByOtherTenant { tenant_id });
    }
    let existing: Option<(String,)> =
        on_engine!(tx.reborrow(), |executor| sqlx::query_as("SELECT customer_id FROM tenants WHERE tenant_id = $1")
            .bind(consent.tenant_id)
            .fetch_optional(executor)
            .await)?;
    let recorded = match existing {
        Some((customer_id,)) if customer_id != consent.customer_id => return Ok(Recorded::OtherCustomer { customer_id }),
        Some(_) => {
            let sql = "UPDATE tenants SET invite_id = $1, consented_by_upn = $2, consented_by_oid = $3, consented_at = $4, removed_at = NULL WHERE tenant_id = $5";
            on_engine!(tx.reborrow(), |executor| sqlx::query(sql)
                .bind(consent.invite_id)
                .bind(consent.upn)
                .bind(consent.oid)
                .bind(now)
                .bind(consent.tenant_id)
                .execute(executor)
                .await
                .map(|done| done.rows_affected()))?;
            Recorded::Reconsented
        }
        None => {
            let sql = "INSERT INTO tenants (tenant_id, customer_id, invite_id, consented_by_upn, consented_by_oid, consented_at) VALUES ($1, $2, $3, $4, $5, $6)";
            on_engine!(tx.reborrow(), |executor| sqlx::query(sql)
                .bind(consent.tenant_id)
                .bind(consent.customer_id)
                .bind(consent.invite_id)
                .bind(consent.upn)
                .bind(consent.oid)
                .bind(now)
                .execute(executor)
                .await
                .map(|done| done.rows_affected()))?;
            Recorded::New
        }
    };
    on_engine!(tx.reborrow(), |executor| sqlx::query(
        "INSERT INTO consents (tenant_id, customer_id, invite_id, consented_by_upn, consented_by_oid, consented_at, flow, roles_requested) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(consent.tenant_id)
    .bind(consent.customer_id)
    .bind(consent.invite_id)
    .bind(consent.upn)
    .bind(consent.oid)
    .bind(now)
    .bind(consent.flow)
    .bind(consent.roles_requested)
    .execute(executor)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(recorded)
}

// ---------------------------------------------------------------------------------------------------
// The staff dashboard: one page of tenants (search, filter, sort and pagination in SQL), exports, the
// consent history, and removal.

/// A tenant as the dashboard lists it: its row and the roles of its latest check (`None` before the
/// first check).
#[derive(Debug, Clone, FromRow)]
pub struct TenantSummary {
    #[sqlx(flatten)]
    pub tenant: TenantRow,
    pub roles_present: Option<RoleList>,
    pub roles_missing: Option<RoleList>,
    /// Each API's part of the latest check (read by the exports and the API, not by the page).
    #[sqlx(default)]
    pub apis: Option<ApiResults>,
}

/// What the tenants page can sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Customer,
    Status,
    LastCheck,
    ConsentedAt,
}

impl SortKey {
    pub const ALL: [SortKey; 4] = [Self::Customer, Self::Status, Self::LastCheck, Self::ConsentedAt];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Status => "status",
            Self::LastCheck => "last_check",
            Self::ConsentedAt => "consented_at",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// The ORDER BY terms (fixed text, never from the request), on `t` (tenants) and `c` (customers).
    fn order_by(self, descending: bool, engine: Engine) -> String {
        let direction = if descending { "DESC" } else { "ASC" };
        if engine == Engine::Postgres {
            // The same orders in PostgreSQL's words: names compared without case (as SQLite's NOCASE,
            // which folds ASCII only, so does `lower` on a database in the C locale), and NULL, which
            // PostgreSQL sorts after everything else, kept last in both directions.
            return match self {
                Self::Customer => format!("lower(c.name) {direction}, t.tenant_id"),
                Self::Status => format!("t.status {direction}, lower(c.name), t.tenant_id"),
                Self::LastCheck => format!("t.last_checked_at {direction} NULLS LAST, t.tenant_id"),
                Self::ConsentedAt => format!("t.consented_at {direction}, t.tenant_id"),
            };
        }
        match self {
            Self::Customer => format!("c.name COLLATE NOCASE {direction}, t.tenant_id"),
            Self::Status => format!("t.status {direction}, c.name COLLATE NOCASE, t.tenant_id"),
            // Never-checked tenants last, whichever the direction. SQLite sorts NULL first, so only the
            // ascending order needs saying so; the descending one is then the order of the index
            // `tenants_last_checked_at`, which a page is read from without sorting every tenant.
            Self::LastCheck if descending => "t.last_checked_at DESC, t.tenant_id".to_owned(),
            Self::LastCheck => "t.last_checked_at IS NULL, t.last_checked_at, t.tenant_id".to_owned(),
            Self::ConsentedAt => format!("t.consented_at {direction}, t.tenant_id"),
        }
    }

    /// Where a page's tenants are picked from: customers only when the order needs their names.
    fn source(self, engine: Engine) -> &'static str {
        if engine == Engine::Postgres {
            // PostgreSQL plans the joins itself (and has no CROSS JOIN … ON).
            return match self {
                Self::Customer | Self::Status => "tenants t JOIN customers c ON c.id = t.customer_id",
                Self::LastCheck | Self::ConsentedAt => "tenants t",
            };
        }
        match self {
            // Customers by name (`customers_name_nocase`), then each one's tenants in order
            // (`tenants_customer`): reading stops at the end of the page instead of sorting every
            // tenant. CROSS JOIN keeps SQLite to that order of the loops.
            Self::Customer => "customers c CROSS JOIN tenants t ON t.customer_id = c.id",
            Self::Status => "tenants t JOIN customers c ON c.id = t.customer_id",
            Self::LastCheck | Self::ConsentedAt => "tenants t",
        }
    }
}

/// One page of the tenants list.
#[derive(Debug, Clone, Default)]
pub struct TenantQuery<'a> {
    /// Part of the customer's name, the tenant id, or who consented (case-insensitive).
    pub search: Option<&'a str>,
    pub status: Option<TenantStatus>,
    pub sort: SortKey,
    pub descending: bool,
    pub limit: i64,
    pub offset: i64,
}

/// The filter of the tenants list, on `t` (tenants); `$1` is the status, `$2` the LIKE pattern of the
/// search and `$3` the same pattern when the search could be part of a tenant id. The customers whose
/// name matches are looked up once, not once per tenant. `tenants_customer` holds every column named
/// here, so a search reads that index and not the table. `LIKE` is the search's comparison: SQLite's
/// ignores case (of ASCII letters); PostgreSQL's `ILIKE` is its equivalent.
fn filter(engine: Engine) -> String {
    let like = match engine {
        Engine::Sqlite => "LIKE",
        Engine::Postgres => "ILIKE",
    };
    format!(
        "t.removed_at IS NULL AND ($1 IS NULL OR t.status = $1) \
         AND ($2 IS NULL OR t.customer_id IN (SELECT id FROM customers WHERE name {like} $2 ESCAPE '\\') \
         OR t.tenant_id {like} $3 ESCAPE '\\' OR t.consented_by_upn {like} $2 ESCAPE '\\')"
    )
}

const COLUMNS: &str = "t.tenant_id, t.customer_id, c.name AS customer, t.invite_id, t.display_name, t.consented_by_upn, t.consented_by_oid, \
     t.consented_at, t.status, t.status_reason, t.last_checked_at";

/// `%text%` for LIKE, with LIKE's own characters escaped.
fn like_pattern(search: Option<&str>) -> Option<String> {
    let search = search.map(str::trim).filter(|s| !s.is_empty())?;
    let escaped: String = search
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    Some(format!("%{escaped}%"))
}

/// Whether `search` could be part of a tenant id (a lower-case GUID): if not, comparing it with every
/// tenant id is skipped, which is most of the cost of a search by name.
fn could_be_in_tenant_id(search: &str) -> bool {
    search.trim().chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// A page of tenants and the number of tenants that match the query.
pub async fn search<'e>(db: impl Into<Exec<'e>>, query: &TenantQuery<'_>) -> Result<(Vec<TenantSummary>, i64), sqlx::Error> {
    let mut db = db.into();
    let engine = db.engine();
    let pattern = like_pattern(query.search);
    let tenant_id_pattern = pattern.as_ref().filter(|_| query.search.is_some_and(could_be_in_tenant_id));
    let status = query.status;
    let order = query.sort.order_by(query.descending, engine);
    let source = query.sort.source(engine);
    let filter = filter(engine);
    let sql = match engine {
        // The page's tenants by rowid first, from as few columns as the order and the filter need;
        // their rows and latest checks then for those 50 only (CROSS JOIN: the page is the outer loop,
        // or SQLite may read every tenant again to join them to it).
        Engine::Sqlite => format!(
            "WITH page AS (SELECT t.rowid AS rid FROM {source} WHERE {filter} ORDER BY {order} LIMIT $4 OFFSET $5) \
             SELECT {COLUMNS}, k.roles_present, k.roles_missing FROM page CROSS JOIN tenants t ON t.rowid = page.rid \
             CROSS JOIN customers c ON c.id = t.customer_id \
             LEFT JOIN checks k ON k.id = (SELECT MAX(id) FROM checks WHERE tenant_id = t.tenant_id) \
             ORDER BY {order}"
        ),
        // The same page by primary key (PostgreSQL has no rowid, and orders its joins itself).
        Engine::Postgres => format!(
            "WITH page AS (SELECT t.tenant_id AS rid FROM {source} WHERE {filter} ORDER BY {order} LIMIT $4 OFFSET $5) \
             SELECT {COLUMNS}, k.roles_present, k.roles_missing FROM page JOIN tenants t ON t.tenant_id = page.rid \
             JOIN customers c ON c.id = t.customer_id \
             LEFT JOIN checks k ON k.id = (SELECT MAX(id) FROM checks WHERE tenant_id = t.tenant_id) \
             ORDER BY {order}"
        ),
    };
    let rows: Vec<TenantSummary> = on_engine!(db.reborrow(), |executor| sqlx::query_as(&sql)
        .bind(status)
        .bind(&pattern)
        .bind(tenant_id_pattern)
        .bind(query.limit)
        .bind(query.offset)
        .fetch_all(executor)
        .await)?;
    // A page that is not full is the last one: the matches are counted already.
    let found = rows.len() as i64;
    if query.limit > 0 && found < query.limit && (found > 0 || query.offset == 0) {
        return Ok((rows, query.offset + found));
    }
    let total: i64 = match (&pattern, status) {
        (None, None) => on_engine!(db, |executor| sqlx::query_scalar("SELECT COUNT(*) FROM tenants WHERE removed_at IS NULL")
            .fetch_one(executor)
            .await)?,
        (None, Some(status)) => {
            on_engine!(db, |executor| sqlx::query_scalar("SELECT COUNT(*) FROM tenants WHERE status = $1 AND removed_at IS NULL")
                .bind(status)
                .fetch_one(executor)
                .await)?
        }
        (Some(_), _) => {
            let sql = format!("SELECT COUNT(*) FROM tenants t WHERE {filter}");
            on_engine!(db, |executor| sqlx::query_scalar(&sql)
                .bind(status)
                .bind(&pattern)
                .bind(tenant_id_pattern)
                .fetch_one(executor)
                .await)?
        }
    };
    Ok((rows, total))
}

/// How many tenants (not removed) have each status.
pub async fn status_counts<'e>(db: impl Into<Exec<'e>>) -> Result<Vec<(TenantStatus, i64)>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as("SELECT status, COUNT(*) FROM tenants WHERE removed_at IS NULL GROUP BY status")
        .fetch_all(executor)
        .await)
}

/// Every tenant (not removed) with the roles of its latest check, by customer: for exports and the API.
pub async fn all_with_roles<'e>(db: impl Into<Exec<'e>>) -> Result<Vec<TenantSummary>, sqlx::Error> {
    let db = db.into();
    let order = SortKey::Customer.order_by(false, db.engine());
    let sql = format!(
        "SELECT {COLUMNS}, k.roles_present, k.roles_missing, k.apis FROM tenants t JOIN customers c ON c.id = t.customer_id \
         LEFT JOIN (SELECT tenant_id, MAX(id) AS id FROM checks GROUP BY tenant_id) l ON l.tenant_id = t.tenant_id \
         LEFT JOIN checks k ON k.id = l.id WHERE t.removed_at IS NULL ORDER BY {order}"
    );
    on_engine!(db, |executor| sqlx::query_as(&sql).fetch_all(executor).await)
}

/// One tenant (removed or not) with the roles of its latest check.
pub async fn find_with_roles<'e>(db: impl Into<Exec<'e>>, tenant_id: TenantId) -> Result<Option<TenantSummary>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(&format!(
        "SELECT {COLUMNS}, k.roles_present, k.roles_missing, k.apis FROM tenants t JOIN customers c ON c.id = t.customer_id \
         LEFT JOIN checks k ON k.id = (SELECT MAX(id) FROM checks WHERE tenant_id = t.tenant_id) WHERE t.tenant_id = $1"
    ))
    .bind(tenant_id)
    .fetch_optional(executor)
    .await)
}

/// Plans a check of every tenant (not removed) at the monitor's next pass.
pub async fn check_all_at_next_pass<'e>(db: impl Into<Exec<'e>>) -> Result<u64, sqlx::Error> {
    let sql = "UPDATE tenants SET next_check_at = NULL WHERE removed_at IS NULL";
    on_engine!(db, |executor| sqlx::query(sql).execute(executor).await.map(|done| done.rows_affected()))
}

/// When the tenant was removed (offboarded), if it was.
pub async fn removed_at<'e>(db: impl Into<Exec<'e>>, tenant_id: TenantId) -> Result<Option<Timestamp>, sqlx::Error> {
    let removed: Option<Option<Timestamp>> =
        on_engine!(db, |executor| sqlx::query_scalar("SELECT removed_at FROM tenants WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(executor)
            .await)?;
    Ok(removed.flatten())
}

/// Marks a tenant removed (offboarded); false when there is no such tenant or it was removed already.
pub async fn mark_removed<'e>(db: impl Into<Exec<'e>>, tenant_id: TenantId, now: Timestamp) -> Result<bool, sqlx::Error> {
    let done = on_engine!(db, |executor| sqlx::query("UPDATE tenants SET removed_at = $1 WHERE tenant_id = $2 AND removed_at IS NULL")
        .bind(now)
        .bind(tenant_id)
        .execute(executor)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

/// One consent of a tenant's history.
#[derive(Debug, Clone, FromRow)]
pub struct ConsentRow {
    pub id: i64,
    pub invite_id: Option<String>,
    pub consented_by_upn: Option<String>,
    pub consented_by_oid: Option<String>,
    pub consented_at: Timestamp,
    pub flow: ConsentFlow,
    pub roles_requested: RoleList,
}

/// Every consent of a tenant, newest first.
pub async fn consents<'e>(db: impl Into<Exec<'e>>, tenant_id: TenantId) -> Result<Vec<ConsentRow>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(
        "SELECT id, invite_id, consented_by_upn, consented_by_oid, consented_at, flow, roles_requested FROM consents \
         WHERE tenant_id = $1 ORDER BY id DESC",
    )
    .bind(tenant_id)
    .fetch_all(executor)
    .await)
}

/// How many tenants (not removed) are in each status: the `portal_tenants` metric.
pub async fn count_by_status<'e>(db: impl Into<Exec<'e>>) -> Result<Vec<(String, i64)>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as("SELECT status, COUNT(*) FROM tenants WHERE removed_at IS NULL GROUP BY status")
        .fetch_all(executor)
        .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern(Some(" con ")).as_deref(), Some("%con%"));
        assert_eq!(like_pattern(Some("50%_a\\b")).as_deref(), Some("%50\\%\\_a\\\\b%"));
        assert_eq!(like_pattern(Some("  ")), None);
        assert_eq!(like_pattern(None), None);
    }

    /// The page is read in index order, customer by customer: the order must still be the one the
    /// page promises across customers of the same name, removed tenants left out, counts exact.
    #[tokio::test]
    async fn pages_keep_their_order_across_customers_of_the_same_name_and_count_what_matches() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = crate::db::open_sqlite(&dir.path().join("portal.db")).await.unwrap();
        let db = crate::db::Pool::from(sqlite.clone());
        let at = Timestamp::parse("2026-11-01T10:00:00Z").unwrap();
        let mut all = Vec::new();
        for name in ["acme", "Beta", "ACME", "Acme"] {
            let ids: Vec<TenantId> = (0..7).map(|_| TenantId::new_random()).collect();
            crate::db::monitoring::seed_tenants(&db, name, &ids, at).await.unwrap();
            all.extend(ids.into_iter().map(|id| (name.to_lowercase(), id)));
        }
        let removed = all.remove(3).1;
        mark_removed(&db, removed, at).await.unwrap();
        for (i, (_, id)) in all.iter().enumerate().filter(|(i, _)| i % 3 != 0) {
            let checked = format!("2026-11-{:02}T10:00:00Z", 2 + i % 5);
            sqlx::query("UPDATE tenants SET last_checked_at = ? WHERE tenant_id = ?")
                .bind(checked)
                .bind(id)
                .execute(&sqlite)
                .await
                .unwrap();
        }
        let page = |sort, descending, offset| TenantQuery { sort, descending, limit: 10, offset, ..TenantQuery::default() };
        let ids = |rows: Vec<TenantSummary>| rows.into_iter().map(|r| r.tenant.tenant_id).collect::<Vec<_>>();

        let mut by_customer = all.clone();
        by_customer.sort_by(|a, b| (&a.0, a.1.to_string()).cmp(&(&b.0, b.1.to_string())));
        let mut listed = Vec::new();
        for offset in [0, 10, 20] {
            let (rows, total) = search(&db, &page(SortKey::Customer, false, offset)).await.unwrap();
            assert_eq!(total, 27, "at {offset}");
            listed.extend(ids(rows));
        }
        assert_eq!(listed, by_customer.iter().map(|(_, id)| *id).collect::<Vec<_>>());
        let (rows, _) = search(&db, &page(SortKey::Customer, true, 0)).await.unwrap();
        assert_eq!(rows[0].tenant.customer, "Beta");
        assert_eq!(rows.iter().filter(|r| r.tenant.customer == "Beta").count(), 7);

        let (rows, total) = search(&db, &page(SortKey::LastCheck, true, 20)).await.unwrap();
        assert_eq!((rows.len(), total), (7, 27));
        assert!(rows.iter().skip(rows.len() - 7).all(|r| r.tenant.last_checked_at.is_none()), "never checked last");
        let (rows, _) = search(&db, &page(SortKey::LastCheck, false, 0)).await.unwrap();
        let times: Vec<_> = rows.iter().map(|r| r.tenant.last_checked_at.map(|t| t.to_string())).collect();
        assert!(times.iter().all(Option::is_some) && times.is_sorted(), "{times:?}");

        let fragment = all[5].1.to_string()[..8].to_uppercase();
        let (rows, total) = search(&db, &TenantQuery { search: Some(&fragment), limit: 10, ..TenantQuery::default() }).await.unwrap();
        assert_eq!((ids(rows), total), (vec![all[5].1], 1), "by a tenant id, in any case");
        let (rows, total) =
            search(&db, &TenantQuery { search: Some("acm"), limit: 10, offset: 10, ..TenantQuery::default() }).await.unwrap();
        assert_eq!((rows.len(), total), (10, 20));
        let (rows, total) =
            search(&db, &TenantQuery { search: Some("acm"), limit: 10, offset: 30, ..TenantQuery::default() }).await.unwrap();
        assert_eq!((rows.len(), total), (0, 20), "past the end, still counted");
    }

    #[test]
    fn only_hex_digits_and_dashes_can_be_part_of_a_tenant_id() {
        assert!(could_be_in_tenant_id(" 72f988BF-86f1 "));
        assert!(!could_be_in_tenant_id("Contoso"));
        assert!(!could_be_in_tenant_id("72f988bf%"));
    }
}

//! The `checks` table: one row per check of a tenant (never the token itself).

use super::engine::{Exec, on_engine};
use sqlx::FromRow;

use crate::domain::{ApiResults, RoleList, TenantId, TenantStatus, Timestamp};

#[derive(Debug, Clone, FromRow)]
pub struct CheckRow {
    pub id: i64,
    pub tenant_id: TenantId,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub status: TenantStatus,
    pub roles_present: RoleList,
    pub roles_missing: RoleList,
    pub error_code: Option<i64>,
    pub trace_id: Option<String>,
    pub detail: Option<String>,
}

impl CheckRow {
    /// The AADSTS code Microsoft gave, if any.
    pub fn aadsts(&self) -> Option<u32> {
        self.error_code.and_then(|code| u32::try_from(code).ok())
    }
}

const SELECT: &str =
    "SELECT id, tenant_id, started_at, finished_at, status, roles_present, roles_missing, error_code, trace_id, detail FROM checks";

pub async fn latest<'e>(db: impl Into<Exec<'e>>, tenant_id: TenantId) -> Result<Option<CheckRow>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(&format!("{SELECT} WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1"))
        .bind(tenant_id)
        .fetch_optional(executor)
        .await)
}

/// The latest checks of a tenant, newest first (a timeline).
pub async fn history<'e>(db: impl Into<Exec<'e>>, tenant_id: TenantId, limit: i64) -> Result<Vec<CheckRow>, sqlx::Error> {
    on_engine!(db, |executor| sqlx::query_as(&format!("{SELECT} WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2"))
        .bind(tenant_id)
        .bind(limit)
        .fetch_all(executor)
        .await)
}

/// The decoded token of a check, as jwt.ms shows it: header and claims (JSON text), never the token
/// itself or its signature.
#[derive(Debug, Clone, Default, FromRow)]
pub struct TokenDetail {
    pub token_header: Option<String>,
    pub token_claims: Option<String>,
    /// Each API's part of the check, with its own decoded token (`None` for checks made before the
    /// portal knew several APIs).
    pub apis: Option<ApiResults>,
}

/// The decoded token kept with a check, when the schema keeps one (`token_header`, `token_claims`:
/// PostgreSQL's always does; a SQLite file is asked).
pub async fn token_detail<'e>(db: impl Into<Exec<'e>>, check_id: i64) -> Result<Option<TokenDetail>, sqlx::Error> {
    let mut db = db.into();
    if let Exec::SqlitePool(pool) = db {
        let sql = "SELECT COUNT(*) FROM pragma_table_info('checks') WHERE name IN ('token_header', 'token_claims')";
        let columns: i64 = sqlx::query_scalar(sql).fetch_one(pool).await?;
        if columns < 2 {
            return Ok(None);
        }
    }
    let sql = "SELECT token_header, token_claims, apis FROM checks WHERE id = $1";
    on_engine!(db.reborrow(), |executor| sqlx::query_as(sql).bind(check_id).fetch_optional(executor).await)
}

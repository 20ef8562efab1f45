//! The list of tenants as it leaves the portal: the CSV and JSON exports, the JSON API and
//! `tenants list` give each tenant in this one shape.

use crate::db::Pool;
use serde::Serialize;

use super::{Error, Refusal};
use crate::db;
use crate::db::tenants::TenantSummary;
use crate::domain::{Api, ApiResult, RoleList, TenantId, TenantStatus, Timestamp, Verification};

/// A tenant as exports, the JSON API and the command line give it.
#[derive(Debug, Clone, Serialize)]
pub struct TenantListing {
    pub tenant_id: TenantId,
    pub customer: String,
    pub status: TenantStatus,
    pub status_reason: Option<String>,
    pub consented_at: Timestamp,
    pub consented_by: Option<String>,
    /// The roles of the latest check (none before the first check).
    pub roles_present: RoleList,
    pub roles_missing: RoleList,
    pub last_checked_at: Option<Timestamp>,
    /// Each required API's part of the latest check (empty before the first check, and for checks made
    /// before the portal knew several APIs).
    pub apis: Vec<ListedApi>,
}

/// One API's part of a tenant's latest check, as the exports and the API give it.
#[derive(Debug, Clone, Serialize)]
pub struct ListedApi {
    pub api: Api,
    pub status: TenantStatus,
    /// Role names on this API (without the `api:` prefix).
    pub roles_present: Vec<String>,
    pub roles_missing: Vec<String>,
    /// HTTP status of the API's probe; null when it did not run, 0 when the API could not be reached.
    pub probe_status: Option<u16>,
    /// `signature` (the token verified) or `claims` (a Microsoft Graph token: claims read, proven by the probe).
    pub verification: Verification,
}

impl From<ApiResult> for ListedApi {
    fn from(result: ApiResult) -> Self {
        Self {
            api: result.api,
            status: result.status,
            roles_present: result.roles_present,
            roles_missing: result.roles_missing,
            probe_status: result.probe_status,
            verification: result.verification,
        }
    }
}

impl TenantListing {
    /// Whether the latest check found `permission` (`api:Role`): `Some(true)` present, `Some(false)`
    /// missing, `None` when the check did not say (never checked, or an old check).
    pub fn has(&self, permission: &str) -> Option<bool> {
        if self.roles_present.iter().any(|present| present == permission) {
            Some(true)
        } else if self.roles_missing.iter().any(|missing| missing == permission) {
            Some(false)
        } else {
            None
        }
    }
}

impl From<TenantSummary> for TenantListing {
    fn from(row: TenantSummary) -> Self {
        let consented_by = row.tenant.consented_by().map(str::to_owned);
        let t = row.tenant;
        Self {
            tenant_id: t.tenant_id,
            customer: t.customer,
            status: t.status,
            status_reason: t.status_reason,
            consented_at: t.consented_at,
            consented_by,
            roles_present: row.roles_present.unwrap_or_default(),
            roles_missing: row.roles_missing.unwrap_or_default(),
            last_checked_at: t.last_checked_at,
            apis: row.apis.map(|apis| apis.0.into_iter().map(ListedApi::from).collect()).unwrap_or_default(),
        }
    }
}

/// Every tenant that was not removed, by customer (without regard to case), then tenant id.
pub async fn list(db: &Pool) -> Result<Vec<TenantListing>, Error> {
    Ok(db::tenants::all_with_roles(db).await?.into_iter().map(TenantListing::from).collect())
}

/// One tenant that was not removed.
pub async fn find(db: &Pool, tenant: TenantId) -> Result<TenantListing, Error> {
    let row = db::tenants::find_with_roles(db, tenant).await?.ok_or(Refusal::NotFound)?;
    if db::tenants::removed_at(db, tenant).await?.is_some() {
        return Err(Refusal::NotFound.into());
    }
    Ok(TenantListing::from(row))
}

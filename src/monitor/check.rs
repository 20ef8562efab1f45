//! One check of one tenant.

use sqlx::SqlitePool;
use time::{Duration, OffsetDateTime};

use crate::db;
use crate::domain::{RoleName, TenantId, TenantStatus};
use crate::entra::{EntraClient, VerifyError};

/// Roles can take minutes to appear after a consent (5 to 15 reported); missing roles within this
/// window are "propagating", not "missing".
pub const PROPAGATION_WINDOW: Duration = Duration::minutes(60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    pub status: TenantStatus,
    pub reason: String,
    pub roles_present: Vec<String>,
    pub roles_missing: Vec<String>,
    pub error_code: Option<u32>,
    pub trace_id: Option<String>,
}

/// Gets a fresh app-only token for `tenant`, verifies it, and compares its roles with `required`.
/// `consented_at` tells whether missing roles may still be propagating.
pub async fn check_tenant(
    entra: &EntraClient,
    required: &[RoleName],
    tenant: TenantId,
    consented_at: Option<OffsetDateTime>,
) -> CheckOutcome {
    let outcome = |status: TenantStatus, reason: String| CheckOutcome {
        status,
        reason,
        roles_present: Vec::new(),
        roles_missing: required.iter().map(ToString::to_string).collect(),
        error_code: None,
        trace_id: None,
    };
    let token = match entra.app_only_token(tenant).await {
        Ok(token) => token,
        Err(error) => {
            let status = TenantStatus::from_token_error(error.status, error.aadsts);
            let mut result = outcome(status, format!("Microsoft refused the token: {error}"));
            result.error_code = error.aadsts;
            result.trace_id = error.trace_id;
            return result;
        }
    };
    let claims = match entra.verify_access_token(&token.raw, Some(tenant)).await {
        Ok((_, claims)) => claims,
        Err(VerifyError::JwksUnavailable) => return outcome(TenantStatus::Unreachable, "The signing keys could not be fetched.".into()),
        Err(error) => return outcome(TenantStatus::TokenInvalid, format!("The token did not verify: {error}.")),
    };
    let (present, missing) = crate::entra::roles_diff(required, claims.get("roles"));
    let recent = consented_at.is_some_and(|at| OffsetDateTime::now_utc() - at < PROPAGATION_WINDOW);
    let (status, reason) = if missing.is_empty() {
        (TenantStatus::Verified, "The token carries every required role.".to_owned())
    } else if recent {
        (TenantStatus::Propagating, format!("Consent was granted recently; still to appear: {}.", missing.join(", ")))
    } else {
        (TenantStatus::MissingRoles, format!("The token lacks: {}.", missing.join(", ")))
    };
    CheckOutcome { status, reason, roles_present: present, roles_missing: missing, error_code: None, trace_id: None }
}

/// Runs a check and stores it: a `checks` row and the tenant's status.
pub async fn run_and_record(
    db: &SqlitePool,
    entra: &EntraClient,
    required: &[RoleName],
    tenant: TenantId,
    consented_at: Option<OffsetDateTime>,
) -> Result<CheckOutcome, sqlx::Error> {
    let started_at = db::now_text();
    let outcome = check_tenant(entra, required, tenant, consented_at).await;
    let finished_at = db::now_text();
    let tenant_text = tenant.to_string();
    let mut tx = db::begin_write(db).await?;
    db::checks::insert(
        &mut *tx,
        db::checks::NewCheck {
            tenant_id: &tenant_text,
            started_at: &started_at,
            finished_at: &finished_at,
            status: outcome.status.as_str(),
            roles_present: &outcome.roles_present,
            roles_missing: &outcome.roles_missing,
            error_code: outcome.error_code.map(i64::from),
            trace_id: outcome.trace_id.as_deref(),
            detail: &outcome.reason,
        },
    )
    .await?;
    db::tenants::set_status(&mut *tx, &tenant_text, outcome.status.as_str(), &outcome.reason, &finished_at).await?;
    tx.commit().await?;
    tracing::info!(tenant = %tenant, status = %outcome.status, "tenant checked");
    Ok(outcome)
}

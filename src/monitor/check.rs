//! One check of one tenant: for each required API, concurrently, a fresh app-only token (a cached one
//! would hide a revocation), checked, its `roles` compared with the roles required on that API, one
//! read-only call to the API with it, and the outcome classified; the tenant's status is the worst of
//! its APIs'. The token itself is never stored: only its decoded header and claims.
//!
//! Tokens of the Defender APIs are verified by signature. Microsoft Graph's cannot be (a client cannot
//! check a signature made over a hashed nonce): their claims are checked, and such a token counts as
//! proven only when Graph's probe answers 200; without the probe it is "roles read, not proven".
//!
//! A 429's `Retry-After` is kept per tenant (`tenants.not_before`), and the check itself refuses to ask
//! for a token before it, so every path — the schedule, sweeps, `validate`, "Check now", the first check
//! after a consent, another replica — honours it.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde_json::Value;
use time::OffsetDateTime;

use crate::db::monitoring::{CheckResult, DueTenant};
use crate::domain::{
    Api, ApiResult, ApiResults, RequiredApi, RequirementHistory, RoleList, SharedClock, TenantId, TenantStatus, Timestamp, Verification,
};
use crate::entra::{EntraClient, VerifyError};

/// Roles can take minutes to appear after a consent (5 to 15 reported); missing roles within this
/// window are "propagating", not "missing".
pub const PROPAGATION_WINDOW: time::Duration = time::Duration::minutes(60);
/// After a consent, re-checks at about these times while roles propagate.
pub const PROPAGATION_RECHECKS: [time::Duration; 4] =
    [time::Duration::minutes(1), time::Duration::minutes(5), time::Duration::minutes(15), time::Duration::minutes(60)];

/// What a check needs.
#[derive(Clone)]
pub struct CheckContext {
    pub entra: EntraClient,
    /// The APIs and roles required, each with the resource its tokens are asked for.
    pub required: Vec<RequiredApi>,
    pub api_probe: bool,
    pub interval: Duration,
    /// Staff addresses told when a verified tenant gets worse.
    pub notify: Vec<String>,
    /// Where tenant.degraded and tenant.recovered events go, and the bell of their worker.
    pub webhooks: Arc<crate::webhooks::Webhooks>,
    /// The time of each check (and of the waits Microsoft asks for).
    pub clock: SharedClock,
    /// Since when each required permission has been required: a role missing from a tenant that
    /// consented before it was required "needs re-consent", not "missing roles".
    pub history: Arc<RequirementHistory>,
}

/// One API's part of a check, with what only the check itself needs (Microsoft's wait, its trace id).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiOutcome {
    pub result: ApiResult,
    pub trace_id: Option<String>,
    pub retry_after: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    /// The worst of the APIs' statuses.
    pub status: TenantStatus,
    pub reason: String,
    /// Every required permission the tokens carried, as `api:Role`.
    pub roles_present: Vec<String>,
    /// Every required permission missing, as `api:Role`.
    pub roles_missing: Vec<String>,
    pub error_code: Option<u32>,
    pub trace_id: Option<String>,
    /// How long Microsoft asked to wait (429), the longest of the APIs'.
    pub retry_after: Option<Duration>,
    /// Until when no token may be asked for this tenant (a 429's `Retry-After`, kept across checks).
    pub not_before: Option<OffsetDateTime>,
    /// Which of `apis` is the worst, whose decoded token the check row's own columns show (an index,
    /// not a copy: a token's claims are the largest part of a result).
    pub worst_api: Option<usize>,
    /// The worst API's probe answer.
    pub api_status: Option<u16>,
    /// Each required API's part, in the order of the configuration.
    pub apis: Vec<ApiResult>,
}

impl ApiOutcome {
    /// An API's part without a usable token: every role required on it counts as missing.
    fn failed(required: &RequiredApi, status: TenantStatus, reason: String) -> Self {
        Self {
            result: ApiResult {
                api: required.api,
                status,
                reason,
                roles_present: Vec::new(),
                roles_missing: required.roles.iter().map(ToString::to_string).collect(),
                probe_status: None,
                verification: required.api.verification(),
                error_code: None,
                token_header: None,
                token_claims: None,
            },
            trace_id: None,
            retry_after: None,
        }
    }
}

impl CheckOutcome {
    /// An outcome without a usable token for any API: every required permission counts as missing.
    pub fn failed(required: &[RequiredApi], status: TenantStatus, reason: String) -> Self {
        let apis = required.iter().map(|r| ApiOutcome::failed(r, status, reason.clone())).collect();
        let mut outcome = Self::combine(apis);
        outcome.reason = reason;
        outcome
    }

    /// The tenant's outcome from its APIs': the worst status (the first API's on a tie), its reason
    /// (each API's, named, when there are several), every permission as `api:Role`, the longest wait.
    fn combine(apis: Vec<ApiOutcome>) -> Self {
        let worst_api =
            apis.iter().enumerate().max_by_key(|(index, a)| (a.result.status.severity(), std::cmp::Reverse(*index))).map(|(i, _)| i);
        let worst = worst_api.and_then(|i| apis.get(i));
        let status = worst.map_or(TenantStatus::NeverChecked, |a| a.result.status);
        let reason = match apis.as_slice() {
            [only] => only.result.reason.clone(),
            _ => apis.iter().map(|a| format!("{}: {}", a.result.api.display_name(), a.result.reason)).collect::<Vec<_>>().join(" "),
        };
        let qualified = |pick: fn(&ApiResult) -> &Vec<String>| -> Vec<String> {
            apis.iter().flat_map(|a| pick(&a.result).iter().map(move |role| format!("{}:{role}", a.result.api))).collect()
        };
        Self {
            status,
            reason,
            roles_present: qualified(|r| &r.roles_present),
            roles_missing: qualified(|r| &r.roles_missing),
            error_code: worst.and_then(|a| a.result.error_code),
            trace_id: worst.and_then(|a| a.trace_id.clone()),
            retry_after: apis.iter().filter_map(|a| a.retry_after).max(),
            not_before: None,
            worst_api,
            api_status: worst.and_then(|a| a.result.probe_status),
            apis: apis.into_iter().map(|a| a.result).collect(),
        }
    }
}

/// The header and claims of a token, decoded without checking anything, for display ("like jwt.ms").
pub fn decode_for_display(token: &str) -> (Option<Value>, Option<Value>) {
    let mut parts = token.split('.');
    let header = parts.next().and_then(decode_part);
    let claims = parts.next().and_then(decode_part);
    (header, claims)
}

/// One base64url part of a token, as JSON.
fn decode_part(part: &str) -> Option<Value> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok().and_then(|b| serde_json::from_slice(&b).ok())
}

/// Whether the token carries a role that allows `api`'s probe.
fn allows_probe(api: Api, claims: &Value) -> bool {
    claims
        .get("roles")
        .and_then(Value::as_array)
        .is_some_and(|roles| roles.iter().any(|r| r.as_str().is_some_and(|r| api.probe_roles().contains(&r))))
}

/// One tenant to check.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub tenant: TenantId,
    pub consented_at: Option<OffsetDateTime>,
    /// Microsoft asked not to be asked for this tenant's token before this time.
    pub not_before: Option<OffsetDateTime>,
}

impl Target {
    /// A tenant with no wait known yet (`Sweeper::check_now` reads the stored one).
    pub fn new(tenant: TenantId, consented_at: Option<OffsetDateTime>) -> Self {
        Self { tenant, consented_at, not_before: None }
    }

    pub fn from_row(row: &DueTenant) -> Self {
        Self {
            tenant: row.tenant_id,
            consented_at: Some(row.consented_at.as_datetime()),
            not_before: row.not_before.map(Timestamp::as_datetime),
        }
    }
}

/// The longest wait a `Retry-After` is followed for: a larger value (a broken or hostile answer) must not
/// silence a tenant for days.
pub const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// When Microsoft's wait of `retry_after` from `now` ends, to the whole second after (times are stored
/// to the second, and rounding down would ask a little early).
fn wait_ends(now: OffsetDateTime, retry_after: Duration) -> OffsetDateTime {
    let until = now + retry_after.min(LONGEST_RETRY_AFTER);
    if until.nanosecond() == 0 { until } else { until.replace_nanosecond(0).unwrap_or(until) + time::Duration::SECOND }
}

/// Checks `target` once (no retries). Before the tenant's `not_before`, Microsoft is not asked at all:
/// the outcome is "throttled until …".
pub async fn check_tenant(ctx: &CheckContext, target: &Target) -> CheckOutcome {
    let (tenant, consented_at) = (target.tenant, target.consented_at);
    let now = ctx.clock.now();
    if let Some(until) = target.not_before.filter(|until| *until > now) {
        let reason =
            format!("Throttled until {}: Microsoft asked to wait (Retry-After), so no token was requested.", Timestamp::new(until));
        let mut outcome = CheckOutcome::failed(&ctx.required, TenantStatus::Throttled, reason);
        outcome.retry_after = Some(Duration::try_from(until - now).unwrap_or_default());
        outcome.not_before = Some(until);
        return outcome;
    }
    let apis = futures::future::join_all(ctx.required.iter().map(|required| check_api(ctx, tenant, consented_at, required))).await;
    let mut outcome = CheckOutcome::combine(apis);
    if let Some(retry_after) = outcome.retry_after {
        outcome.retry_after = Some(retry_after.min(LONGEST_RETRY_AFTER));
        let until = wait_ends(ctx.clock.now(), retry_after);
        outcome.reason = format!("{} No token is asked for before {}.", outcome.reason, Timestamp::new(until));
        outcome.not_before = Some(until);
    }
    outcome
}

/// One API's part: asks Microsoft for a token for its resource, checks it and probes the API with it.
async fn check_api(ctx: &CheckContext, tenant: TenantId, consented_at: Option<OffsetDateTime>, required: &RequiredApi) -> ApiOutcome {
    let api = required.api;
    let token = if api.verification() == Verification::Signature {
        // The tenant's signing keys are fetched while Microsoft issues the token: one round trip less.
        let (token, ()) = tokio::join!(ctx.entra.app_only_token(tenant, &required.resource), ctx.entra.warm_access_token_keys(tenant));
        token
    } else {
        ctx.entra.app_only_token(tenant, &required.resource).await
    };
    let token = match token {
        Ok(token) => token,
        Err(error) => {
            let status = TenantStatus::from_token_error(error.status, error.aadsts);
            let mut outcome = ApiOutcome::failed(required, status, format!("Microsoft refused the token: {error}."));
            outcome.result.error_code = error.aadsts;
            outcome.trace_id = error.trace_id;
            outcome.retry_after = error.retry_after_s.map(Duration::from_secs);
            return outcome;
        }
    };
    let checked = match api.verification() {
        Verification::Signature => {
            ctx.entra.verify_access_token(&token.raw, Some(tenant), api, &required.resource).await.map(|(_, claims)| claims)
        }
        Verification::Claims => ctx.entra.read_claims_of_unverifiable_token(&token.raw, tenant, api, &required.resource),
    };
    let claims = match checked {
        Ok(claims) => claims,
        Err(error) => {
            let mut outcome = match error {
                VerifyError::JwksUnavailable => {
                    ApiOutcome::failed(required, TenantStatus::Unreachable, "The tenant's signing keys could not be fetched.".into())
                }
                error => ApiOutcome::failed(required, TenantStatus::TokenInvalid, format!("The token did not verify: {error}.")),
            };
            (outcome.result.token_header, outcome.result.token_claims) = decode_for_display(&token.raw);
            return outcome;
        }
    };
    let (present, missing) = crate::entra::roles_diff(&required.roles, claims.get("roles"));
    let recent = consented_at.is_some_and(|at| ctx.clock.now() - at < PROPAGATION_WINDOW);
    let (mut status, mut reason) = if missing.is_empty() {
        (TenantStatus::Verified, "The token carries every required role and the API answers.".to_owned())
    } else if recent {
        (TenantStatus::Propagating, format!("Consent was granted recently; still to appear: {}.", missing.join(", ")))
    } else {
        missing_roles(&ctx.history, api, &missing, consented_at)
    };
    let mut probe_status = None;
    let mut retry_after = None;
    if ctx.api_probe && allows_probe(api, &claims) {
        let probe = ctx.entra.probe_api(api, &token.raw).await;
        probe_status = Some(probe.status);
        match probe.status {
            200 => {}
            401 => (status, reason) = (TenantStatus::TokenInvalid, "The API refused the token (401).".into()),
            403 => (status, reason) = (TenantStatus::MissingRoles, "The API says the application lacks the permission (403).".into()),
            429 => {
                crate::metrics::count_throttled("api");
                retry_after = probe.retry_after_s.map(Duration::from_secs);
                (status, reason) = (TenantStatus::Throttled, "The API is throttling this tenant (429).".into());
            }
            0 => (status, reason) = (TenantStatus::Unreachable, "The API could not be reached.".into()),
            other => (status, reason) = (TenantStatus::Unreachable, format!("The API answered {other}.")),
        }
    } else if status == TenantStatus::Verified && api.verification() == Verification::Claims {
        (status, reason) = (
            TenantStatus::Unproven,
            "The token's claims carry every required role, but its signature cannot be checked by a client and the API was not \
             called: roles read, not proven."
                .into(),
        );
    } else if status == TenantStatus::Verified {
        reason = "The token carries every required role.".into();
    }
    // The claims shown are the ones checked: the same part of the token, decoded the same way, so it
    // is not decoded a second time for display; only the header is.
    let header = token.raw.split('.').next().and_then(decode_part);
    ApiOutcome {
        result: ApiResult {
            api,
            status,
            reason,
            roles_present: present,
            roles_missing: missing,
            probe_status,
            verification: api.verification(),
            error_code: None,
            token_header: header,
            token_claims: Some(claims),
        },
        trace_id: None,
        retry_after,
    }
}

/// Roles missing well after the consent: "needs re-consent" when some were required only since the
/// consent (its admin never saw them), else "missing roles" (the consent granted less than asked).
fn missing_roles(
    history: &RequirementHistory,
    api: Api,
    missing: &[String],
    consented_at: Option<OffsetDateTime>,
) -> (TenantStatus, String) {
    let new: Vec<&str> = consented_at
        .map(|at| missing.iter().map(String::as_str).filter(|role| history.is_newer_than_consent(api, role, at)).collect())
        .unwrap_or_default();
    if new.is_empty() {
        return (TenantStatus::MissingRoles, format!("The token lacks: {}.", missing.join(", ")));
    }
    let new_permissions: Vec<String> = new.iter().map(|role| format!("{api}:{role}")).collect();
    (
        TenantStatus::NeedsReconsent,
        format!(
            "Needs re-consent: the application now also requires {}, added after the tenant's consent; an administrator must approve again.",
            new_permissions.join(", ")
        ),
    )
}

/// When to check a tenant next: at the propagation re-check times after a consent while roles are
/// still missing, sooner after a transient failure, else after the interval.
pub fn next_check(status: TenantStatus, consented_at: Option<OffsetDateTime>, now: OffsetDateTime, interval: Duration) -> OffsetDateTime {
    let interval = time::Duration::try_from(interval).unwrap_or(time::Duration::hours(6));
    if status.awaits_roles()
        && let Some(consented_at) = consented_at
        && let Some(at) = PROPAGATION_RECHECKS.iter().map(|offset| consented_at + *offset).find(|at| *at > now)
    {
        return at;
    }
    match status {
        TenantStatus::Throttled | TenantStatus::Unreachable => now + interval.min(time::Duration::minutes(15)),
        _ => now + interval,
    }
}

/// The row to store for an outcome, which it takes over (a sweep stores thousands: nothing is copied).
pub fn to_result(
    ctx: &CheckContext,
    tenant: TenantId,
    outcome: CheckOutcome,
    started_at: OffsetDateTime,
    consented_at: Option<OffsetDateTime>,
) -> CheckResult {
    let now = ctx.clock.now();
    // Every check becomes a result here, once: the place to count them.
    for api in &outcome.apis {
        crate::metrics::count_check(&api.api.to_string(), api.status);
    }
    let worst = outcome.worst_api.and_then(|i| outcome.apis.get(i));
    let (token_header, token_claims) = (
        worst.and_then(|a| a.token_header.as_ref()).map(Value::to_string),
        worst.and_then(|a| a.token_claims.as_ref()).map(Value::to_string),
    );
    CheckResult {
        tenant_id: tenant,
        started_at: started_at.into(),
        finished_at: now.into(),
        status: outcome.status,
        reason: outcome.reason,
        roles_present: RoleList(outcome.roles_present),
        roles_missing: RoleList(outcome.roles_missing),
        error_code: outcome.error_code.map(i64::from),
        trace_id: outcome.trace_id,
        token_header,
        token_claims,
        api_status: outcome.api_status.map(i64::from),
        apis: ApiResults(outcome.apis),
        // Never planned before Microsoft's wait ends.
        next_check_at: next_check(outcome.status, consented_at, now, ctx.interval).max(outcome.not_before.unwrap_or(now)).into(),
        not_before: outcome.not_before.map(Timestamp::new),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_ends_on_the_whole_second_after_and_lasts_a_day_at_most() {
        let now = time::macros::datetime!(2026-11-25 14:36:30.250 UTC);
        assert_eq!(wait_ends(now, Duration::from_secs(2)), time::macros::datetime!(2026-11-25 14:36:33 UTC));
        let on_the_second = time::macros::datetime!(2026-11-25 14:36:30 UTC);
        assert_eq!(wait_ends(on_the_second, Duration::from_secs(60)), time::macros::datetime!(2026-11-25 14:37:30 UTC));
        assert_eq!(wait_ends(on_the_second, Duration::from_secs(u64::MAX)), time::macros::datetime!(2026-11-26 14:36:30 UTC));
    }
}

//! One tenant's page: its status and roles, the failure of its latest check explained, the decoded token
//! of that check as jwt.ms shows it (never the token or its signature), its checks as a timeline and
//! its consents.

use askama::Template;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::db;
use crate::domain::aadsts::{self, Explanation};
use crate::domain::{RequiredApi, TenantId, Timestamp, Verification};
use crate::i18n::Messages;
use crate::tenants::TenantRecord;
use crate::web::staff_auth::{Nav, StaffUser};

struct CheckLine {
    finished_at: Timestamp,
    label: &'static str,
    tone: &'static str,
    detail: String,
    roles_missing: Vec<String>,
    code: Option<String>,
}

struct ConsentLine {
    consented_at: Timestamp,
    consented_by: String,
    flow: &'static str,
    roles_requested: Vec<String>,
}

struct ClaimLine {
    name: String,
    value: String,
    meaning: &'static str,
}

/// The decoded token, as jwt.ms shows it: header and claims, pretty-printed, and a table of the claims.
struct DecodedToken {
    header: String,
    claims: String,
    table: Vec<ClaimLine>,
}

/// A card with a decoded token: one per API of the latest check, or one for a check made before the
/// portal knew several APIs.
struct TokenSection {
    id: String,
    title: String,
    /// "for this API", or "" for the single token of an older check.
    of: &'static str,
    probe: String,
    token: Option<DecodedToken>,
    /// Why there is no token, when there is none.
    none: &'static str,
}

/// One required role of an API, and whether the latest check's token carried it.
struct RoleCell {
    role: String,
    present: bool,
}

/// One row of the matrix of APIs × required roles, with how its token was trusted and what the API's
/// probe answered, and that API's decoded token.
struct ApiLine {
    name: &'static str,
    display_name: &'static str,
    label: &'static str,
    tone: &'static str,
    reason: String,
    roles: Vec<RoleCell>,
    verification: &'static str,
    probe: String,
}

struct ProblemLine {
    explanation: Explanation,
    code: Option<String>,
    trace_id: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/tenant.html")]
pub(super) struct DetailPage {
    nav: Option<Nav>,
    admin: bool,
    csrf: String,
    tenant_id: TenantId,
    customer: String,
    consented_by: String,
    consented_at: Timestamp,
    label: &'static str,
    tone: &'static str,
    reason: String,
    last_checked_at: String,
    removed_at: Option<Timestamp>,
    roles_present: Vec<String>,
    roles_missing: Vec<String>,
    problem: Option<ProblemLine>,
    /// The matrix, when the latest check was made per API.
    apis: Vec<ApiLine>,
    tokens: Vec<TokenSection>,
    checks: Vec<CheckLine>,
    consents: Vec<ConsentLine>,
    just_checked: bool,
}

/// Does this look like a compact JWT (so never to be shown)?
fn looks_like_token(value: &str) -> bool {
    value.starts_with("eyJ") && value.matches('.').count() >= 2
}

/// A JSON object without anything that looks like a raw token or a signature.
fn scrubbed(text: Option<&str>) -> Option<serde_json::Map<String, Value>> {
    let Value::Object(mut map) = serde_json::from_str(text?).ok()? else { return None };
    map.retain(|name, value| name != "signature" && !value.as_str().is_some_and(looks_like_token));
    Some(map)
}

fn claim_meaning(name: &str) -> &'static str {
    match name {
        "aud" => "Audience: the API the token is for",
        "iss" => "Issuer: who issued the token (names the tenant)",
        "iat" => "Issued at",
        "nbf" => "Not valid before",
        "exp" => "Expires",
        "tid" => "The customer's tenant id",
        "appid" | "azp" => "The application (client) id the token was issued to",
        "appidacr" | "azpacr" => "How the application authenticated (1: secret, 2: certificate)",
        "roles" => "Application permissions granted in the tenant",
        "oid" => "Object id of the application's service principal in the tenant",
        "sub" => "Subject",
        "idp" => "Identity provider",
        "ver" => "Token version",
        "alg" => "Signing algorithm",
        "kid" | "x5t" => "The signing key's id",
        "typ" => "Token type",
        _ => "",
    }
}

fn decoded_token(detail: Option<&db::checks::TokenDetail>) -> Option<DecodedToken> {
    let detail = detail?;
    decoded(detail.token_header.as_deref(), detail.token_claims.as_deref())
}

fn decoded(header: Option<&str>, claims: Option<&str>) -> Option<DecodedToken> {
    let header = scrubbed(header)?;
    let claims = scrubbed(claims)?;
    let table = claims
        .iter()
        .map(|(name, value)| {
            let shown = match (name.as_str(), value) {
                ("exp" | "nbf" | "iat", Value::Number(n)) => match n.as_i64().and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok()) {
                    Some(at) => format!("{n} ({})", at.format(&Rfc3339).unwrap_or_default()),
                    None => n.to_string(),
                },
                (_, Value::String(s)) => s.clone(),
                (_, Value::Array(items)) => {
                    items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned)).collect::<Vec<_>>().join(", ")
                }
                (_, other) => other.to_string(),
            };
            ClaimLine { name: name.clone(), value: shown, meaning: claim_meaning(name) }
        })
        .collect();
    Some(DecodedToken {
        header: serde_json::to_string_pretty(&header).unwrap_or_default(),
        claims: serde_json::to_string_pretty(&claims).unwrap_or_default(),
        table,
    })
}

/// The probe's answer in words.
fn probe_words(status: Option<u16>) -> String {
    match status {
        None => "not called".to_owned(),
        Some(0) => "unreachable".to_owned(),
        Some(200) => "200 OK".to_owned(),
        Some(other) => other.to_string(),
    }
}

/// The matrix of the latest check and its decoded tokens: each API's required roles (from the configuration, so a role the
/// check did not ask about shows as missing), its status, how its token was trusted, its probe, its token.
fn matrix_and_tokens(detail: Option<&db::checks::TokenDetail>, required: &[RequiredApi]) -> (Vec<ApiLine>, Vec<TokenSection>) {
    let Some(results) = detail.and_then(|d| d.apis.as_ref()) else {
        let token = TokenSection {
            id: "token".into(),
            title: "Latest token, decoded".into(),
            of: "",
            probe: String::new(),
            token: decoded_token(detail),
            none: "the latest check got no token, or there has been no check yet.",
        };
        return (Vec::new(), vec![token]);
    };
    let json = |value: &Option<Value>| value.as_ref().map(Value::to_string);
    let tokens = results
        .0
        .iter()
        .map(|result| TokenSection {
            id: format!("token-{}", result.api.name()),
            title: format!("Latest {} token, decoded", result.api.display_name()),
            of: "for this API",
            probe: probe_words(result.probe_status),
            token: decoded(json(&result.token_header).as_deref(), json(&result.token_claims).as_deref()),
            none: "Microsoft gave none for this API in the latest check.",
        })
        .collect();
    let lines = results
        .0
        .iter()
        .map(|result| {
            let required_roles: Vec<String> = required
                .iter()
                .find(|r| r.api == result.api)
                .map(|r| r.roles.iter().map(ToString::to_string).collect())
                .unwrap_or_else(|| result.roles_present.iter().chain(&result.roles_missing).cloned().collect());
            ApiLine {
                name: result.api.name(),
                display_name: result.api.display_name(),
                label: result.status.label(),
                tone: result.status.tone(),
                reason: result.reason.clone(),
                roles: required_roles.into_iter().map(|role| RoleCell { present: result.roles_present.contains(&role), role }).collect(),
                verification: match result.verification {
                    Verification::Signature => "signature (RS256, the tenant's keys)",
                    Verification::Claims => "claims only (a Graph token: proven by the probe)",
                },
                probe: probe_words(result.probe_status),
            }
        })
        .collect();
    (lines, tokens)
}

impl DetailPage {
    /// The page of `record`; `required` are the roles a tenant never checked is missing.
    pub fn new(staff: &StaffUser, record: TenantRecord, required: &[RequiredApi], just_checked: bool) -> Self {
        let problem = record.problem().map(|check| {
            let code = check.aadsts();
            ProblemLine {
                explanation: aadsts::explain(code).words(Messages::default()),
                code: code.map(|c| format!("AADSTS{c}")),
                trace_id: check.trace_id.clone(),
            }
        });
        let tenant = record.summary.tenant;
        let (apis, tokens) = matrix_and_tokens(record.token.as_ref(), required);
        Self {
            nav: Some(staff.nav("tenants")),
            admin: staff.is_admin(),
            csrf: staff.csrf.clone(),
            roles_present: record.summary.roles_present.map(|r| r.names()).unwrap_or_default(),
            roles_missing: match record.summary.roles_missing {
                Some(roles) => roles.names(),
                None => required.iter().flat_map(RequiredApi::permissions).collect(),
            },
            consented_by: tenant.consented_by().unwrap_or_default().to_owned(),
            tenant_id: tenant.tenant_id,
            customer: tenant.customer,
            consented_at: tenant.consented_at,
            label: tenant.status.label(),
            tone: tenant.status.tone(),
            reason: tenant.status_reason.unwrap_or_default(),
            last_checked_at: tenant.last_checked_at.map(|at| at.to_string()).unwrap_or_default(),
            removed_at: record.removed_at,
            problem,
            apis,
            tokens,
            checks: record
                .checks
                .into_iter()
                .map(|c| CheckLine {
                    finished_at: c.finished_at,
                    label: c.status.label(),
                    tone: c.status.tone(),
                    detail: c.detail.unwrap_or_default(),
                    roles_missing: c.roles_missing.names(),
                    code: c.error_code.map(|c| format!("AADSTS{c}")),
                })
                .collect(),
            consents: record
                .consents
                .into_iter()
                .map(|c| ConsentLine {
                    consented_at: c.consented_at,
                    consented_by: c.consented_by_upn.or(c.consented_by_oid).unwrap_or_default(),
                    flow: db::types::flow_text(c.flow),
                    roles_requested: c.roles_requested.names(),
                })
                .collect(),
            just_checked,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_tokens_and_signatures_are_never_shown() {
        let map = scrubbed(Some(r#"{"alg":"RS256","signature":"abc","raw":"eyJhbGciOi.eyJ0aWQiOi.c2ln","kid":"k1"}"#)).unwrap();
        assert_eq!(map.keys().collect::<Vec<_>>(), ["alg", "kid"]);
        assert!(scrubbed(Some("not json")).is_none());
        assert!(scrubbed(Some("[1]")).is_none());
    }
}

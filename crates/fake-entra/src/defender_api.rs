//! The fake Defender XDR API: `GET /api/incidents`. Accepts only tokens this fake signed, for the
//! Defender audience, carrying `Incident.Read.All` or `Incident.ReadWrite.All`; limits each tenant to
//! 50 calls a minute (429 with `Retry-After`); answers with the shapes and errors Microsoft's API uses.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{SharedFake, dropped_connection, faults_of, with_log_detail};
use crate::TenantId;

const CALLS_PER_MINUTE: usize = 50;
/// Audiences the API accepts: the resource and its older Defender for Endpoint names.
const OLDER_AUDIENCES: [&str; 3] = [
    "https://api.securitycenter.microsoft.com",
    "https://api.securitycenter.windows.com",
    "https://securitycenter.onmicrosoft.com/windowsatpservice",
];

#[derive(Deserialize)]
struct Claims {
    tid: String,
    #[serde(default)]
    roles: Value,
}

fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": { "code": code, "message": message, "target": Uuid::new_v4().to_string() } }))).into_response()
}

pub async fn incidents(State(fake): State<SharedFake>, headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Response {
    let token = crate::authorization::bearer_token(&headers);
    let Some(token) = token else {
        return api_error(StatusCode::UNAUTHORIZED, "Unauthorized", "Authorization header is missing or is not a Bearer token.");
    };
    let claims = match verify(&fake, token) {
        Ok(claims) => claims,
        Err(message) => return api_error(StatusCode::UNAUTHORIZED, "Unauthorized", &message),
    };
    let Ok(tenant) = TenantId::parse(&claims.tid) else {
        return api_error(StatusCode::UNAUTHORIZED, "Unauthorized", "The token has no valid tid.");
    };
    let response = answer(&fake, tenant, &claims, &query).await;
    with_log_detail(response, Some(tenant.to_string()), None)
}

async fn answer(fake: &SharedFake, tenant: TenantId, claims: &Claims, query: &HashMap<String, String>) -> Response {
    let faults = faults_of(fake, tenant);
    if let Some(ms) = faults.api_latency_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if faults.drop_connection == Some(true) {
        return dropped_connection();
    }
    if let Some(status) = faults.api_status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response =
            api_error(status, status.canonical_reason().unwrap_or("Error").replace(' ', "").as_str(), "Fault injected by the fake.");
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            let seconds = faults.retry_after_s.unwrap_or(60).to_string();
            if let Ok(value) = HeaderValue::from_str(&seconds) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        return response;
    }
    if faults.garbage == Some(true) {
        return (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{\"@odata.context\": <<garbage").into_response();
    }
    if let Some(retry_after) = rate_limited(fake, tenant) {
        let mut response = api_error(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "Rate limit is exceeded. Try again later.");
        if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let roles: Vec<&str> = claims.roles.as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    if !roles.iter().any(|r| *r == "Incident.Read.All" || *r == "Incident.ReadWrite.All") {
        return api_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "The application does not have any of the required application permissions (Incident.ReadWrite.All, Incident.Read.All) to access the resource.",
        );
    }
    let top = query.get("$top").and_then(|v| v.parse::<usize>().ok()).unwrap_or(100).min(100);
    let incidents: Vec<Value> = sample_incidents(tenant).into_iter().take(top).collect();
    Json(json!({ "@odata.context": format!("{}/api/$metadata#Incidents", fake.public_url), "value": incidents })).into_response()
}

fn verify(fake: &SharedFake, token: &str) -> Result<Claims, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| "The token is malformed.".to_owned())?;
    if header.alg != Algorithm::RS256 || header.nonce.is_some() {
        return Err("The token is not signed with RS256.".into());
    }
    let kid = header.kid.ok_or("The token has no kid.")?;
    let (signing_input, signature) = token.rsplit_once('.').ok_or("The token is malformed.")?;
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| "The token is malformed.".to_owned())?;
    {
        let keys = fake.keys();
        let key = keys.find(&kid).ok_or("The token was not signed by a known key.")?;
        if !key.verifies(signing_input.as_bytes(), &signature) {
            return Err("The token's signature is not valid.".into());
        }
    }
    let payload = signing_input.split('.').nth(1).ok_or("The token is malformed.")?;
    let claims: Value =
        URL_SAFE_NO_PAD.decode(payload).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).ok_or("The token is malformed.")?;
    let resource = fake.state().directory.resource.uri.clone();
    let audience_ok = claims.get("aud").and_then(Value::as_str).is_some_and(|aud| aud == resource || OLDER_AUDIENCES.contains(&aud));
    if !audience_ok {
        return Err("The token is not valid: InvalidAudience.".into());
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if claims.get("exp").and_then(Value::as_i64).is_none_or(|exp| exp + 60 < now) {
        return Err("The token is not valid: ExpiredSignature.".into());
    }
    serde_json::from_value(claims).map_err(|_| "The token has no valid tid.".to_owned())
}

/// Seconds to wait when this tenant made 50 calls in the last minute; records the call otherwise.
fn rate_limited(fake: &SharedFake, tenant: TenantId) -> Option<u64> {
    let mut state = fake.state();
    let calls: &mut VecDeque<Instant> = state.api_calls.entry(tenant).or_default();
    let window = Duration::from_secs(60);
    while calls.front().is_some_and(|at| at.elapsed() >= window) {
        calls.pop_front();
    }
    if calls.len() >= CALLS_PER_MINUTE {
        let oldest = calls.front().copied()?;
        return Some(window.saturating_sub(oldest.elapsed()).as_secs().max(1));
    }
    calls.push_back(Instant::now());
    None
}

/// A few incidents, the same for a tenant every time.
fn sample_incidents(tenant: TenantId) -> Vec<Value> {
    let seed = tenant.as_uuid().as_u128() % 900 + 100;
    let names = [
        ("Multi-stage incident involving Initial access & Execution", "High"),
        ("Suspicious sign-in activity", "Medium"),
        ("Malware detected on one endpoint", "Low"),
    ];
    names
        .iter()
        .enumerate()
        .map(|(i, (name, severity))| {
            json!({
                "incidentId": seed as usize * 10 + i,
                "incidentName": name,
                "createdTime": format!("2026-11-{:02}T08:{:02}:00Z", 10 + i, 15 + i),
                "lastUpdateTime": format!("2026-11-{:02}T09:{:02}:00Z", 10 + i, 15 + i),
                "status": "Active",
                "severity": severity,
                "assignedTo": null,
                "classification": "Unknown",
                "determination": "NotAvailable",
                "tags": [],
                "comments": [],
                "alerts": [],
            })
        })
        .collect()
}

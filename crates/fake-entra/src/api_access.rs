//! What every API of the fake checks of a call, in this order: a bearer token this fake signed (a
//! Graph token over its hashed nonce, as Graph checks its own), whose `aud` names this API (a token for
//! another API is refused), not expired; then the tenant's injected faults (latency, a dropped
//! connection, a forced status, a garbage body); then the endpoint's rate limit per tenant; then the
//! roles, any one of the endpoint's. Each API words its refusals its own way ([`ErrorStyle`]).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use axum::Json;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::apis::GRAPH_API;
use crate::{SharedFake, TenantId, dropped_connection, faults_of, keys};

/// One endpoint of an API.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// The API whose tokens it takes (`graph`, `defender`, `mde`).
    pub api: &'static str,
    /// What its rate limit is counted under, per tenant.
    pub name: &'static str,
    pub calls_per_minute: usize,
    /// Any one of these application roles lets a call through.
    pub any_of: &'static [&'static str],
}

/// Why a bearer token was refused (401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization: Bearer` header.
    Missing,
    /// Not a JWT, or without a tenant.
    Malformed(&'static str),
    /// Not signed by this fake's keys (or not as this API's tokens are signed).
    Signature(&'static str),
    /// A token for another API.
    Audience,
    Expired,
}

/// Who called, as the token says.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: TenantId,
    pub roles: Vec<String>,
}

impl Caller {
    pub fn has_any_of(&self, roles: &[&str]) -> bool {
        self.roles.iter().any(|held| roles.contains(&held.as_str()))
    }
}

/// Checks the request's bearer token for `api`.
pub fn authenticate(fake: &SharedFake, headers: &HeaderMap, api: &str) -> Result<Caller, Refusal> {
    let token = crate::authorization::bearer_token(headers).ok_or(Refusal::Missing)?;
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(Refusal::Malformed("The token is malformed."));
    };
    let header = decode_json(header).ok_or(Refusal::Malformed("The token is malformed."))?;
    let claims = decode_json(payload).ok_or(Refusal::Malformed("The token is malformed."))?;
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| Refusal::Malformed("The token is malformed."))?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(Refusal::Signature("The token is not signed with RS256."));
    }
    // Only Graph signs over a hashed nonce: the other APIs check the token as received, so a
    // Graph-style token fails there as Microsoft's would.
    if header.get("nonce").is_some() && api != GRAPH_API {
        return Err(Refusal::Signature("The token's signature is not valid."));
    }
    let kid = header.get("kid").and_then(Value::as_str).ok_or(Refusal::Signature("The token has no kid."))?;
    let signed = keys::signed_input(token).ok_or(Refusal::Malformed("The token is malformed."))?;
    {
        let keys = fake.keys();
        let key = keys.find(kid).ok_or(Refusal::Signature("The token was not signed by a known key."))?;
        if !key.verifies(signed.as_bytes(), &signature) {
            return Err(Refusal::Signature("The token's signature is not valid."));
        }
    }
    let audience = claims.get("aud").and_then(Value::as_str).unwrap_or_default();
    let for_this_api = fake.state().directory.api(api).is_some_and(|known| known.is_named(audience));
    if !for_this_api {
        return Err(Refusal::Audience);
    }
    let now = OffsetDateTime::now_utc().unix_timestamp();
    if claims.get("exp").and_then(Value::as_i64).is_none_or(|exp| exp + 60 < now) {
        return Err(Refusal::Expired);
    }
    let tenant = claims
        .get("tid")
        .and_then(Value::as_str)
        .and_then(|tid| TenantId::parse(tid).ok())
        .ok_or(Refusal::Malformed("The token has no valid tid."))?;
    let roles = claims
        .get("roles")
        .and_then(Value::as_array)
        .map(|roles| roles.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    Ok(Caller { tenant, roles })
}

fn decode_json(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice::<Value>(&bytes).ok().filter(Value::is_object)
}

/// How an API words its errors.
#[derive(Debug, Clone)]
pub enum ErrorStyle {
    /// The Defender XDR and Defender for Endpoint APIs: `{"error":{"code","message","target"}}`.
    Defender,
    /// Microsoft Graph: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`,
    /// with the same ids in the `request-id` and `client-request-id` headers.
    Graph(GraphRequestIds),
}

/// The ids Graph answers every request with: its own, and the client's `client-request-id` (its own
/// again when the client sent none).
#[derive(Debug, Clone)]
pub struct GraphRequestIds {
    pub request_id: String,
    pub client_request_id: String,
}

impl GraphRequestIds {
    pub fn of(headers: &HeaderMap) -> Self {
        let request_id = Uuid::new_v4().to_string();
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|value| value.to_str().ok())
            .filter(|value| !value.is_empty() && value.len() <= 100)
            .map_or_else(|| request_id.clone(), str::to_owned);
        Self { request_id, client_request_id }
    }

    /// Adds the two headers to a response.
    pub fn stamp(&self, mut response: Response) -> Response {
        for (name, value) in [("request-id", &self.request_id), ("client-request-id", &self.client_request_id)] {
            if let Ok(value) = HeaderValue::from_str(value) {
                response.headers_mut().insert(HeaderName::from_static(name), value);
            }
        }
        response
    }
}

impl ErrorStyle {
    pub fn error(&self, status: StatusCode, code: &str, message: &str) -> Response {
        match self {
            ErrorStyle::Defender => {
                (status, Json(json!({ "error": { "code": code, "message": message, "target": Uuid::new_v4().to_string() } })))
                    .into_response()
            }
            ErrorStyle::Graph(ids) => {
                let now = OffsetDateTime::now_utc();
                let date = format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                    now.year(),
                    u8::from(now.month()),
                    now.day(),
                    now.hour(),
                    now.minute(),
                    now.second()
                );
                let body = json!({ "error": {
                    "code": code,
                    "message": message,
                    "innerError": { "date": date, "request-id": ids.request_id, "client-request-id": ids.client_request_id },
                } });
                ids.stamp((status, Json(body)).into_response())
            }
        }
    }

    /// 429 with `Retry-After`.
    pub fn throttled(&self, retry_after_s: u64, message: &str) -> Response {
        with_retry_after(self.error(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", message), retry_after_s)
    }
}

fn with_retry_after(mut response: Response, seconds: u64) -> Response {
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The tenant's injected faults and the endpoint's rate limit: the answer to give instead of the
/// endpoint's own, if any. Records the call when it counts against the limit.
pub async fn faults_and_limits(fake: &SharedFake, tenant: TenantId, endpoint: &Endpoint, style: &ErrorStyle) -> Option<Response> {
    let faults = faults_of(fake, tenant);
    if let Some(ms) = faults.api_latency_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if faults.drop_connection == Some(true) {
        return Some(dropped_connection());
    }
    if let Some(status) = faults.api_status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = status.canonical_reason().unwrap_or("Error").replace(' ', "");
        let response = style.error(status, &code, "Fault injected by the fake.");
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            return Some(with_retry_after(response, faults.retry_after_s.unwrap_or(60)));
        }
        return Some(response);
    }
    if faults.garbage == Some(true) {
        return Some((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{\"@odata.context\": <<garbage").into_response());
    }
    let retry_after = rate_limited(fake, tenant, endpoint)?;
    Some(style.throttled(retry_after, "Rate limit is exceeded. Try again later."))
}

/// Seconds to wait when this tenant made the endpoint's allowance of calls in the last minute;
/// records the call otherwise.
fn rate_limited(fake: &SharedFake, tenant: TenantId, endpoint: &Endpoint) -> Option<u64> {
    let mut state = fake.state();
    let calls: &mut VecDeque<Instant> = state.api_calls.entry((tenant, endpoint.name)).or_default();
    let window = Duration::from_secs(60);
    while calls.front().is_some_and(|at| at.elapsed() >= window) {
        calls.pop_front();
    }
    if calls.len() >= endpoint.calls_per_minute {
        let oldest = calls.front().copied()?;
        return Some(window.saturating_sub(oldest.elapsed()).as_secs().max(1));
    }
    calls.push_back(Instant::now());
    None
}

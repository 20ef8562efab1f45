//! The fake Microsoft Graph security API: `GET /v1.0/security/incidents` (needs
//! `SecurityIncident.Read.All` or `SecurityIncident.ReadWrite.All`) and
//! `POST /v1.0/security/runHuntingQuery` with `{"Query": "…"}` (needs `ThreatHunting.Read.All`; answers
//! `{"schema":[…],"results":[…]}`; 45 calls a minute per tenant, Microsoft's stated limit). Takes only
//! Graph tokens this fake signed, checked the way only Graph can (over the hashed header nonce).
//!
//! Errors have Graph's shape, `{"error":{"code","message","innerError":{"date","request-id",
//! "client-request-id"}}}`, with Graph's codes and the messages reported of it: 401
//! `InvalidAuthenticationToken` ("Access token is empty.", "Access token validation failure. Invalid
//! audience.", "Lifetime validation failed, the token is expired."), 403 `Forbidden` ("Missing
//! application roles. API required roles: …, application roles: ….") and 429 `TooManyRequests` with
//! `Retry-After`. The KQL of a hunting query is not run: any query answers the same sample rows.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::api_access::{self, Endpoint, ErrorStyle, GraphRequestIds, Refusal};
use crate::apis::GRAPH_API;
use crate::{SharedFake, TenantId, with_log_detail};

const INCIDENTS: Endpoint = Endpoint {
    api: GRAPH_API,
    name: "graph incidents",
    calls_per_minute: 50,
    any_of: &["SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All"],
};

const HUNTING: Endpoint = Endpoint { api: GRAPH_API, name: "graph hunting", calls_per_minute: 45, any_of: &["ThreatHunting.Read.All"] };

/// Graph's content type for JSON answers.
const ODATA_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

fn unauthorized(fake: &SharedFake, ids: &GraphRequestIds, refusal: Refusal) -> Response {
    let message = match refusal {
        Refusal::Missing => "Access token is empty.",
        Refusal::Malformed(_) => "CompactToken parsing failed with error code: 80049217",
        Refusal::Signature(_) => "Access token validation failure.",
        Refusal::Audience => "Access token validation failure. Invalid audience.",
        Refusal::Expired => "Lifetime validation failed, the token is expired.",
    };
    let mut response = ErrorStyle::Graph(ids.clone()).error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message);
    // Where to get a token, as Graph's 401 says (this fake's authorize endpoint for Microsoft's).
    let challenge = format!(
        "Bearer realm=\"\", authorization_uri=\"{}/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
        fake.public_url
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn forbidden(ids: &GraphRequestIds, endpoint: &Endpoint, held: &[String]) -> Response {
    let message =
        format!("Missing application roles. API required roles: {}, application roles: {}.", endpoint.any_of.join(","), held.join(","));
    ErrorStyle::Graph(ids.clone()).error(StatusCode::FORBIDDEN, "Forbidden", &message)
}

fn ok(ids: &GraphRequestIds, body: Value) -> Response {
    ids.stamp(([(header::CONTENT_TYPE, ODATA_JSON)], Json(body)).into_response())
}

/// The checks every Graph endpoint makes before its own answer: the token, faults, limits, roles.
async fn admit(fake: &SharedFake, headers: &HeaderMap, endpoint: &Endpoint, ids: &GraphRequestIds) -> Result<TenantId, Response> {
    let caller = match api_access::authenticate(fake, headers, GRAPH_API) {
        Ok(caller) => caller,
        Err(refusal) => return Err(unauthorized(fake, ids, refusal)),
    };
    let tenant = caller.tenant;
    let refused = match api_access::faults_and_limits(fake, tenant, endpoint, &ErrorStyle::Graph(ids.clone())).await {
        Some(instead) => Some(ids.stamp(instead)),
        None if !caller.has_any_of(endpoint.any_of) => Some(forbidden(ids, endpoint, &caller.roles)),
        None => None,
    };
    match refused {
        Some(response) => Err(with_log_detail(response, Some(tenant.to_string()), None)),
        None => Ok(tenant),
    }
}

/// `GET /v1.0/security/incidents`, with `$top` (at most 50, Graph's page size) and `$skip`.
pub async fn incidents(State(fake): State<SharedFake>, headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Response {
    let ids = GraphRequestIds::of(&headers);
    let tenant = match admit(&fake, &headers, &INCIDENTS, &ids).await {
        Ok(tenant) => tenant,
        Err(response) => return response,
    };
    let top = query.get("$top").and_then(|v| v.parse::<usize>().ok()).unwrap_or(50).clamp(1, 50);
    let skip = query.get("$skip").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    let all = sample_incidents(tenant);
    let page: Vec<Value> = all.iter().skip(skip).take(top).cloned().collect();
    let mut body = json!({ "@odata.context": format!("{}/v1.0/$metadata#security/incidents", fake.public_url), "value": page });
    if skip + top < all.len() {
        body["@odata.nextLink"] = json!(format!("{}/v1.0/security/incidents?$top={top}&$skip={}", fake.public_url, skip + top));
    }
    with_log_detail(ok(&ids, body), Some(tenant.to_string()), None)
}

/// `POST /v1.0/security/runHuntingQuery` `{"Query": "…", "Timespan"?: "…"}`.
pub async fn run_hunting_query(State(fake): State<SharedFake>, headers: HeaderMap, body: String) -> Response {
    let ids = GraphRequestIds::of(&headers);
    let tenant = match admit(&fake, &headers, &HUNTING, &ids).await {
        Ok(tenant) => tenant,
        Err(response) => return response,
    };
    let query = serde_json::from_str::<Value>(&body).ok().and_then(|request| {
        let query = request.get("Query").or_else(|| request.get("query"))?.as_str()?.trim().to_owned();
        (!query.is_empty()).then_some(query)
    });
    let response = match query {
        None => ErrorStyle::Graph(ids.clone()).error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The request body must be a JSON object with a non-empty Query.",
        ),
        Some(_) => ok(&ids, hunting_results(&fake, tenant)),
    };
    with_log_detail(response, Some(tenant.to_string()), None)
}

/// A few incidents, the same for a tenant every time, in Graph's shape.
fn sample_incidents(tenant: TenantId) -> Vec<Value> {
    let seed = tenant.as_uuid().as_u128() % 900 + 100;
    let incidents = [
        ("Multi-stage incident involving Initial access & Execution", "high"),
        ("Suspicious sign-in activity", "medium"),
        ("Malware detected on one endpoint", "low"),
    ];
    incidents
        .iter()
        .enumerate()
        .map(|(i, (name, severity))| {
            let id = (seed as usize * 10 + i).to_string();
            json!({
                "id": id,
                "tenantId": tenant.to_string(),
                "status": "active",
                "incidentWebUrl": format!("https://security.microsoft.com/incidents/{id}?tid={tenant}"),
                "redirectIncidentId": null,
                "displayName": name,
                "createdDateTime": format!("2026-11-{:02}T08:{:02}:00Z", 10 + i, 15 + i),
                "lastUpdateDateTime": format!("2026-11-{:02}T09:{:02}:00Z", 10 + i, 15 + i),
                "assignedTo": null,
                "classification": "unknown",
                "determination": "unknown",
                "severity": severity,
                "customTags": [],
                "systemTags": [],
                "description": null,
                "summary": null,
                "comments": [],
            })
        })
        .collect()
}

/// A hunting query's answer: the columns, then the rows.
fn hunting_results(fake: &SharedFake, tenant: TenantId) -> Value {
    let seed = tenant.as_uuid().as_u128() % 900 + 100;
    json!({
        "@odata.context": format!("{}/v1.0/$metadata#microsoft.graph.security.huntingQueryResults", fake.public_url),
        "schema": [
            { "name": "Timestamp", "type": "DateTime" },
            { "name": "DeviceName", "type": "String" },
            { "name": "ActionType", "type": "String" },
        ],
        "results": [
            { "Timestamp": "2026-11-10T08:15:00Z", "DeviceName": format!("desktop-{seed}0.example"), "ActionType": "ProcessCreated" },
            { "Timestamp": "2026-11-10T08:16:00Z", "DeviceName": format!("desktop-{seed}1.example"), "ActionType": "ConnectionSuccess" },
        ],
    })
}

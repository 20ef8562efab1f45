//! The fake Defender XDR API: `GET /api/incidents`. Takes only tokens this fake signed for the
//! Defender XDR API (`https://api.security.microsoft.com` or its application id) carrying
//! `Incident.Read.All` or `Incident.ReadWrite.All`; limits each tenant to 50 calls a minute (429 with
//! `Retry-After`); answers with the shapes and errors Microsoft's API uses.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::api_access::{self, Endpoint, ErrorStyle, Refusal};
use crate::apis::DEFENDER_API;
use crate::{SharedFake, TenantId, with_log_detail};

const INCIDENTS: Endpoint = Endpoint {
    api: DEFENDER_API,
    name: "defender incidents",
    calls_per_minute: 50,
    any_of: &["Incident.ReadWrite.All", "Incident.Read.All"],
};

/// The 401 of the Defender APIs (Defender for Endpoint's too).
pub fn unauthorized(refusal: Refusal) -> Response {
    let message = match refusal {
        Refusal::Missing => "Authorization header is missing or is not a Bearer token.",
        Refusal::Malformed(message) | Refusal::Signature(message) => message,
        Refusal::Audience => "The token is not valid: InvalidAudience.",
        Refusal::Expired => "The token is not valid: ExpiredSignature.",
    };
    ErrorStyle::Defender.error(StatusCode::UNAUTHORIZED, "Unauthorized", message)
}

/// The 403 of the Defender APIs: "The application does not have any of the required application
/// permissions (…) to access the resource."
pub fn forbidden(endpoint: &Endpoint) -> Response {
    let message = format!(
        "The application does not have any of the required application permissions ({}) to access the resource.",
        endpoint.any_of.join(", ")
    );
    ErrorStyle::Defender.error(StatusCode::FORBIDDEN, "Forbidden", &message)
}

pub async fn incidents(State(fake): State<SharedFake>, headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Response {
    let caller = match api_access::authenticate(&fake, &headers, DEFENDER_API) {
        Ok(caller) => caller,
        Err(refusal) => return unauthorized(refusal),
    };
    let response = match api_access::faults_and_limits(&fake, caller.tenant, &INCIDENTS, &ErrorStyle::Defender).await {
        Some(instead) => instead,
        None if !caller.has_any_of(INCIDENTS.any_of) => forbidden(&INCIDENTS),
        None => {
            let top = query.get("$top").and_then(|v| v.parse::<usize>().ok()).unwrap_or(100).min(100);
            let incidents: Vec<Value> = sample_incidents(caller.tenant).into_iter().take(top).collect();
            Json(json!({ "@odata.context": format!("{}/api/$metadata#Incidents", fake.public_url), "value": incidents })).into_response()
        }
    };
    with_log_detail(response, Some(caller.tenant.to_string()), None)
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

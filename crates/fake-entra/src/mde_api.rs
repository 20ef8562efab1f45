//! The fake Defender for Endpoint API ("WindowsDefenderATP"): `GET /api/alerts`. Takes only tokens this
//! fake signed for Defender for Endpoint (any of its three URIs or its application id) carrying
//! `Alert.Read.All` or `Alert.ReadWrite.All`; limits each tenant to 100 calls a minute, as Microsoft's
//! *List alerts* page states (429 with `Retry-After`); errors as the Defender XDR API's.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::api_access::{self, Endpoint, ErrorStyle};
use crate::apis::MDE_API;
use crate::defender_api::{forbidden, unauthorized};
use crate::{SharedFake, TenantId, with_log_detail};

const ALERTS: Endpoint =
    Endpoint { api: MDE_API, name: "mde alerts", calls_per_minute: 100, any_of: &["Alert.ReadWrite.All", "Alert.Read.All"] };

pub async fn alerts(State(fake): State<SharedFake>, headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Response {
    let caller = match api_access::authenticate(&fake, &headers, MDE_API) {
        Ok(caller) => caller,
        Err(refusal) => return unauthorized(refusal),
    };
    let response = match api_access::faults_and_limits(&fake, caller.tenant, &ALERTS, &ErrorStyle::Defender).await {
        Some(instead) => instead,
        None if !caller.has_any_of(ALERTS.any_of) => forbidden(&ALERTS),
        None => {
            let top = query.get("$top").and_then(|v| v.parse::<usize>().ok()).unwrap_or(10_000).min(10_000);
            let alerts: Vec<Value> = sample_alerts(caller.tenant).into_iter().take(top).collect();
            Json(json!({ "@odata.context": format!("{}/api/$metadata#Alerts", fake.public_url), "value": alerts })).into_response()
        }
    };
    with_log_detail(response, Some(caller.tenant.to_string()), None)
}

/// A few alerts, the same for a tenant every time.
fn sample_alerts(tenant: TenantId) -> Vec<Value> {
    let seed = tenant.as_uuid().as_u128() % 900 + 100;
    let alerts =
        [("Suspicious PowerShell command line", "Medium", "Execution"), ("Possible credential theft activity", "High", "CredentialAccess")];
    alerts
        .iter()
        .enumerate()
        .map(|(i, (title, severity, category))| {
            json!({
                "id": format!("da63{seed}{i:04}_-{seed}{i}"),
                "incidentId": seed as usize * 10 + i,
                "investigationId": null,
                "assignedTo": null,
                "severity": severity,
                "status": "New",
                "classification": null,
                "determination": null,
                "investigationState": "Queued",
                "detectionSource": "WindowsDefenderAtp",
                "category": category,
                "threatFamilyName": null,
                "title": title,
                "description": "Sample alert of the fake identity platform.",
                "alertCreationTime": format!("2026-11-{:02}T08:{:02}:00Z", 10 + i, 20 + i),
                "firstEventTime": format!("2026-11-{:02}T08:{:02}:00Z", 10 + i, 10 + i),
                "lastEventTime": format!("2026-11-{:02}T08:{:02}:00Z", 10 + i, 18 + i),
                "lastUpdateTime": format!("2026-11-{:02}T09:{:02}:00Z", 10 + i, 20 + i),
                "resolvedTime": null,
                "machineId": format!("{seed:x}{i}"),
                "computerDnsName": format!("desktop-{seed}{i}.example"),
                "aadTenantId": tenant.to_string(),
                "comments": [],
            })
        })
        .collect()
}

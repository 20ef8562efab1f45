//! The API probe: one read-only call per API with the app-only token (`Api::probe_path`, e.g. Graph's
//! `GET /v1.0/security/incidents?$top=1`). The token's claims are a diagnostic of what was granted; this
//! call is the proof that the access works — for Microsoft Graph, whose tokens a client cannot verify,
//! the only proof.

use super::EntraClient;
use crate::domain::Api;

/// What the API answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    /// HTTP status; 0 when the API could not be reached.
    pub status: u16,
    pub retry_after_s: Option<u64>,
    /// The API's error code (`Forbidden`, `Unauthorized`…), when it gave one.
    pub error_code: Option<String>,
}

impl EntraClient {
    /// Where `api`'s probe goes: `PORTAL_API_BASE` when set (a test double serving every API), else the
    /// API's own host in the sign-in host's cloud.
    fn probe_url(&self, api: Api) -> String {
        let base = match &self.api_base {
            Some(base) => base.as_str(),
            None => api.resource(self.cloud).unwrap_or_default(),
        };
        format!("{base}{}", api.probe_path())
    }

    pub async fn probe_api(&self, api: Api, token: &str) -> ProbeResult {
        let response = match self.http.get(self.probe_url(api)).bearer_auth(token).send().await {
            Ok(response) => response,
            Err(_) => return ProbeResult { status: 0, retry_after_s: None, error_code: None },
        };
        let status = response.status().as_u16();
        let retry_after_s =
            response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
        let body: Option<serde_json::Value> = response.json().await.ok();
        if status == 200 && body.as_ref().and_then(|b| b.get("value")).is_none_or(|v| !v.is_array()) {
            // A 200 that is not the API's answer (a garbage body) is not a success.
            return ProbeResult { status: 502, retry_after_s, error_code: Some("InvalidResponse".into()) };
        }
        let error_code = body
            .as_ref()
            .and_then(|b| b.pointer("/error/code"))
            .and_then(|c| c.as_str())
            .filter(|c| c.len() <= 40 && c.chars().all(|ch| ch.is_ascii_alphanumeric()))
            .map(str::to_owned);
        ProbeResult { status, retry_after_s, error_code }
    }
}

//! `POST /csp-report`: browsers report Content-Security-Policy violations here. A violation on our own
//! pages is a bug (or an injected script being stopped), so it is logged for the operators.

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/csp-report", post(report))
}

async fn report(body: Bytes) -> StatusCode {
    let Ok(report) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let report = report.get("csp-report").unwrap_or(&report);
    // Only the directive and the origin of what was blocked: the page's own URL can carry an invite
    // token, and a blocked URL's query could carry anything.
    let directive = text_field(report, "violated-directive").or_else(|| text_field(report, "effective-directive"));
    let blocked = text_field(report, "blocked-uri").map(|uri| match url::Url::parse(&uri) {
        Ok(url) => url.origin().ascii_serialization(),
        Err(_) => uri.chars().take(40).collect(),
    });
    tracing::warn!(
        directive = directive.as_deref().unwrap_or("?"),
        blocked = blocked.as_deref().unwrap_or("?"),
        "content security policy violation reported"
    );
    StatusCode::NO_CONTENT
}

fn text_field(report: &Value, name: &str) -> Option<String> {
    report.get(name).and_then(Value::as_str).map(|s| s.chars().take(120).collect())
}

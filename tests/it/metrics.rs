//! `/metrics`: behind its bearer token on the main listener (404 without one configured, 401 with a
//! wrong one), on a separate listener with `PORTAL_METRICS_BIND` (the real binary), and figures that
//! move with what the portal does — scraped through the real router and parsed from the text.

use std::collections::HashMap;

use crate::helpers::*;
use consent_portal::config::MetricsSettings;
use consent_portal::domain::Secret;
use reqwest::StatusCode;

const TOKEN: &str = "a-metrics-token-of-at-least-32-characters-0123";

/// Each sample of the text, by its series (`name{labels}`).
fn parse(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
            (series.to_owned(), value.parse::<f64>().unwrap_or_else(|_| panic!("not a value: {line}")))
        })
        .collect()
}

async fn scrape(url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = http_client().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn figures(app: &TestApp) -> (HashMap<String, f64>, String) {
    let response = scrape(&app.url("/metrics"), Some(TOKEN)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = response.text().await.unwrap();
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    (parse(&text), text)
}

fn value(figures: &HashMap<String, f64>, series: &str) -> f64 {
    *figures.get(series).unwrap_or(&0.0)
}

#[tokio::test]
async fn metrics_ask_for_the_token_and_move_with_a_consent() {
    let off = spawn_app().await;
    assert_eq!(scrape(&off.url("/metrics"), Some(TOKEN)).await.status(), StatusCode::NOT_FOUND, "no token configured: no endpoint");

    let app = spawn_app_configured(|config| {
        config.metrics = MetricsSettings { token: Some(Secret::new(TOKEN)), bind: None };
    })
    .await;
    let missing = scrape(&app.url("/metrics"), None).await;
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_eq!(scrape(&app.url("/metrics"), Some("a-wrong-token-of-at-least-32-characters-0000")).await.status(), StatusCode::UNAUTHORIZED);

    let (before, _) = figures(&app).await;
    assert_eq!(value(&before, r#"portal_tenants{status="verified"}"#), 0.0);
    assert!(before.contains_key(r#"portal_webhook_deliveries{state="failed"}"#));
    assert!(before.contains_key("portal_outbox_oldest_pending_age_seconds"));

    let (_, url) = create_invite(&app, Invite::new("Contoso Metrics")).await;
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    let (status, html, _) = journey(&app.client, &url).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    consent_portal::metrics::set_credential_days_left("client-secret-2026", 12);

    let (after, text) = figures(&app).await;
    assert_eq!(value(&after, r#"portal_tenants{status="verified"}"#), 1.0, "{text}");
    for api in ["graph", "defender"] {
        let series = format!(r#"portal_checks_total{{api="{api}",outcome="verified"}}"#);
        assert!(value(&after, &series) > value(&before, &series), "{series} moved: {text}");
    }
    let tokens = r#"portal_token_request_duration_seconds_count{grant_type="client_credentials"}"#;
    assert!(value(&after, tokens) > value(&before, tokens), "{text}");
    // The staff's "tenant connected" e-mail waits in the outbox (no worker runs in this test).
    assert!(value(&after, r#"portal_emails{state="queued"}"#) >= 1.0, "{text}");
    assert_eq!(value(&after, r#"portal_credential_days_left{credential="client-secret-2026"}"#), 12.0);
    let landing = r#"portal_http_requests_total{method="GET",route="/onboard/{token}",status="200"}"#;
    assert!(value(&after, landing) >= 1.0, "requests are counted by route pattern: {text}");
    // No tenant id, customer name or raw path in any label.
    assert!(!text.contains(fake_entra::demo::DEMO_CONTOSO) && !text.contains("Contoso"), "{text}");
    assert!(!text.contains(url.rsplit('/').next().unwrap()), "no invite token");
}

/// The real binary serves `/metrics` on `PORTAL_METRICS_BIND`, and not on its main listener without
/// a token; with one, the main listener asks for it.
#[tokio::test]
async fn a_separate_listener_serves_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics_port) = (free_port(), free_port());
    let metrics_bind = format!("127.0.0.1:{metrics_port}");
    let portal = start_binary(dir.path(), port, &[("PORTAL_METRICS_BIND", metrics_bind.as_str())]);
    let separate = scrape(&format!("http://{metrics_bind}/metrics"), None).await;
    assert_eq!(separate.status(), StatusCode::OK);
    let text = separate.text().await.unwrap();
    assert!(parse(&text).contains_key(r#"portal_tenants{status="verified"}"#), "{text}");
    assert_eq!(scrape(&format!("http://{metrics_bind}/tenants"), None).await.status(), StatusCode::NOT_FOUND, "/metrics alone");
    assert_eq!(scrape(&format!("http://127.0.0.1:{port}/metrics"), None).await.status(), StatusCode::NOT_FOUND);
    drop(portal);

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _portal = start_binary(dir.path(), port, &[("PORTAL_METRICS_TOKEN", TOKEN)]);
    assert_eq!(scrape(&format!("http://127.0.0.1:{port}/metrics"), None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(scrape(&format!("http://127.0.0.1:{port}/metrics"), Some(TOKEN)).await.status(), StatusCode::OK);
}

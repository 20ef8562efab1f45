//! The built-in fake Microsoft: one on 127.0.0.1:0, and its control API.

use fake_entra::server::{self, FakeServer};
use fake_entra::{FakeEntra, demo};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::net::TcpListener;

use super::{Portal, http_client};

/// Starts the built-in fake on 127.0.0.1:0 (plain http) with the demo directory, whose app registers
/// the redirect URIs of a portal at `portal_url`.
pub async fn spawn_fake(portal_url: &str) -> FakeServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let directory = demo::default_directory(portal_url);
    let fake = tokio::task::spawn_blocking(move || FakeEntra::new(&url, directory)).await.unwrap().unwrap();
    server::start(listener, fake, None)
}

/// Sets the fake's auto mode: `upn` signs in without a page, `consent` answers consent pages.
pub async fn set_auto(portal: &impl Portal, upn: Option<&str>, consent: Option<&str>) {
    let auto = serde_json::json!({"upn": upn, "consent": consent});
    let response = http_client().put(portal.fake_url("/_fake/auto")).json(&auto).send().await.unwrap();
    assert_eq!(response.status(), 204);
}

/// When the fake at `fake_url` was asked for an app-only token (client credentials) of `tenant`.
pub async fn token_requests(fake_url: &str, tenant: &str) -> Vec<OffsetDateTime> {
    let log: Value = http_client().get(format!("{fake_url}/_fake/log")).send().await.unwrap().json().await.unwrap();
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["tenant"] == tenant && e["grant_type"] == "client_credentials")
        .map(|e| OffsetDateTime::parse(e["at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap())
        .collect()
}

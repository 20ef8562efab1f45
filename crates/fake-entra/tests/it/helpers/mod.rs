//! Test helpers: the fake on 127.0.0.1:0 over real HTTP, and a browser-like client.
#![allow(dead_code)]

use std::time::Duration;

use fake_entra::FakeEntra;
use fake_entra::server::{self, FakeServer};
use tokio::net::TcpListener;

/// A client like a browser's, but one that shows redirects instead of following them.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Starts the fake on 127.0.0.1:0 (plain http) with the demo directory, whose app registers the
/// redirect URIs of a portal at `portal_url`.
pub async fn spawn_fake(portal_url: &str) -> FakeServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let directory = fake_entra::demo::default_directory(portal_url);
    let fake = tokio::task::spawn_blocking(move || FakeEntra::new(&url, directory)).await.unwrap().unwrap();
    server::start(listener, fake, None)
}

//! Test helpers: the fake on 127.0.0.1:0 over real HTTP, a browser-like client, certificates, and what
//! a test needs beyond Rust (`tools`).

mod tools;

pub use tools::*;

use std::time::Duration;

use fake_entra::FakeEntra;
use fake_entra::server::{self, FakeServer};
use rsa::RsaPrivateKey;
use rsa::pkcs8::EncodePrivateKey;
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

/// A new 2048-bit RSA key and a self-signed certificate of it (what a partner registers on its app),
/// naming `common_name` as its subject when given.
pub fn certificate(common_name: Option<&str>) -> (RsaPrivateKey, rcgen::Certificate) {
    let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let pkcs8 = key.to_pkcs8_der().unwrap();
    let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8.as_bytes().into(), &rcgen::PKCS_RSA_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    if let Some(name) = common_name {
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
    }
    (key, params.self_signed(&key_pair).unwrap())
}

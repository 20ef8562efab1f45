//! Fidelity bar for the built-in fake: an independent client, not our own. Microsoft's MSAL for Python
//! acquires client-credentials tokens from the fake over TLS (with a secret and with a certificate) for
//! the Defender XDR API, Microsoft Graph and the Defender for Endpoint API, and PyJWT's PyJWKClient
//! verifies them against the fake's JWKS: the Defender tokens verify, the Graph token (signed over its
//! hashed nonce, as Microsoft's) does not. `.ci/run` installs the Python packages;
//! without them the test is skipped, saying so (in CI it fails).

use std::process::Command;

use crate::helpers::{certificate, python_with, require};
use fake_entra::FakeEntra;
use fake_entra::demo::{DEMO_CLIENT_ID, DEMO_CONTOSO};
use fake_entra::server;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use tokio::net::TcpListener;

const DEFENDER: &str = "https://api.security.microsoft.com";
const GRAPH: &str = "https://graph.microsoft.com";
const MDE: &str = "https://api.securitycenter.microsoft.com";

/// What the app requests and the tenant granted, per API.
fn permissions() -> serde_json::Value {
    serde_json::json!({
        "graph": ["SecurityIncident.Read.All", "ThreatHunting.Read.All"],
        "defender": ["Incident.Read.All", "AdvancedHunting.Read.All"],
        "mde": ["Alert.Read.All", "Machine.Read.All"],
    })
}

/// A certificate and its RSA key, as PEM: what a partner registers on the app and keeps.
fn certificate_and_key() -> (String, String) {
    let (private, certificate) = certificate(Some("partner app certificate"));
    (certificate.pem(), private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn msal_python_gets_defender_graph_and_mde_tokens_with_the_roles_of_each_api() {
    let python = python_with(&["msal", "jwt", "cryptography"], "pip install msal pyjwt cryptography, as .ci/run does");
    let Some(python) = require(python) else { return };

    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().join("tls");
    // The fake over https with a new self-signed CA, as `fake-entra --tls-self-signed DIR` serves it.
    let tls = server::tls_self_signed(&tls_dir).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public_url = format!("https://{}", listener.local_addr().unwrap());
    let directory = fake_entra::demo::default_directory("http://127.0.0.1:8080");
    let fake = tokio::task::spawn_blocking(move || FakeEntra::new(&public_url, directory)).await.unwrap().unwrap();
    let fake = server::start(listener, fake, Some(tls));
    let url = fake.url.clone();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let ca = tls_dir.join("ca.pem");
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap())
        .build()
        .unwrap();

    // A second app, with a secret and a certificate, consented in Contoso.
    let (certificate_pem, key_pem) = certificate_and_key();
    let client_id = uuid::Uuid::new_v4().to_string();
    let secret = "msal-fidelity-secret";
    let created = client
        .post(format!("{url}/_fake/apps"))
        .json(&serde_json::json!({
            "client_id": client_id, "secret": secret, "certificate_pem": certificate_pem,
            "redirect_uris": [], "permissions": permissions(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let granted = client
        .put(format!("{url}/_fake/tenants/{DEMO_CONTOSO}/grants/{client_id}"))
        .json(&serde_json::json!({ "permissions": permissions() }))
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 204);
    assert_ne!(client_id, DEMO_CLIENT_ID);

    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, &certificate_pem).unwrap();
    std::fs::write(&key_path, &key_pem).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fidelity/msal_client.py");
    let output = tokio::task::spawn_blocking({
        let (url, ca, client_id) = (url.clone(), ca.clone(), client_id.clone());
        move || {
            Command::new(&python)
                .arg(script)
                .args(["--authority", &url, "--tenant", DEMO_CONTOSO, "--client-id", &client_id, "--secret", secret])
                .arg("--cert")
                .arg(&cert_path)
                .arg("--key")
                .arg(&key_path)
                .arg("--ca")
                .arg(&ca)
                .args(["--resource", DEFENDER, "--resource", GRAPH, "--resource", MDE])
                // MSAL's HTTP goes through requests, which prefers this variable over everything else.
                .env("REQUESTS_CA_BUNDLE", &ca)
                .env("SSL_CERT_FILE", &ca)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "MSAL failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();

    for (resource, roles, pyjwt) in [
        (DEFENDER, permissions()["defender"].clone(), "verified"),
        (MDE, permissions()["mde"].clone(), "verified"),
        // PyJWT checks the signature over the header as received; Graph's covers the hashed nonce.
        (GRAPH, permissions()["graph"].clone(), "InvalidSignatureError"),
    ] {
        for (form, acr) in [("secret", "1"), ("certificate_sha1", "2"), ("certificate", "2")] {
            let token = &result["tokens"][resource][form];
            let claims = &token["claims"];
            assert_eq!(claims["aud"], resource, "{resource} {form}: {token}");
            assert_eq!(claims["tid"], DEMO_CONTOSO, "{resource} {form}");
            assert_eq!(claims["appid"], client_id.as_str(), "{resource} {form}");
            assert_eq!(claims["appidacr"], acr, "{resource} {form}");
            assert_eq!(claims["ver"], "1.0", "{resource} {form}");
            assert_eq!(claims["roles"], roles, "{resource} {form}: only the roles of its API");
            assert_eq!(token["header"]["alg"], "RS256", "{resource} {form}");
            assert!(token["header"]["kid"].is_string() && token["header"]["x5t"].is_string(), "{resource} {form}: {token}");
            assert_eq!(token["header"]["nonce"].is_string(), resource == GRAPH, "{resource} {form}: {token}");
            assert_eq!(token["pyjwt"], pyjwt, "{resource} {form}: {token}");
        }
    }
}

//! The `fake-entra` subcommand of the binary: it refuses a non-loopback address unless told otherwise,
//! and serves https with a self-signed CA it writes for clients to trust. (The fake itself is tested in
//! its own crate, crates/fake-entra.)

use std::io::BufRead;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::helpers::{ChildGuard, command_in, http_client};
use fake_entra::demo::DEMO_CONTOSO;
use reqwest::StatusCode;
use serde_json::Value;

#[test]
fn fake_entra_refuses_a_non_loopback_bind_without_allow_remote() {
    let dir = tempfile::tempdir().unwrap();
    let output = command_in(dir.path()).args(["fake-entra", "--bind", "0.0.0.0:0"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--allow-remote"), "{stderr}");
}

#[tokio::test]
async fn fake_entra_serves_https_with_a_self_signed_ca() {
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().join("tls");
    let mut command = command_in(dir.path());
    command.args(["fake-entra", "--bind", "127.0.0.1:0", "--tls-self-signed"]).arg(&tls_dir).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = ChildGuard(command.spawn().unwrap());
    let stdout = child.0.stdout.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let prefix = "fake identity platform and Defender API at ";
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let line = received.recv_timeout(remaining).expect("the fake prints its URL");
        if let Some(url) = line.strip_prefix(prefix) {
            break url.trim().to_owned();
        }
    };
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    let ca = std::fs::read(tls_dir.join("ca.pem")).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .tls_built_in_root_certs(false)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let response = client.get(format!("{url}/{DEMO_CONTOSO}/v2.0/.well-known/openid-configuration")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["issuer"], format!("{url}/{DEMO_CONTOSO}/v2.0"));
    assert_eq!(doc["token_endpoint"], format!("{url}/{DEMO_CONTOSO}/oauth2/v2.0/token"));
    // Plain http is not served on that port.
    assert!(
        http_client()
            .get(format!("{}/{DEMO_CONTOSO}/v2.0/.well-known/openid-configuration", url.replace("https", "http")))
            .send()
            .await
            .is_err()
    );
}

//! Fidelity bar for the built-in fake, with clients partners actually use and this project did not
//! write, each against the fake over TLS:
//!
//! - azure-identity's `ClientSecretCredential` and `CertificateCredential`, two token requests each with
//!   the same credential object (the certificate credential sends its client assertion twice);
//! - Authlib, OpenID Connect with PKCE in the fake's auto mode, the ID token validated strictly against
//!   the discovery document's `jwks_uri`, then the `offline_access` refresh token redeemed;
//! - the token code of Microsoft's page *Partner access through Microsoft Defender XDR APIs*: its Python
//!   snippet (urllib, v1 `resource=`) and its `curl` line (v2 `scope=`), for every resource URI the page
//!   uses. `tests/fidelity/partner_page_token.py` and `partner_page_curl.txt` are the page's text,
//!   unchanged; the test fills in what the page asks the reader to paste (tenant, client id, secret;
//!   cmd.exe's `%VAR%`s), points the host at the fake, and names each resource URI in turn;
//! - PyJWT, verifying a Microsoft Graph token against the JWKS: it fails as received (the signature
//!   covers the hashed nonce, as Microsoft's Graph tokens' do) and holds with the nonce hashed, while a
//!   Defender XDR token verifies as received.
//!
//! A test whose program is missing skips with one line saying what to install, unless `CI` is set: then
//! it fails. `.ci/run` installs everything.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::helpers::{Missing, certificate, python_with, require};
use fake_entra::FakeEntra;
use fake_entra::demo::DEMO_CONTOSO;
use fake_entra::server::{self, FakeServer};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Every resource URI of Microsoft's partner page (and the older Defender for Endpoint name it has used).
const PARTNER_PAGE_RESOURCES: [&str; 4] = [
    "https://api.securitycenter.microsoft.com",
    "https://api.securitycenter.windows.com",
    "https://securitycenter.onmicrosoft.com/windowsatpservice",
    "https://api.security.microsoft.com",
];
const ROLES: [&str; 2] = ["Incident.Read.All", "AdvancedHunting.Read.All"];
const SECRET: &str = "fidelity-secret-7Qx2";
const REDIRECT_URI: &str = "http://localhost/fidelity/callback";

/// Whether `check` runs and succeeds; when not, the test skips (or fails in CI) through `require`.
fn available(what: &str, install: &str, check: &mut Command) -> bool {
    let works = check.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|status| status.success());
    let found = if works { Ok(()) } else { Err(Missing { needs: what.to_owned(), install: install.to_owned() }) };
    require(found).is_some()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity").join(name)
}

/// The fake over https with a new CA, an app with a secret, a certificate and a redirect URI, consented
/// in Contoso.
struct TlsFake {
    server: FakeServer,
    dir: tempfile::TempDir,
    client_id: String,
    /// The app's certificate and private key in one PEM file, as azure-identity reads them.
    cert_and_key: PathBuf,
    http: reqwest::Client,
}

impl TlsFake {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tls = server::tls_self_signed(&dir.path().join("tls")).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let public_url = format!("https://{}", listener.local_addr().unwrap());
        let directory = fake_entra::demo::default_directory("http://127.0.0.1:8080");
        let fake = tokio::task::spawn_blocking(move || FakeEntra::new(&public_url, directory)).await.unwrap().unwrap();
        let server = server::start(listener, fake, Some(tls));
        let ca = std::fs::read(dir.path().join("tls/ca.pem")).unwrap();
        let http = reqwest::Client::builder().add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap()).build().unwrap();

        let (certificate_pem, key_pem) = tokio::task::spawn_blocking(certificate_and_key).await.unwrap();
        let cert_and_key = dir.path().join("app-cert-and-key.pem");
        std::fs::write(&cert_and_key, format!("{certificate_pem}{key_pem}")).unwrap();
        let client_id = uuid::Uuid::new_v4().to_string();
        let fake = Self { server, dir, client_id, cert_and_key, http };
        let app = json!({
            "client_id": fake.client_id, "secret": SECRET, "certificate_pem": certificate_pem,
            "redirect_uris": [REDIRECT_URI], "roles": ROLES,
        });
        fake.control(reqwest::Method::POST, "/_fake/apps", app, 201).await;
        let grant = format!("/_fake/tenants/{DEMO_CONTOSO}/grants/{}", fake.client_id);
        fake.control(reqwest::Method::PUT, &grant, json!({ "roles": ROLES }), 204).await;
        fake
    }

    fn url(&self) -> &str {
        &self.server.url
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("tls/ca.pem")
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Value, status: u16) {
        let response = self.http.request(method, format!("{}{path}", self.url())).json(&body).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}: {}", response.text().await.unwrap());
    }

    /// The client-credentials requests the fake answered, per status.
    async fn token_requests(&self) -> Vec<u16> {
        let log: Value = self.http.get(format!("{}/_fake/log", self.url())).send().await.unwrap().json().await.unwrap();
        let entries = log.as_array().unwrap();
        entries.iter().filter(|e| e["grant_type"] == "client_credentials").map(|e| e["status"].as_u64().unwrap() as u16).collect()
    }

    /// Runs a program with the fake's CA trusted the way Python's requests and OpenSSL look for it.
    async fn run(&self, mut command: Command) -> Output {
        command.env("REQUESTS_CA_BUNDLE", self.ca()).env("SSL_CERT_FILE", self.ca()).env("CURL_CA_BUNDLE", self.ca());
        tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap()
    }
}

/// A certificate and its RSA key, as PEM: what a partner registers on the app and keeps.
fn certificate_and_key() -> (String, String) {
    let (private, certificate) = certificate(Some("partner app certificate"));
    (certificate.pem(), private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string())
}

fn succeeded(what: &str, output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{what}: {e}: {}", String::from_utf8_lossy(&output.stdout)))
}

/// The payload of a JWT, decoded without checking anything.
fn claims_of(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// `text` with `from` replaced by `to`, which must occur exactly once (so that a changed fixture
/// fails loudly instead of running Microsoft's host).
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} in {text}");
    text.replacen(from, to, 1)
}

#[tokio::test(flavor = "multi_thread")]
async fn azure_identity_gets_two_tokens_per_credential_secret_and_certificate() {
    let modules: Vec<&str> = "azure.identity, jwt, cryptography".split(", ").collect();
    let Some(python) = require(python_with(&modules, "pip install azure-identity pyjwt[crypto] cryptography")) else { return };
    let fake = TlsFake::start().await;
    let resources = [PARTNER_PAGE_RESOURCES[3], PARTNER_PAGE_RESOURCES[0]];
    let mut command = Command::new(&python);
    command
        .arg(fixture("azure_identity_client.py"))
        .args(["--authority", fake.url(), "--tenant", DEMO_CONTOSO, "--client-id", &fake.client_id, "--secret", SECRET])
        .arg("--cert-and-key")
        .arg(&fake.cert_and_key)
        .arg("--ca")
        .arg(fake.ca());
    for resource in resources {
        command.args(["--resource", resource]);
    }
    let result = succeeded("azure-identity", &fake.run(command).await);
    for (credential, acr) in [("secret", "1"), ("certificate", "2")] {
        let tokens = result[credential].as_array().unwrap();
        assert_eq!(tokens.len(), 2, "{credential}: {result}");
        for (claims, resource) in tokens.iter().zip(resources) {
            assert_eq!(claims["aud"], resource, "{credential}");
            assert_eq!(claims["tid"], DEMO_CONTOSO, "{credential}");
            assert_eq!(claims["appid"], fake.client_id.as_str(), "{credential}");
            assert_eq!(claims["appidacr"], acr, "{credential}");
        }
        assert_eq!(tokens[0]["roles"], json!(ROLES), "{credential}: the Defender XDR token carries the granted roles");
    }
    // Four requests reached the token endpoint (none answered from a cache), all answered 200.
    assert_eq!(fake.token_requests().await, [200, 200, 200, 200]);
}

#[tokio::test(flavor = "multi_thread")]
async fn authlib_signs_in_with_pkce_and_validates_the_id_token_strictly() {
    let modules: Vec<&str> = "authlib, requests".split(", ").collect();
    let Some(python) = require(python_with(&modules, "pip install authlib requests")) else { return };
    let fake = TlsFake::start().await;
    fake.control(reqwest::Method::PUT, "/_fake/auto", json!({ "upn": "megan@contoso.example", "consent": null }), 204).await;
    let discovery = format!("{}/{DEMO_CONTOSO}/v2.0/.well-known/openid-configuration", fake.url());
    let mut command = Command::new(&python);
    command.arg(fixture("authlib_client.py")).args([
        "--discovery",
        &discovery,
        "--client-id",
        &fake.client_id,
        "--secret",
        SECRET,
        "--redirect-uri",
        REDIRECT_URI,
    ]);
    let result = succeeded("Authlib", &fake.run(command).await);
    assert_eq!(result["redirect_status"], 302);
    let claims = &result["id_token"];
    assert_eq!(claims["iss"], format!("{}/{DEMO_CONTOSO}/v2.0", fake.url()));
    assert_eq!(claims["aud"], fake.client_id.as_str());
    assert_eq!(claims["tid"], DEMO_CONTOSO);
    assert_eq!(claims["preferred_username"], "megan@contoso.example");
    assert!(claims["nonce"].is_string() && claims["sid"].is_string(), "{claims}");
    let refreshed = &result["refreshed_id_token"];
    assert_eq!(refreshed["oid"], claims["oid"]);
    assert_eq!(refreshed["sid"], claims["sid"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_partner_pages_python_snippet_gets_a_token_for_every_resource_it_names() {
    let modules: Vec<&str> = "urllib.request, json".split(", ").collect();
    let Some(python) = require(python_with(&modules, "install python3")) else { return };
    let fake = TlsFake::start().await;
    let snippet = std::fs::read_to_string(fixture("partner_page_token.py")).unwrap();
    for resource in PARTNER_PAGE_RESOURCES {
        // What the page asks the reader to paste, and the fake's host for Microsoft's.
        let mut script = replace_once(&snippet, "tenantId = ''", &format!("tenantId = '{DEMO_CONTOSO}'"));
        script = replace_once(&script, "clientId = ''", &format!("clientId = '{}'", fake.client_id));
        script = replace_once(&script, "appSecret = ''", &format!("appSecret = '{SECRET}'"));
        script = replace_once(&script, "https://login.windows.net", fake.url());
        script =
            replace_once(&script, "resourceAppIdUri = 'https://api.security.microsoft.com'", &format!("resourceAppIdUri = '{resource}'"));
        script.push_str("\nprint(json.dumps({'token': aadToken, 'response': jsonResponse}))\n");
        let mut command = Command::new(&python);
        command.args(["-c", &script]);
        let result = succeeded("the partner page's Python snippet", &fake.run(command).await);
        let claims = claims_of(result["token"].as_str().unwrap());
        assert_eq!(claims["aud"], resource, "the token is for the resource asked for");
        assert_eq!(claims["tid"], DEMO_CONTOSO);
        assert_eq!(result["response"]["resource"], resource, "v1 answers name the resource");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_partner_pages_curl_line_gets_a_token_for_every_resource_it_names() {
    if !available("curl", "apt-get install curl", Command::new("curl").arg("--version")) {
        return;
    }
    let fake = TlsFake::start().await;
    let line = std::fs::read_to_string(fixture("partner_page_curl.txt")).unwrap();
    let line = line.trim();
    for resource in PARTNER_PAGE_RESOURCES {
        // cmd.exe expands the page's %VARIABLES% from what the reader `set`; here, the same values.
        let mut command_line = replace_once(line, "%CLIENT_ID%", &fake.client_id);
        command_line = replace_once(&command_line, "%CLIENT_SECRET%", SECRET);
        command_line = replace_once(&command_line, "%TENANT_ID%", DEMO_CONTOSO);
        command_line = replace_once(&command_line, "https://login.microsoftonline.com", fake.url());
        command_line =
            replace_once(&command_line, "scope=https://securitycenter.onmicrosoft.com/windowsatpservice/", &format!("scope={resource}/"));
        let mut command = Command::new("sh");
        command.args(["-c", &command_line]);
        let output = fake.run(command).await;
        assert!(output.status.success(), "curl failed: {}", String::from_utf8_lossy(&output.stderr));
        // `-i`: the status line and headers, an empty line, the body.
        let answer = String::from_utf8(output.stdout).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("{answer}"));
        assert!(head.starts_with("HTTP/") && head.lines().next().unwrap().contains(" 200"), "{head}");
        let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!(body["token_type"], "Bearer");
        let claims = claims_of(body["access_token"].as_str().unwrap());
        assert_eq!(claims["aud"], resource, "the token is for the resource asked for");
        assert_eq!(claims["tid"], DEMO_CONTOSO);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pyjwt_refuses_a_graph_token_as_received_and_verifies_a_defender_token() {
    let Some(python) = require(python_with(&["jwt", "cryptography"], "pip install pyjwt[crypto] cryptography")) else { return };
    let fake = TlsFake::start().await;
    let grant = format!("/_fake/tenants/{DEMO_CONTOSO}/grants/{}", fake.client_id);
    let permissions = json!({"graph": ["SecurityIncident.Read.All"], "defender": ROLES});
    fake.control(reqwest::Method::PUT, &grant, json!({ "permissions": permissions }), 204).await;
    let mut command = Command::new(&python);
    command
        .arg(fixture("pyjwt_verify.py"))
        .args(["--jwks-uri", &format!("{}/{DEMO_CONTOSO}/discovery/v2.0/keys", fake.url())])
        .args(["--issuer", &format!("https://sts.windows.net/{DEMO_CONTOSO}/")])
        .arg("--ca")
        .arg(fake.ca());
    for resource in ["https://graph.microsoft.com", "https://api.security.microsoft.com"] {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", fake.client_id.as_str()),
            ("client_secret", SECRET),
            ("scope", &format!("{resource}/.default")),
        ];
        let response = fake.http.post(format!("{}/{DEMO_CONTOSO}/oauth2/v2.0/token", fake.url())).form(&form).send().await.unwrap();
        assert_eq!(response.status(), 200, "{resource}");
        let body: Value = response.json().await.unwrap();
        command.args(["--token", body["access_token"].as_str().unwrap(), "--audience", resource]);
    }
    let result = succeeded("PyJWT", &fake.run(command).await);
    // The Graph token fails as received, as Microsoft's do, and holds once its nonce is hashed.
    assert_eq!(result[0], json!({"as_received": "InvalidSignatureError", "nonce_hashed": "verified"}), "{result}");
    assert_eq!(result[1], json!({"as_received": "verified", "nonce_hashed": "no nonce"}), "{result}");
}

//! The built-in fake of Entra ID and of the Defender XDR API, over real HTTP: discovery and keys,
//! OpenID Connect sign-in, client credentials (secret and certificate), every AADSTS error Microsoft
//! documents for these endpoints, admin consent (v2) and the v1 seed link, the Defender API, injected
//! faults, the control API and the page at `/`. (The portal's tests cover its `fake-entra` subcommand.)

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::helpers::*;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use fake_entra::demo::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_CONTOSO, DEMO_NORTHWIND, DEMO_PARTNER_TENANT_ID, DEMO_TAILSPIN, DEMO_WOODGROVE,
};
use fake_entra::server::FakeServer;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use sha2::Digest;

const PORTAL: &str = "https://portal.example";
const RESOURCE: &str = "https://api.security.microsoft.com";
const SCOPE: &str = "https://api.security.microsoft.com/.default";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The roles the demo app requests (the portal's default required roles).
const DEMO_ROLES: [&str; 2] = ["Incident.Read.All", "AdvancedHunting.Read.All"];

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

fn auth_callback() -> String {
    format!("{PORTAL}/auth/callback")
}

fn consent_callback() -> String {
    format!("{PORTAL}/consent/callback")
}

/// A fake of its own, with a browser-like client that does not follow redirects.
struct Fake {
    server: FakeServer,
    client: reqwest::Client,
}

impl Fake {
    async fn start() -> Self {
        Self { server: spawn_fake(PORTAL).await, client: http_client() }
    }

    fn base(&self) -> &str {
        &self.server.url
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.url, path)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    /// A control-API call; `body` is sent as JSON.
    async fn control(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    async fn expect(&self, method: Method, path: &str, body: Option<Value>, status: StatusCode) {
        let response = self.control(method.clone(), path, body).await;
        let got = response.status();
        assert_eq!(got, status, "{method} {path}: {}", response.text().await.unwrap_or_default());
    }

    async fn set_auto(&self, upn: Option<&str>, consent: Option<&str>) {
        self.expect(Method::PUT, "/_fake/auto", Some(json!({ "upn": upn, "consent": consent })), StatusCode::NO_CONTENT).await;
    }

    async fn grant(&self, tid: &str, client_id: &str, roles: &[&str]) {
        let path = format!("/_fake/tenants/{tid}/grants/{client_id}");
        self.expect(Method::PUT, &path, Some(json!({ "roles": roles })), StatusCode::NO_CONTENT).await;
    }

    /// A grant of these permissions per API, e.g. `{"graph": [..], "defender": [..]}`.
    async fn grant_permissions(&self, tid: &str, client_id: &str, permissions: Value) {
        let path = format!("/_fake/tenants/{tid}/grants/{client_id}");
        self.expect(Method::PUT, &path, Some(json!({ "permissions": permissions })), StatusCode::NO_CONTENT).await;
    }

    /// client_credentials on v2 with the demo app's secret for `{resource}/.default`.
    async fn app_token_for(&self, tenant: &str, resource: &str) -> reqwest::Response {
        let scope = format!("{resource}/.default");
        let form =
            [("grant_type", "client_credentials"), ("client_id", DEMO_CLIENT_ID), ("client_secret", DEMO_CLIENT_SECRET), ("scope", &scope)];
        self.token_request(&format!("/{tenant}/oauth2/v2.0/token"), &form).await
    }

    /// A v2 app-only access token of the demo app in `tenant` for `resource`, which must succeed.
    async fn access_token_for(&self, tenant: &str, resource: &str) -> String {
        let response = self.app_token_for(tenant, resource).await;
        assert_eq!(response.status(), StatusCode::OK, "a token for {resource} in {tenant}");
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A call to an API of the fake with this bearer token (`body`: a JSON POST).
    async fn call_api(&self, path: &str, token: Option<&str>, body: Option<Value>) -> reqwest::Response {
        let mut request = match &body {
            Some(body) => self.client.post(self.url(path)).json(body),
            None => self.client.get(self.url(path)),
        };
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    async fn set_faults(&self, tid: &str, faults: Value) {
        self.expect(Method::PUT, &format!("/_fake/tenants/{tid}/faults"), Some(faults), StatusCode::NO_CONTENT).await;
    }

    async fn clear_faults(&self, tid: &str) {
        self.expect(Method::DELETE, &format!("/_fake/tenants/{tid}/faults"), None, StatusCode::NO_CONTENT).await;
    }

    /// A form POST to a token endpoint (`path` such as `/{tenant}/oauth2/v2.0/token`).
    async fn token_request(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client.post(self.url(path)).form(form).send().await.unwrap()
    }

    /// client_credentials on v2 with the demo app's secret.
    async fn app_token_v2(&self, tenant: &str) -> reqwest::Response {
        let form =
            [("grant_type", "client_credentials"), ("client_id", DEMO_CLIENT_ID), ("client_secret", DEMO_CLIENT_SECRET), ("scope", SCOPE)];
        self.token_request(&format!("/{tenant}/oauth2/v2.0/token"), &form).await
    }

    /// client_credentials on v1 with the demo app's secret.
    async fn app_token_v1(&self, tenant: &str) -> reqwest::Response {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("resource", RESOURCE),
        ];
        self.token_request(&format!("/{tenant}/oauth2/token"), &form).await
    }

    /// A v2 app-only access token of the demo app in `tenant`, which must succeed.
    async fn access_token(&self, tenant: &str) -> String {
        let response = self.app_token_v2(tenant).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Verifies an RS256 token against the JWKS at `jwks_path`, with this audience and issuer.
    async fn verify(&self, jwt: &str, jwks_path: &str, audience: &str, issuer: &str) -> Value {
        let jwks = self.get_json(jwks_path).await;
        let header = jsonwebtoken::decode_header(jwt).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        let kid = header.kid.expect("the token names its key");
        assert_eq!(header.x5t.as_deref(), Some(kid.as_str()), "x5t = kid, as Microsoft's");
        let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str()).expect("the kid is published");
        let key = DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap()).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[audience]);
        validation.set_issuer(&[issuer]);
        jsonwebtoken::decode::<Value>(jwt, &key, &validation).unwrap().claims
    }

    async fn incidents(&self, token: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(self.url("/api/incidents?$top=1"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// `GET /{tenant}/v2.0/adminconsent` for the demo app.
    async fn admin_consent(&self, tenant: &str, redirect_uri: &str, scope: Option<&str>, state: &str) -> reqwest::Response {
        let mut params = vec![("client_id", DEMO_CLIENT_ID), ("redirect_uri", redirect_uri), ("state", state)];
        if let Some(scope) = scope {
            params.push(("scope", scope));
        }
        let url = url::Url::parse_with_params(&self.url(&format!("/{tenant}/v2.0/adminconsent")), &params).unwrap();
        self.client.get(url).send().await.unwrap()
    }

    /// `GET /{tenant}/oauth2/v2.0/authorize` for the demo app, with PKCE S256 and a nonce.
    async fn authorize_v2(&self, tenant: &str, challenge: &str, nonce: &str, state: &str) -> reqwest::Response {
        let redirect_uri = auth_callback();
        let params = [
            ("client_id", DEMO_CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", redirect_uri.as_str()),
            ("scope", "openid profile"),
            ("state", state),
            ("nonce", nonce),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ];
        let url = url::Url::parse_with_params(&self.url(&format!("/{tenant}/oauth2/v2.0/authorize")), &params).unwrap();
        self.client.get(url).send().await.unwrap()
    }

    /// The v1 seed link on `/common` (prompt=admin_consent, with a redirect URI and the resource).
    async fn seed_link(&self, state: &str) -> reqwest::Response {
        let redirect_uri = consent_callback();
        let params = [
            ("prompt", "admin_consent"),
            ("response_type", "code"),
            ("client_id", DEMO_CLIENT_ID),
            ("redirect_uri", redirect_uri.as_str()),
            ("state", state),
            ("resource", RESOURCE),
        ];
        let url = url::Url::parse_with_params(&self.url("/common/oauth2/authorize"), &params).unwrap();
        self.client.get(url).send().await.unwrap()
    }

    /// The code of a redirect to `redirect_uri`.
    async fn code_from(&self, response: reqwest::Response, redirect_uri: &str) -> String {
        let location = location(&response);
        assert!(location.starts_with(redirect_uri), "{location}");
        query_of(&location).remove("code").expect("a code")
    }
}

/// The payload of a JWT, decoded without checking anything.
fn decode_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The header of a JWT, as JSON.
fn decode_header_json(jwt: &str) -> Value {
    let header = jwt.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

/// The query parameters of a URL.
fn query_of(location: &str) -> HashMap<String, String> {
    url::Url::parse(location).unwrap().query_pairs().into_owned().collect()
}

/// The `Location` of a redirect (302 or 303).
fn location(response: &reqwest::Response) -> String {
    assert!(
        matches!(response.status(), StatusCode::FOUND | StatusCode::SEE_OTHER),
        "expected a redirect, got {} for {}",
        response.status(),
        response.url()
    );
    response.headers()[header::LOCATION].to_str().unwrap().to_owned()
}

/// A PKCE verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn roles_of(claims: &Value) -> Vec<String> {
    let mut roles: Vec<String> = claims["roles"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_owned()).collect();
    roles.sort();
    roles
}

fn sorted(roles: &[&str]) -> Vec<String> {
    let mut roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    roles.sort();
    roles
}

/// Checks a token-endpoint error answer: status, headers, and every field of Microsoft's body.
async fn assert_aad_error(response: reqwest::Response, status: u16, error: &str, code: u64, host: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status of AADSTS{code}");
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json; charset=utf-8");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store, no-cache");
    assert_eq!(response.headers()[header::PRAGMA], "no-cache");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(description.starts_with(&format!("AADSTS{code}: ")), "{description}");
    assert!(description.contains("\r\nTrace ID: "), "{description}");
    assert!(description.contains("\r\nCorrelation ID: "), "{description}");
    assert!(description.contains("\r\nTimestamp: "), "{description}");
    let trace_id = body["trace_id"].as_str().unwrap();
    let correlation_id = body["correlation_id"].as_str().unwrap();
    uuid::Uuid::parse_str(trace_id).unwrap();
    uuid::Uuid::parse_str(correlation_id).unwrap();
    assert!(description.contains(trace_id) && description.contains(correlation_id), "{description}");
    assert!(!body["timestamp"].as_str().unwrap().is_empty());
    assert_eq!(body["error_uri"], format!("{host}/error?code={code}"));
    body
}

/// Undoes the HTML escaping of an attribute value (askama escapes `&`, `<`, `>`, `"`, `'`).
fn html_unescape(value: &str) -> String {
    value
        .replace("&#60;", "<")
        .replace("&lt;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The value of the first `name="NAME" value="..."` input of an HTML fragment.
fn input_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no input {name} in {html}")) + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html_unescape(&html[start..end])
}

/// The account picker's form for this user: (interaction, user_id).
fn picker_form(html: &str, upn: &str) -> (String, String) {
    let form = html.split("<form").find(|form| form.contains(upn)).unwrap_or_else(|| panic!("{upn} is not offered: {html}"));
    (input_value(form, "interaction"), input_value(form, "user_id"))
}

/// The `href` of the "Back to the application" link of an error page.
fn back_link(html: &str) -> String {
    let link = html.split("<a ").find(|a| a.contains("Back to the application")).unwrap_or_else(|| panic!("no back link: {html}"));
    let start = link.find("href=\"").unwrap() + "href=\"".len();
    let end = link[start..].find('"').unwrap() + start;
    html_unescape(&link[start..end])
}

/// A certificate for client assertions: its PEM, its DER, and the key that signs for it.
struct TestCertificate {
    pem: String,
    der: Vec<u8>,
    key: EncodingKey,
}

impl TestCertificate {
    fn generate() -> Self {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let (private, certificate) = certificate(None);
        let key = EncodingKey::from_rsa_der(private.to_pkcs1_der().unwrap().as_bytes());
        Self { pem: certificate.pem(), der: certificate.der().to_vec(), key }
    }

    fn x5t(&self) -> String {
        URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&self.der))
    }

    fn x5t_s256(&self) -> String {
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&self.der))
    }

    /// A client assertion: RS256 with `x5t`, or PS256 with `x5t#S256`.
    fn assertion(&self, alg: Algorithm, client_id: &str, aud: &str, jti: &str, nbf: i64, exp: i64) -> String {
        let mut header = Header::new(alg);
        match alg {
            Algorithm::PS256 => header.x5t_s256 = Some(self.x5t_s256()),
            _ => header.x5t = Some(self.x5t()),
        }
        let claims = json!({ "aud": aud, "iss": client_id, "sub": client_id, "jti": jti, "nbf": nbf, "iat": nbf, "exp": exp });
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

// ---------------------------------------------------------------------------------------------------
// Discovery and keys
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn discovery_v2_by_tenant_id_domain_and_organizations() {
    let fake = Fake::start().await;
    let host = fake.base().to_owned();
    for segment in [DEMO_CONTOSO, "contoso.example", "CONTOSO.onmicrosoft.com"] {
        let doc = fake.get_json(&format!("/{segment}/v2.0/.well-known/openid-configuration")).await;
        assert_eq!(doc["issuer"], format!("{host}/{DEMO_CONTOSO}/v2.0"), "{segment}: the issuer names the GUID");
        // So do the endpoints, whatever names the tenant in the request, as Microsoft's.
        assert_eq!(doc["authorization_endpoint"], format!("{host}/{DEMO_CONTOSO}/oauth2/v2.0/authorize"), "{segment}");
        assert_eq!(doc["token_endpoint"], format!("{host}/{DEMO_CONTOSO}/oauth2/v2.0/token"), "{segment}");
        assert_eq!(doc["jwks_uri"], format!("{host}/{DEMO_CONTOSO}/discovery/v2.0/keys"), "{segment}");
        assert_eq!(doc["end_session_endpoint"], format!("{host}/{DEMO_CONTOSO}/oauth2/v2.0/logout"), "{segment}");
        assert_eq!(doc["token_endpoint_auth_methods_supported"], json!(["client_secret_post", "private_key_jwt", "client_secret_basic"]));
        assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["RS256"]));
    }
    let doc = fake.get_json("/organizations/v2.0/.well-known/openid-configuration").await;
    assert_eq!(doc["issuer"], format!("{host}/{{tenantid}}/v2.0"));
    assert_eq!(doc["token_endpoint"], format!("{host}/organizations/oauth2/v2.0/token"));
    let doc = fake.get_json("/common/v2.0/.well-known/openid-configuration").await;
    assert_eq!(doc["issuer"], format!("{host}/{{tenantid}}/v2.0"));
}

#[tokio::test]
async fn discovery_v1_by_tenant_id_domain_and_organizations() {
    let fake = Fake::start().await;
    let host = fake.base().to_owned();
    for segment in [DEMO_CONTOSO, "contoso.example"] {
        let doc = fake.get_json(&format!("/{segment}/.well-known/openid-configuration")).await;
        assert_eq!(doc["issuer"], format!("https://sts.windows.net/{DEMO_CONTOSO}/"));
        assert_eq!(doc["authorization_endpoint"], format!("{host}/{DEMO_CONTOSO}/oauth2/authorize"), "{segment}");
        assert_eq!(doc["token_endpoint"], format!("{host}/{DEMO_CONTOSO}/oauth2/token"), "{segment}");
        assert_eq!(doc["jwks_uri"], format!("{host}/{DEMO_CONTOSO}/discovery/keys"), "{segment}");
    }
    let doc = fake.get_json("/organizations/.well-known/openid-configuration").await;
    assert_eq!(doc["issuer"], "https://sts.windows.net/{tenantid}/");
    assert_eq!(doc["token_endpoint"], format!("{host}/organizations/oauth2/token"));
}

#[tokio::test]
async fn discovery_of_an_unknown_or_malformed_tenant_is_an_aadsts_error() {
    let fake = Fake::start().await;
    let host = fake.base().to_owned();
    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("/{unknown}/v2.0/.well-known/openid-configuration"),
        format!("/{unknown}/.well-known/openid-configuration"),
        format!("/{unknown}/discovery/v2.0/keys"),
        "/nosuch.example/v2.0/.well-known/openid-configuration".to_owned(),
    ] {
        let body = assert_aad_error(fake.get(&path).await, 400, "invalid_tenant", 90002, &host).await;
        assert!(body["error_description"].as_str().unwrap().contains("not found"), "{body}");
    }
    for path in ["/not_a_tenant!/v2.0/.well-known/openid-configuration", "/not_a_tenant!/.well-known/openid-configuration"] {
        assert_aad_error(fake.get(path).await, 400, "invalid_request", 900023, &host).await;
    }
}

#[tokio::test]
async fn jwks_v1_and_v2_publish_complete_entries() {
    let fake = Fake::start().await;
    let host = fake.base().to_owned();
    let cases = [
        (format!("/{DEMO_CONTOSO}/discovery/v2.0/keys"), format!("{host}/{DEMO_CONTOSO}/v2.0")),
        ("/organizations/discovery/v2.0/keys".to_owned(), format!("{host}/{{tenantid}}/v2.0")),
        (format!("/{DEMO_CONTOSO}/discovery/keys"), String::new()),
        ("/common/discovery/keys".to_owned(), String::new()),
    ];
    for (path, issuer) in cases {
        let jwks = fake.get_json(&path).await;
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1, "{path}");
        let key = &keys[0];
        for field in ["kty", "use", "kid", "x5t", "n", "e", "issuer"] {
            assert!(key[field].as_str().is_some_and(|v| !v.is_empty()), "{path}: {field} in {key}");
        }
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["kid"], key["x5t"]);
        // x5t is the SHA-1 thumbprint of the certificate in x5c.
        let certificate = STANDARD.decode(key["x5c"][0].as_str().unwrap()).unwrap();
        assert_eq!(key["x5t"], URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&certificate)));
        if !issuer.is_empty() {
            assert_eq!(key["issuer"], issuer);
        }
    }
}

#[tokio::test]
async fn key_rotation_publishes_the_new_key_first_and_keeps_the_old_one() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &["Incident.Read.All"]).await;
    let jwks_path = format!("/{DEMO_CONTOSO}/discovery/keys");
    let before = fake.get_json(&jwks_path).await;
    let old_kid = before["keys"][0]["kid"].as_str().unwrap().to_owned();
    let old_token = fake.access_token(DEMO_CONTOSO).await;

    fake.expect(Method::POST, "/_fake/keys/rotate", None, StatusCode::NO_CONTENT).await;

    for path in [jwks_path.clone(), format!("/{DEMO_CONTOSO}/discovery/v2.0/keys")] {
        let after = fake.get_json(&path).await;
        let kids: Vec<&str> = after["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert_eq!(kids.len(), 2, "{path}: {kids:?}");
        assert_ne!(kids[0], old_kid, "a new key comes first");
        assert_eq!(kids[1], old_kid, "the old key is still published");
    }
    let new_token = fake.access_token(DEMO_CONTOSO).await;
    let new_kid = decode_header_json(&new_token)["kid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid, "new tokens are signed with the new key");
    let issuer = format!("https://sts.windows.net/{DEMO_CONTOSO}/");
    fake.verify(&new_token, &jwks_path, RESOURCE, &issuer).await;
    fake.verify(&old_token, &jwks_path, RESOURCE, &issuer).await;
    // The Defender API still accepts a token signed by the previous key.
    assert_eq!(fake.incidents(Some(&old_token)).await.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------------
// OpenID Connect sign-in
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn openid_connect_sign_in_in_auto_mode_issues_a_signed_id_token() {
    let fake = Fake::start().await;
    let host = fake.base().to_owned();
    fake.set_auto(Some("megan@contoso.example"), None).await;
    let (verifier, challenge) = pkce();
    let response = fake.authorize_v2(DEMO_CONTOSO, &challenge, "nonce-123", "state-abc").await;
    let location = location(&response);
    assert!(location.starts_with(&format!("{}?", auth_callback())), "{location}");
    let query = query_of(&location);
    assert_eq!(query["state"], "state-abc");
    uuid::Uuid::parse_str(&query["session_state"]).unwrap();
    let code = &query["code"];

    let redirect_uri = auth_callback();
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", DEMO_CLIENT_ID),
        ("client_secret", DEMO_CLIENT_SECRET),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", verifier.as_str()),
        ("scope", "openid profile"),
    ];
    let response = fake.token_request(&format!("/{DEMO_CONTOSO}/oauth2/v2.0/token"), &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store, no-cache");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].is_number());
    let id_token = body["id_token"].as_str().unwrap();

    let unverified = decode_claims(id_token);
    let issuer = format!("{host}/{DEMO_CONTOSO}/v2.0");
    let claims = fake.verify(id_token, &format!("/{DEMO_CONTOSO}/discovery/v2.0/keys"), DEMO_CLIENT_ID, &issuer).await;
    assert_eq!(claims, unverified);
    assert_eq!(claims["tid"], DEMO_CONTOSO);
    assert_eq!(claims["aud"], DEMO_CLIENT_ID);
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["nonce"], "nonce-123");
    assert_eq!(claims["preferred_username"], "megan@contoso.example");
    assert_eq!(claims["name"], "Megan Bowen");
    assert_eq!(claims["ver"], "2.0");
    let directory = fake.get_json("/_fake/directory").await;
    let megan = directory["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["users"].as_array().unwrap())
        .find(|u| u["upn"] == "megan@contoso.example")
        .unwrap();
    assert_eq!(claims["oid"], megan["id"]);
    // The Graph access token carries a nonce header: not verifiable by the client.
    assert!(decode_header_json(body["access_token"].as_str().unwrap())["nonce"].is_string());
}

#[tokio::test]
async fn openid_connect_through_organizations_names_the_users_tenant() {
    let fake = Fake::start().await;
    fake.set_auto(Some("lee@northwind.example"), None).await;
    let (verifier, challenge) = pkce();
    let response = fake.authorize_v2("organizations", &challenge, "n", "s").await;
    let code = fake.code_from(response, &auth_callback()).await;
    let redirect_uri = auth_callback();
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", DEMO_CLIENT_ID),
        ("client_secret", DEMO_CLIENT_SECRET),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let response = fake.token_request("/organizations/oauth2/v2.0/token", &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let claims = decode_claims(body["id_token"].as_str().unwrap());
    assert_eq!(claims["tid"], DEMO_NORTHWIND);
    assert_eq!(claims["iss"], format!("{}/{DEMO_NORTHWIND}/v2.0", fake.base()));
}

#[tokio::test]
async fn a_wrong_pkce_verifier_and_a_second_redemption_are_invalid_grant() {
    let fake = Fake::start().await;
    let host = fake.base().to_owned();
    fake.set_auto(Some("megan@contoso.example"), None).await;
    let redirect_uri = auth_callback();
    let token_path = format!("/{DEMO_CONTOSO}/oauth2/v2.0/token");
    let redeem = |code: String, verifier: String| {
        let redirect_uri = redirect_uri.clone();
        let fake = &fake;
        let token_path = token_path.clone();
        async move {
            let form = [
                ("grant_type", "authorization_code"),
                ("client_id", DEMO_CLIENT_ID),
                ("client_secret", DEMO_CLIENT_SECRET),
                ("code", code.as_str()),
                ("redirect_uri", redirect_uri.as_str()),
                ("code_verifier", verifier.as_str()),
            ];
            fake.token_request(&token_path, &form).await
        }
    };

    let (_, challenge) = pkce();
    let code = fake.code_from(fake.authorize_v2(DEMO_CONTOSO, &challenge, "n", "s").await, &auth_callback()).await;
    let (other_verifier, _) = pkce();
    let body = assert_aad_error(redeem(code, other_verifier).await, 400, "invalid_grant", 50148, &host).await;
    assert!(body["error_description"].as_str().unwrap().contains("code_verifier"));

    let (verifier, challenge) = pkce();
    let code = fake.code_from(fake.authorize_v2(DEMO_CONTOSO, &challenge, "n", "s").await, &auth_callback()).await;
    assert_eq!(redeem(code.clone(), verifier.clone()).await.status(), StatusCode::OK);
    assert_aad_error(redeem(code, verifier).await, 400, "invalid_grant", 54005, &host).await;
}

#[tokio::test]
async fn the_interactive_sign_in_page_lists_users_and_returns_a_code() {
    let fake = Fake::start().await;
    let (verifier, challenge) = pkce();
    let response = fake.authorize_v2(DEMO_CONTOSO, &challenge, "nonce-ui", "state-ui").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains("megan@contoso.example") && html.contains("adele@contoso.example"), "{html}");
    assert!(!html.contains("lee@northwind.example"), "only the tenant's users are offered");
    let (interaction, user_id) = picker_form(&html, "adele@contoso.example");

    let response = fake
        .client
        .post(fake.url("/_fake/ui/login"))
        .form(&[("interaction", interaction.as_str()), ("user_id", user_id.as_str())])
        .send()
        .await
        .unwrap();
    let location = location(&response);
    assert!(location.starts_with(&auth_callback()), "{location}");
    let query = query_of(&location);
    assert_eq!(query["state"], "state-ui");
    let redirect_uri = auth_callback();
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", DEMO_CLIENT_ID),
        ("client_secret", DEMO_CLIENT_SECRET),
        ("code", query["code"].as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let response = fake.token_request(&format!("/{DEMO_CONTOSO}/oauth2/v2.0/token"), &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let claims = decode_claims(body["id_token"].as_str().unwrap());
    assert_eq!(claims["preferred_username"], "adele@contoso.example");
    assert_eq!(claims["oid"], user_id);
    assert_eq!(claims["nonce"], "nonce-ui");
}

#[tokio::test]
async fn offline_access_gives_a_refresh_token_that_redeems_and_id_tokens_carry_sid() {
    let fake = Fake::start().await;
    let host = fake.base().to_owned();
    fake.set_auto(Some("megan@contoso.example"), None).await;
    let redirect_uri = auth_callback();
    let token_path = format!("/{DEMO_CONTOSO}/oauth2/v2.0/token");
    let jwks_path = format!("/{DEMO_CONTOSO}/discovery/v2.0/keys");
    let issuer = format!("{host}/{DEMO_CONTOSO}/v2.0");
    let sign_in = |scope: &'static str| {
        let (fake, redirect_uri, token_path) = (&fake, redirect_uri.clone(), token_path.clone());
        async move {
            let (verifier, challenge) = pkce();
            let params = [
                ("client_id", DEMO_CLIENT_ID),
                ("response_type", "code"),
                ("redirect_uri", redirect_uri.as_str()),
                ("scope", scope),
                ("state", "s"),
                ("nonce", "n-1"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ];
            let url = url::Url::parse_with_params(&fake.url(&format!("/{DEMO_CONTOSO}/oauth2/v2.0/authorize")), &params).unwrap();
            let response = fake.client.get(url).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::FOUND, "Microsoft redirects with 302");
            let query = query_of(&location(&response));
            let form = [
                ("grant_type", "authorization_code"),
                ("client_id", DEMO_CLIENT_ID),
                ("client_secret", DEMO_CLIENT_SECRET),
                ("code", query["code"].as_str()),
                ("redirect_uri", redirect_uri.as_str()),
                ("code_verifier", verifier.as_str()),
            ];
            let response = fake.token_request(&token_path, &form).await;
            assert_eq!(response.status(), StatusCode::OK);
            (query, response.json::<Value>().await.unwrap())
        }
    };

    // Without offline_access: no refresh token.
    let (_, body) = sign_in("openid profile").await;
    assert!(body.get("refresh_token").is_none(), "{body}");

    let (query, body) = sign_in("openid profile offline_access").await;
    let refresh_token = body["refresh_token"].as_str().expect("a refresh token with offline_access").to_owned();
    let claims = fake.verify(body["id_token"].as_str().unwrap(), &jwks_path, DEMO_CLIENT_ID, &issuer).await;
    let sid = claims["sid"].as_str().expect("the ID token names its session").to_owned();
    uuid::Uuid::parse_str(&sid).unwrap();
    assert_eq!(query["session_state"], sid, "the redirect's session_state is the session's id");
    assert_eq!(claims["nonce"], "n-1");

    // The refresh token redeems (the client authenticates), more than once, for the same user and session.
    for _ in 0..2 {
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("refresh_token", refresh_token.as_str()),
            ("scope", "openid profile offline_access"),
        ];
        let response = fake.token_request(&token_path, &form).await;
        assert_eq!(response.status(), StatusCode::OK);
        let refreshed: Value = response.json().await.unwrap();
        assert!(refreshed["refresh_token"].is_string() && refreshed["access_token"].is_string(), "{refreshed}");
        let claims = fake.verify(refreshed["id_token"].as_str().unwrap(), &jwks_path, DEMO_CLIENT_ID, &issuer).await;
        assert_eq!(claims["preferred_username"], "megan@contoso.example");
        assert_eq!(claims["sid"], sid.as_str());
        assert!(claims.get("nonce").is_none(), "a refreshed ID token answers no authorize request: {claims}");
    }
    // Without the client's secret, with another client, or a made-up token: refused.
    let form = [("grant_type", "refresh_token"), ("client_id", DEMO_CLIENT_ID), ("refresh_token", refresh_token.as_str())];
    assert_aad_error(fake.token_request(&token_path, &form).await, 401, "invalid_client", 7000218, &host).await;
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", "00000000-1111-2222-3333-444444444444"),
        ("client_secret", "x"),
        ("refresh_token", refresh_token.as_str()),
    ];
    assert_aad_error(fake.token_request(&token_path, &form).await, 400, "invalid_grant", 70000, &host).await;
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", DEMO_CLIENT_ID),
        ("client_secret", DEMO_CLIENT_SECRET),
        ("refresh_token", "1.made-up"),
    ];
    assert_aad_error(fake.token_request(&token_path, &form).await, 400, "invalid_grant", 9002313, &host).await;
}

#[tokio::test]
async fn sign_ins_in_one_browser_session_share_its_sid() {
    let fake = Fake::start().await;
    let host = fake.base().to_owned();
    let redirect_uri = auth_callback();
    let mut sids = Vec::new();
    for _ in 0..2 {
        let (verifier, challenge) = pkce();
        let response = fake.authorize_v2(DEMO_CONTOSO, &challenge, "n", "s").await;
        let html = response.text().await.unwrap();
        let (interaction, user_id) = picker_form(&html, "adele@contoso.example");
        let response = fake
            .client
            .post(fake.url("/_fake/ui/login"))
            .form(&[("interaction", interaction.as_str()), ("user_id", user_id.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        let query = query_of(&location(&response));
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("code", query["code"].as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
        ];
        let body: Value = fake.token_request(&format!("/{DEMO_CONTOSO}/oauth2/v2.0/token"), &form).await.json().await.unwrap();
        let claims = fake
            .verify(
                body["id_token"].as_str().unwrap(),
                &format!("/{DEMO_CONTOSO}/discovery/v2.0/keys"),
                DEMO_CLIENT_ID,
                &format!("{host}/{DEMO_CONTOSO}/v2.0"),
            )
            .await;
        assert_eq!(claims["sid"], query["session_state"].as_str());
        sids.push(claims["sid"].as_str().unwrap().to_owned());
    }
    // Each pick of an account on the page starts a new session.
    assert_ne!(sids[0], sids[1]);
}

// ---------------------------------------------------------------------------------------------------
// Client credentials
// ---------------------------------------------------------------------------------------------------

fn assert_token_headers(response: &reqwest::Response) {
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store, no-cache");
    assert_eq!(response.headers()[header::PRAGMA], "no-cache");
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json; charset=utf-8");
}

#[tokio::test]
async fn client_credentials_v2_answers_microsofts_shape_and_claims() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    let response = fake.app_token_v2(DEMO_CONTOSO).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_token_headers(&response);
    let body: Value = response.json().await.unwrap();
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["access_token", "expires_in", "ext_expires_in", "token_type"]);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], json!(3599));
    assert_eq!(body["ext_expires_in"], json!(3599));

    let token = body["access_token"].as_str().unwrap();
    let header = decode_header_json(token);
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["alg"], "RS256");
    let issuer = format!("https://sts.windows.net/{DEMO_CONTOSO}/");
    let claims = fake.verify(token, &format!("/{DEMO_CONTOSO}/discovery/keys"), RESOURCE, &issuer).await;
    assert_eq!(claims["aud"], RESOURCE);
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["appid"], DEMO_CLIENT_ID);
    assert_eq!(claims["appidacr"], "1");
    assert_eq!(claims["tid"], DEMO_CONTOSO);
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(roles_of(&claims), sorted(&DEMO_ROLES));
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!((3599..=5400).contains(&lifetime), "{lifetime}");
    for claim in ["aio", "app_displayname", "idp", "oid", "sub", "rh", "uti", "nbf"] {
        assert!(!claims[claim].is_null(), "{claim} in {claims}");
    }
}

#[tokio::test]
async fn client_credentials_v1_answers_strings_with_expires_on_and_resource() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &["Incident.Read.All"]).await;
    let response = fake.app_token_v1("contoso.example").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_token_headers(&response);
    let body: Value = response.json().await.unwrap();
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["access_token", "expires_in", "expires_on", "ext_expires_in", "not_before", "resource", "token_type"]);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], "3599");
    assert_eq!(body["ext_expires_in"], "3599");
    assert_eq!(body["resource"], RESOURCE);
    let expires_on: i64 = body["expires_on"].as_str().unwrap().parse().unwrap();
    let not_before: i64 = body["not_before"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_on - not_before, 3599);
    assert!((not_before - now()).abs() < 60);
    let claims = decode_claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["tid"], DEMO_CONTOSO);
    assert_eq!(claims["roles"], json!(["Incident.Read.All"]));
}

#[tokio::test]
async fn client_credentials_accept_the_secret_over_http_basic() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &["Incident.Read.All"]).await;
    let response = fake
        .client
        .post(fake.url(&format!("/{DEMO_CONTOSO}/oauth2/v2.0/token")))
        .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", SCOPE), ("x-client-SKU", "MSAL.Python"), ("client-request-id", "abc")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let claims = decode_claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["appid"], DEMO_CLIENT_ID);
    assert_eq!(claims["appidacr"], "1");

    let response = fake
        .client
        .post(fake.url(&format!("/{DEMO_CONTOSO}/oauth2/v2.0/token")))
        .basic_auth(DEMO_CLIENT_ID, Some("not-the-secret"))
        .form(&[("grant_type", "client_credentials"), ("scope", SCOPE)])
        .send()
        .await
        .unwrap();
    assert_aad_error(response, 401, "invalid_client", 7000215, fake.base()).await;
}

#[tokio::test]
async fn an_app_only_token_without_granted_roles_has_no_roles_claim() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &[]).await;
    let token = fake.access_token(DEMO_CONTOSO).await;
    let claims = decode_claims(&token);
    assert_eq!(claims["tid"], DEMO_CONTOSO);
    assert!(claims.get("roles").is_none(), "{claims}");
}

#[tokio::test]
async fn certificate_credentials_rs256_and_ps256_and_refusals() {
    let certificate = tokio::task::spawn_blocking(TestCertificate::generate).await.unwrap();
    let stranger = tokio::task::spawn_blocking(TestCertificate::generate).await.unwrap();
    let fake = Fake::start().await;
    let host = fake.base().to_owned();
    let client_id = uuid::Uuid::new_v4().to_string();
    let app = json!({
        "client_id": client_id,
        "certificate_pem": certificate.pem,
        "redirect_uris": [],
        "roles": ["Incident.Read.All"],
    });
    fake.expect(Method::POST, "/_fake/apps", Some(app), StatusCode::CREATED).await;
    fake.grant(DEMO_CONTOSO, &client_id, &["Incident.Read.All"]).await;

    let token_path = format!("/{DEMO_CONTOSO}/oauth2/v2.0/token");
    let aud = format!("{host}/{DEMO_CONTOSO}/oauth2/v2.0/token");
    let request = |assertion: String| {
        let client_id = client_id.clone();
        let token_path = token_path.clone();
        let fake = &fake;
        async move {
            let form = [
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("scope", SCOPE),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion.as_str()),
            ];
            fake.token_request(&token_path, &form).await
        }
    };
    let t = now();
    for alg in [Algorithm::RS256, Algorithm::PS256] {
        let assertion = certificate.assertion(alg, &client_id, &aud, &uuid::Uuid::new_v4().to_string(), t, t + 600);
        let response = request(assertion).await;
        assert_eq!(response.status(), StatusCode::OK, "{alg:?}: {}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        let claims = fake
            .verify(
                body["access_token"].as_str().unwrap(),
                &format!("/{DEMO_CONTOSO}/discovery/keys"),
                RESOURCE,
                &format!("https://sts.windows.net/{DEMO_CONTOSO}/"),
            )
            .await;
        assert_eq!(claims["appid"], client_id);
        assert_eq!(claims["appidacr"], "2");
        assert_eq!(claims["roles"], json!(["Incident.Read.All"]));
    }

    // Another tenant's token endpoint as audience.
    let wrong_aud = format!("{host}/{DEMO_NORTHWIND}/oauth2/v2.0/token");
    let assertion = certificate.assertion(Algorithm::RS256, &client_id, &wrong_aud, &uuid::Uuid::new_v4().to_string(), t, t + 600);
    assert_aad_error(request(assertion).await, 401, "invalid_client", 50013, &host).await;
    // Expired long ago (beyond any clock skew).
    let assertion = certificate.assertion(Algorithm::PS256, &client_id, &aud, &uuid::Uuid::new_v4().to_string(), t - 7200, t - 3600);
    assert_aad_error(request(assertion).await, 401, "invalid_client", 700024, &host).await;
    // Signed with a certificate that is not registered on the app.
    let assertion = stranger.assertion(Algorithm::RS256, &client_id, &aud, &uuid::Uuid::new_v4().to_string(), t, t + 600);
    assert_aad_error(request(assertion).await, 401, "invalid_client", 700027, &host).await;
    // iss/sub of another client.
    let mut header = Header::new(Algorithm::RS256);
    header.x5t = Some(certificate.x5t());
    let claims = json!({"aud": aud, "iss": DEMO_CLIENT_ID, "sub": DEMO_CLIENT_ID, "jti": uuid::Uuid::new_v4().to_string(), "nbf": t, "exp": t + 600});
    let assertion = jsonwebtoken::encode(&header, &claims, &certificate.key).unwrap();
    assert_aad_error(request(assertion).await, 401, "invalid_client", 700021, &host).await;
}

#[tokio::test]
async fn a_client_assertion_is_accepted_again_until_its_exp() {
    // Microsoft's certificate-credentials document: `exp` "allows the assertion to be used until then";
    // MSAL and azure-identity send one assertion for minutes.
    let certificate = tokio::task::spawn_blocking(TestCertificate::generate).await.unwrap();
    let fake = Fake::start().await;
    let host = fake.base().to_owned();
    let client_id = uuid::Uuid::new_v4().to_string();
    let app = json!({"client_id": client_id, "certificate_pem": certificate.pem, "redirect_uris": [], "roles": ["Incident.Read.All"]});
    fake.expect(Method::POST, "/_fake/apps", Some(app), StatusCode::CREATED).await;
    fake.grant(DEMO_CONTOSO, &client_id, &["Incident.Read.All"]).await;
    let t = now();
    let request = |assertion: String, path: String| {
        let client_id = client_id.clone();
        let fake = &fake;
        async move {
            let form = [
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("scope", SCOPE),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion.as_str()),
            ];
            fake.token_request(&path, &form).await
        }
    };
    let aud = format!("{host}/{DEMO_CONTOSO}/oauth2/v2.0/token");
    let assertion = certificate.assertion(Algorithm::PS256, &client_id, &aud, &uuid::Uuid::new_v4().to_string(), t, t + 600);
    for attempt in 1..=3 {
        let response = request(assertion.clone(), format!("/{DEMO_CONTOSO}/oauth2/v2.0/token")).await;
        assert_eq!(response.status(), StatusCode::OK, "use {attempt}: {}", response.text().await.unwrap());
    }
    // After its exp (beyond the clock skew) the same kind of assertion is refused: 700024.
    let expired = certificate.assertion(Algorithm::PS256, &client_id, &aud, &uuid::Uuid::new_v4().to_string(), t - 1200, t - 600);
    for _ in 0..2 {
        let response = request(expired.clone(), format!("/{DEMO_CONTOSO}/oauth2/v2.0/token")).await;
        assert_aad_error(response, 401, "invalid_client", 700024, &host).await;
    }
}

// ---------------------------------------------------------------------------------------------------
// The token endpoint's errors (Microsoft's AADSTS codes)
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn token_for_an_unknown_tenant_is_90002_and_a_malformed_one_900023() {
    let fake = Fake::start().await;
    let host = fake.base().to_owned();
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_aad_error(fake.app_token_v2(&unknown).await, 400, "invalid_tenant", 90002, &host).await;
    assert_aad_error(fake.app_token_v1(&unknown).await, 400, "invalid_tenant", 90002, &host).await;
    assert_aad_error(fake.app_token_v2("nosuch.example").await, 400, "invalid_tenant", 90002, &host).await;
    assert_aad_error(fake.app_token_v2("not_a_tenant!").await, 400, "invalid_request", 900023, &host).await;
    assert_aad_error(fake.app_token_v1("not_a_tenant!").await, 400, "invalid_request", 900023, &host).await;
}

#[tokio::test]
async fn a_deleted_service_principal_is_7000229() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    assert_eq!(fake.app_token_v2(DEMO_CONTOSO).await.status(), StatusCode::OK);
    let path = format!("/_fake/tenants/{DEMO_CONTOSO}/grants/{DEMO_CLIENT_ID}");
    fake.expect(Method::DELETE, &path, None, StatusCode::NO_CONTENT).await;
    let body = assert_aad_error(fake.app_token_v2(DEMO_CONTOSO).await, 400, "invalid_client", 7000229, fake.base()).await;
    assert!(body["error_description"].as_str().unwrap().contains(DEMO_CONTOSO));
    assert_aad_error(fake.app_token_v1(DEMO_CONTOSO).await, 400, "invalid_client", 7000229, fake.base()).await;
    // A new consent brings it back.
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    assert_eq!(fake.app_token_v2(DEMO_CONTOSO).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_app_never_consented_in_the_tenant_is_700016() {
    let fake = Fake::start().await;
    let body = assert_aad_error(fake.app_token_v2(DEMO_NORTHWIND).await, 400, "unauthorized_client", 700016, fake.base()).await;
    assert!(body["error_description"].as_str().unwrap().contains(DEMO_CLIENT_ID));
    // An app registered nowhere: the same.
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "00000000-1111-2222-3333-444444444444"),
        ("client_secret", "x"),
        ("scope", SCOPE),
    ];
    let response = fake.token_request(&format!("/{DEMO_CONTOSO}/oauth2/v2.0/token"), &form).await;
    assert_aad_error(response, 400, "unauthorized_client", 700016, fake.base()).await;
}

#[tokio::test]
async fn a_wrong_secret_is_7000215_and_a_missing_one_7000218() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    let path = format!("/{DEMO_CONTOSO}/oauth2/v2.0/token");
    let form = [("grant_type", "client_credentials"), ("client_id", DEMO_CLIENT_ID), ("client_secret", "wrong"), ("scope", SCOPE)];
    assert_aad_error(fake.token_request(&path, &form).await, 401, "invalid_client", 7000215, fake.base()).await;
    let form = [("grant_type", "client_credentials"), ("client_id", DEMO_CLIENT_ID), ("scope", SCOPE)];
    assert_aad_error(fake.token_request(&path, &form).await, 401, "invalid_client", 7000218, fake.base()).await;
}

#[tokio::test]
async fn an_expired_secret_is_7000222() {
    let fake = Fake::start().await;
    let client_id = uuid::Uuid::new_v4().to_string();
    let app = json!({
        "client_id": client_id,
        "secret": "old-secret",
        "secret_expires_at": "2020-01-01T00:00:00Z",
        "redirect_uris": [],
        "roles": ["Incident.Read.All"],
    });
    fake.expect(Method::POST, "/_fake/apps", Some(app), StatusCode::CREATED).await;
    fake.grant(DEMO_CONTOSO, &client_id, &["Incident.Read.All"]).await;
    let form = [("grant_type", "client_credentials"), ("client_id", client_id.as_str()), ("client_secret", "old-secret"), ("scope", SCOPE)];
    let response = fake.token_request(&format!("/{DEMO_CONTOSO}/oauth2/v2.0/token"), &form).await;
    assert_aad_error(response, 401, "invalid_client", 7000222, fake.base()).await;
}

#[tokio::test]
async fn a_disabled_service_principal_is_7000112() {
    let fake = Fake::start().await;
    let path = format!("/_fake/tenants/{DEMO_CONTOSO}/grants/{DEMO_CLIENT_ID}");
    fake.expect(Method::PUT, &path, Some(json!({"roles": DEMO_ROLES, "enabled": false})), StatusCode::NO_CONTENT).await;
    assert_aad_error(fake.app_token_v2(DEMO_CONTOSO).await, 400, "unauthorized_client", 7000112, fake.base()).await;
}

#[tokio::test]
async fn defender_not_provisioned_is_500011() {
    let fake = Fake::start().await;
    fake.grant(DEMO_TAILSPIN, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    let body = assert_aad_error(fake.app_token_v2(DEMO_TAILSPIN).await, 400, "invalid_resource", 500011, fake.base()).await;
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!(
            "AADSTS500011: The resource principal named {RESOURCE} was not found in the tenant named {DEMO_TAILSPIN}."
        )),
        "the resource as asked and the tenant's GUID: {description}"
    );
    assert_aad_error(fake.app_token_v1(DEMO_TAILSPIN).await, 400, "invalid_resource", 500011, fake.base()).await;
}

#[tokio::test]
async fn an_unknown_resource_is_500011_naming_it_and_the_tenant_guid() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    let unknown = "https://nosuch.example/api";
    let scope = format!("{unknown}/.default");
    let v2 =
        [("grant_type", "client_credentials"), ("client_id", DEMO_CLIENT_ID), ("client_secret", DEMO_CLIENT_SECRET), ("scope", &scope)];
    let v1 =
        [("grant_type", "client_credentials"), ("client_id", DEMO_CLIENT_ID), ("client_secret", DEMO_CLIENT_SECRET), ("resource", unknown)];
    for response in [
        fake.token_request(&format!("/{DEMO_CONTOSO}/oauth2/v2.0/token"), &v2).await,
        fake.token_request("/contoso.example/oauth2/token", &v1).await,
    ] {
        let body = assert_aad_error(response, 400, "invalid_resource", 500011, fake.base()).await;
        let description = body["error_description"].as_str().unwrap();
        assert!(
            description.starts_with(&format!(
                "AADSTS500011: The resource principal named {unknown} was not found in the tenant named {DEMO_CONTOSO}."
            )),
            "{description}"
        );
    }
}

#[tokio::test]
async fn an_app_only_tokens_aud_is_the_resource_exactly_as_asked() {
    let fake = Fake::start().await;
    let permissions = json!({"defender": ["Incident.Read.All"], "mde": ["Alert.Read.All"]});
    fake.grant_permissions(DEMO_CONTOSO, DEMO_CLIENT_ID, permissions).await;
    let asked = [
        "https://api.security.microsoft.com",
        "https://api.security.microsoft.com/",
        "8ee8fdad-f234-4243-8f3b-15c294843740",
        "https://api.securitycenter.microsoft.com",
        "https://api.securitycenter.windows.com",
        "https://securitycenter.onmicrosoft.com/windowsatpservice",
        "https://securitycenter.onmicrosoft.com/windowsatpservice/",
        "fc780465-2017-40d4-a0c5-307022471b92",
    ];
    let issuer = format!("https://sts.windows.net/{DEMO_CONTOSO}/");
    for resource in asked {
        let scope = format!("{resource}/.default");
        let v2 =
            [("grant_type", "client_credentials"), ("client_id", DEMO_CLIENT_ID), ("client_secret", DEMO_CLIENT_SECRET), ("scope", &scope)];
        let v1 = [
            ("grant_type", "client_credentials"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("resource", resource),
        ];
        for (path, form) in [(format!("/{DEMO_CONTOSO}/oauth2/v2.0/token"), &v2[..]), (format!("/{DEMO_CONTOSO}/oauth2/token"), &v1[..])] {
            let response = fake.token_request(&path, form).await;
            assert_eq!(response.status(), StatusCode::OK, "{resource} at {path}");
            let body: Value = response.json().await.unwrap();
            let claims =
                fake.verify(body["access_token"].as_str().unwrap(), &format!("/{DEMO_CONTOSO}/discovery/keys"), resource, &issuer).await;
            assert_eq!(claims["aud"], resource, "{path}");
            if path.ends_with("/oauth2/token") {
                assert_eq!(body["resource"], resource);
            }
            // Each API's token carries the roles granted on that API, and only those.
            let expected = if resource.contains("securitycenter") || resource.starts_with("fc78") {
                json!(["Alert.Read.All"])
            } else {
                json!(["Incident.Read.All"])
            };
            assert_eq!(claims["roles"], expected, "{resource}");
        }
    }
}

#[tokio::test]
async fn a_scope_without_default_is_1002012() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    let path = format!("/{DEMO_CONTOSO}/oauth2/v2.0/token");
    for scope in [RESOURCE, "https://api.security.microsoft.com/Incident.Read.All", "openid profile offline_access"] {
        let form =
            [("grant_type", "client_credentials"), ("client_id", DEMO_CLIENT_ID), ("client_secret", DEMO_CLIENT_SECRET), ("scope", scope)];
        let body = assert_aad_error(fake.token_request(&path, &form).await, 400, "invalid_scope", 1002012, fake.base()).await;
        let description = body["error_description"].as_str().unwrap();
        assert!(
            description.starts_with(&format!(
                "AADSTS1002012: The provided value for scope {scope} is not valid. Client credential flows must have a scope value with \
                 /.default suffixed to the resource identifier (application ID URI).\r\n"
            )),
            "{description}"
        );
    }
    // Two resources at once: Microsoft's documented invalid_scope example.
    let scope = format!("{SCOPE} https://api.securitycenter.microsoft.com/.default");
    let form =
        [("grant_type", "client_credentials"), ("client_id", DEMO_CLIENT_ID), ("client_secret", DEMO_CLIENT_SECRET), ("scope", &scope)];
    let body = assert_aad_error(fake.token_request(&path, &form).await, 400, "invalid_scope", 70011, fake.base()).await;
    assert!(
        body["error_description"].as_str().unwrap().starts_with(&format!(
            "AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
        )),
        "{body}"
    );
}

#[tokio::test]
async fn a_throttled_token_request_is_429_with_retry_after() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    fake.set_faults(DEMO_CONTOSO, json!({"token_status": 429, "retry_after_s": 7})).await;
    let response = fake.app_token_v2(DEMO_CONTOSO).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[header::RETRY_AFTER], "7");
    assert_eq!(response.text().await.unwrap(), "Too Many Requests");
    // The default Retry-After is 60.
    fake.set_faults(DEMO_CONTOSO, json!({"token_status": 429})).await;
    assert_eq!(fake.app_token_v1(DEMO_CONTOSO).await.headers()[header::RETRY_AFTER], "60");
}

#[tokio::test]
async fn client_credentials_on_common_or_organizations_is_refused() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    assert_aad_error(fake.app_token_v2("common").await, 400, "invalid_request", 9001023, fake.base()).await;
    assert_aad_error(fake.app_token_v1("common").await, 400, "invalid_request", 9001023, fake.base()).await;
    // /organizations is not /common: the answer says that no tenant was named, not "use /organizations".
    for response in [fake.app_token_v2("organizations").await, fake.app_token_v1("organizations").await] {
        let body = assert_aad_error(response, 400, "invalid_request", 50059, fake.base()).await;
        let description = body["error_description"].as_str().unwrap();
        assert!(description.starts_with("AADSTS50059: No tenant-identifying information found in either the request"), "{description}");
        assert!(!description.contains("/common"), "{description}");
    }
}

#[tokio::test]
async fn unknown_or_missing_grant_type_is_refused() {
    let fake = Fake::start().await;
    let path = format!("/{DEMO_CONTOSO}/oauth2/v2.0/token");
    let response = fake.token_request(&path, &[("grant_type", "password"), ("client_id", DEMO_CLIENT_ID)]).await;
    assert_aad_error(response, 400, "unsupported_grant_type", 70003, fake.base()).await;
    let response = fake.token_request(&path, &[("client_id", DEMO_CLIENT_ID)]).await;
    assert_aad_error(response, 400, "invalid_request", 900144, fake.base()).await;
}

// ---------------------------------------------------------------------------------------------------
// Admin consent (v2)
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn admin_consent_accepted_redirects_with_the_tenant_and_records_the_grant() {
    let fake = Fake::start().await;
    fake.set_auto(Some("megan@contoso.example"), Some("accept")).await;
    // Before consent, no token.
    assert_eq!(fake.app_token_v2(DEMO_CONTOSO).await.status(), StatusCode::BAD_REQUEST);
    let response = fake.admin_consent(DEMO_CONTOSO, &consent_callback(), Some(SCOPE), "st-1").await;
    let location = location(&response);
    assert!(location.starts_with(&format!("{}?", consent_callback())), "{location}");
    let query = query_of(&location);
    assert_eq!(query["admin_consent"], "True");
    assert_eq!(query["tenant"], DEMO_CONTOSO);
    assert_eq!(query["scope"], SCOPE);
    assert_eq!(query["state"], "st-1");
    assert!(!query.contains_key("error"));
    // admin_consent comes first, as in Microsoft's redirect.
    assert!(location.contains("?admin_consent=True&tenant="), "{location}");

    let claims = decode_claims(&fake.access_token(DEMO_CONTOSO).await);
    assert_eq!(roles_of(&claims), sorted(&DEMO_ROLES));
    let directory = fake.get_json("/_fake/directory").await;
    let contoso = directory["tenants"].as_array().unwrap().iter().find(|t| t["id"] == DEMO_CONTOSO).unwrap();
    assert!(contoso["grants"].as_array().unwrap().iter().any(|g| g["client_id"] == DEMO_CLIENT_ID));
}

#[tokio::test]
async fn admin_consent_through_organizations_or_a_domain_names_the_tenant_guid() {
    let fake = Fake::start().await;
    fake.set_auto(Some("lee@northwind.example"), Some("accept")).await;
    let query = query_of(&location(&fake.admin_consent("organizations", &consent_callback(), Some(SCOPE), "s").await));
    assert_eq!(query["tenant"], DEMO_NORTHWIND);
    fake.set_auto(Some("megan@contoso.example"), Some("accept")).await;
    let query = query_of(&location(&fake.admin_consent("contoso.example", &consent_callback(), Some(SCOPE), "s").await));
    assert_eq!(query["tenant"], DEMO_CONTOSO);
}

/// Checks the v2 admin-consent endpoint's Cancel, as reported of Microsoft's (MicrosoftDocs/azure-docs
/// issue 114009): `error`, `error_description`, `error_uri`, `admin_consent`, `state`, in that order.
fn assert_v2_cancel(location: &str, host: &str, state: &str) {
    let names: Vec<String> = url::Url::parse(location).unwrap().query_pairs().map(|(name, _)| name.into_owned()).collect();
    assert_eq!(names, ["error", "error_description", "error_uri", "admin_consent", "state"], "{location}");
    let query = query_of(location);
    assert_eq!(query["error"], "access_denied");
    assert_eq!(query["error_uri"], format!("{host}/error?code=65004"));
    assert_eq!(query["admin_consent"], "True");
    assert_eq!(query["state"], state);
    let lines: Vec<&str> = query["error_description"].split("\r\n").collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0], "AADSTS65004: User declined to consent to access the app.");
    uuid::Uuid::parse_str(lines[1].strip_prefix("Trace ID: ").unwrap()).unwrap();
    uuid::Uuid::parse_str(lines[2].strip_prefix("Correlation ID: ").unwrap()).unwrap();
    let timestamp = lines[3].strip_prefix("Timestamp: ").unwrap();
    assert!(timestamp.len() == 20 && timestamp.ends_with('Z') && timestamp.as_bytes()[10] == b' ', "{timestamp}");
    assert!(!query.contains_key("error_subcode") && !query.contains_key("tenant"), "{location}");
}

#[tokio::test]
async fn admin_consent_cancelled_and_declined_have_microsofts_shapes() {
    let fake = Fake::start().await;
    fake.set_auto(Some("megan@contoso.example"), Some("cancel")).await;
    let response = fake.admin_consent(DEMO_CONTOSO, &consent_callback(), Some(SCOPE), "st-c").await;
    assert_eq!(response.status(), StatusCode::FOUND, "Microsoft redirects with 302");
    assert_v2_cancel(&location(&response), fake.base(), "st-c");

    fake.set_auto(Some("megan@contoso.example"), Some("decline")).await;
    let location = location(&fake.admin_consent(DEMO_CONTOSO, &consent_callback(), Some(SCOPE), "st-d").await);
    assert!(location.contains("?admin_consent=True&error=consent_required&error_description=AADSTS65004"), "{location}");
    let query = query_of(&location);
    assert_eq!(query["admin_consent"], "True");
    assert_eq!(query["error"], "consent_required");
    assert!(query["error_description"].starts_with("AADSTS65004: The resource owner or authorization server denied the request."));
    assert_eq!(query["state"], "st-d");
    assert!(!query.contains_key("tenant"));
    // Neither recorded a grant.
    assert_aad_error(fake.app_token_v2(DEMO_CONTOSO).await, 400, "unauthorized_client", 700016, fake.base()).await;
}

#[tokio::test]
async fn admin_consent_by_a_non_admin_shows_90093_with_a_way_back() {
    let fake = Fake::start().await;
    fake.set_auto(Some("adele@contoso.example"), Some("accept")).await;
    let response = fake.admin_consent(DEMO_CONTOSO, &consent_callback(), Some(SCOPE), "st-n").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get(header::LOCATION).is_none());
    assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains("AADSTS90093"), "{html}");
    let back = back_link(&html);
    assert!(back.starts_with(&consent_callback()), "{back}");
    let query = query_of(&back);
    assert_eq!(query["error"], "access_denied");
    assert!(query["error_description"].starts_with("AADSTS90093"));
    assert_eq!(query["state"], "st-n");
}

#[tokio::test]
async fn admin_consent_with_an_unregistered_redirect_uri_is_shown_never_redirected() {
    let fake = Fake::start().await;
    fake.set_auto(Some("megan@contoso.example"), Some("accept")).await;
    let response = fake.admin_consent(DEMO_CONTOSO, "https://attacker.example/callback", Some(SCOPE), "s").await;
    assert!(!response.status().is_redirection(), "{}", response.status());
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(header::LOCATION).is_none());
    let html = response.text().await.unwrap();
    assert!(html.contains("AADSTS50011"), "{html}");
    assert!(!html.contains("Back to the application"));
    // Nothing was granted.
    assert_eq!(fake.app_token_v2(DEMO_CONTOSO).await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn admin_consent_by_a_user_of_another_tenant_redirects_with_50020() {
    // As reported of Microsoft's admin-consent endpoint (MicrosoftDocs/azure-docs issue 114009): back to
    // the app with the error, in the shape of its Cancel.
    let fake = Fake::start().await;
    fake.set_auto(Some("lee@northwind.example"), Some("accept")).await;
    let response = fake.admin_consent(DEMO_CONTOSO, &consent_callback(), Some(SCOPE), "s").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = location(&response);
    assert!(location.starts_with(&format!("{}?error=access_denied&error_description=AADSTS50020", consent_callback())), "{location}");
    let query = query_of(&location);
    assert!(query["error_description"].contains("lee@northwind.example") && query["error_description"].contains("\r\nTrace ID: "));
    assert_eq!(query["error_uri"], format!("{}/error?code=50020", fake.base()));
    assert_eq!(query["admin_consent"], "True");
    assert_eq!(query["state"], "s");
    // Nothing was granted.
    assert_eq!(fake.app_token_v2(DEMO_CONTOSO).await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn admin_consent_without_scope_is_900144() {
    let fake = Fake::start().await;
    fake.set_auto(Some("megan@contoso.example"), Some("accept")).await;
    let response = fake.admin_consent(DEMO_CONTOSO, &consent_callback(), None, "s").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(header::LOCATION).is_none());
    let html = response.text().await.unwrap();
    assert!(html.contains("AADSTS900144"), "{html}");
}

#[tokio::test]
async fn admin_consent_on_common_is_refused_with_invalid_request() {
    let fake = Fake::start().await;
    fake.set_auto(Some("megan@contoso.example"), Some("accept")).await;
    let query = query_of(&location(&fake.admin_consent("common", &consent_callback(), Some(SCOPE), "s").await));
    assert_eq!(query["error"], "invalid_request");
    // What was reported of Microsoft (MicrosoftDocs/azure-docs issue 45151): no AADSTS code.
    assert_eq!(query["error_description"], "The provided request must include a 'response_type' input parameter.");
    assert_eq!(query["state"], "s");
}

#[tokio::test]
async fn admin_consent_interactively_picks_an_admin_and_accepts() {
    let fake = Fake::start().await;
    let response = fake.admin_consent(DEMO_CONTOSO, &consent_callback(), Some(SCOPE), "st-ui").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let (interaction, user_id) = picker_form(&html, "megan@contoso.example");
    let response = fake
        .client
        .post(fake.url("/_fake/ui/login"))
        .form(&[("interaction", interaction.as_str()), ("user_id", user_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let consent_page = response.text().await.unwrap();
    assert!(consent_page.contains("Permissions requested"), "{consent_page}");
    assert!(consent_page.contains("value=\"accept\">Accept</button>"), "{consent_page}");
    assert!(consent_page.contains("value=\"cancel\""), "{consent_page}");
    assert!(consent_page.contains("Cancel"));
    for role in DEMO_ROLES {
        assert!(consent_page.contains(role), "{role}");
    }
    let interaction = input_value(&consent_page, "interaction");
    let response = fake
        .client
        .post(fake.url("/_fake/ui/consent"))
        .form(&[("interaction", interaction.as_str()), ("decision", "accept")])
        .send()
        .await
        .unwrap();
    let query = query_of(&location(&response));
    assert_eq!(query["admin_consent"], "True");
    assert_eq!(query["tenant"], DEMO_CONTOSO);
    assert_eq!(query["state"], "st-ui");
    assert_eq!(roles_of(&decode_claims(&fake.access_token(DEMO_CONTOSO).await)), sorted(&DEMO_ROLES));

    // Signed in to the fake now: the next consent goes straight to the permissions, and Cancel works.
    let response = fake.admin_consent(DEMO_CONTOSO, &consent_callback(), Some(SCOPE), "st-2").await;
    assert_eq!(response.status(), StatusCode::OK);
    let consent_page = response.text().await.unwrap();
    assert!(consent_page.contains("Permissions requested"), "the session is reused: {consent_page}");
    let interaction = input_value(&consent_page, "interaction");
    let response = fake
        .client
        .post(fake.url("/_fake/ui/consent"))
        .form(&[("interaction", interaction.as_str()), ("decision", "cancel")])
        .send()
        .await
        .unwrap();
    assert_v2_cancel(&location(&response), fake.base(), "st-2");
}

#[tokio::test]
async fn woodgrove_grants_only_part_of_the_roles() {
    let fake = Fake::start().await;
    fake.set_auto(Some("diego@woodgrove.example"), Some("accept")).await;
    let query = query_of(&location(&fake.admin_consent(DEMO_WOODGROVE, &consent_callback(), Some(SCOPE), "s").await));
    assert_eq!(query["admin_consent"], "True");
    assert_eq!(query["tenant"], DEMO_WOODGROVE);
    let claims = decode_claims(&fake.access_token(DEMO_WOODGROVE).await);
    assert_eq!(claims["roles"], json!(["Incident.Read.All"]));
}

#[tokio::test]
async fn the_older_adminconsent_endpoint_answers_the_client_credentials_documents_shapes() {
    let fake = Fake::start().await;
    let legacy = |tenant: &str, state: &str| {
        let url = url::Url::parse_with_params(
            &fake.url(&format!("/{tenant}/adminconsent")),
            &[("client_id", DEMO_CLIENT_ID), ("state", state), ("redirect_uri", &consent_callback())],
        )
        .unwrap();
        fake.client.get(url).send()
    };
    // Cancel: as reported of this endpoint (MicrosoftDocs/azure-docs issue 41053).
    fake.set_auto(Some("megan@contoso.example"), Some("cancel")).await;
    let cancelled = location(&legacy(DEMO_CONTOSO, "l-c").await.unwrap());
    assert_eq!(cancelled, format!("{}?error=access_denied&error_subcode=cancel&state=l-c", consent_callback()));
    // Decline: the document's error example.
    fake.set_auto(Some("megan@contoso.example"), Some("decline")).await;
    let query = query_of(&location(&legacy(DEMO_CONTOSO, "l-d").await.unwrap()));
    assert_eq!(query["error"], "permission_denied");
    assert_eq!(query["error_description"], "The admin canceled the request");
    assert_eq!(fake.app_token_v2(DEMO_CONTOSO).await.status(), StatusCode::BAD_REQUEST, "nothing granted");
    // Accept, through /common: the consent lands in the admin's tenant, answered in the document's order.
    fake.set_auto(Some("megan@contoso.example"), Some("accept")).await;
    let response = legacy("common", "l-a").await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), format!("{}?tenant={DEMO_CONTOSO}&state=l-a&admin_consent=True", consent_callback()));
    assert_eq!(roles_of(&decode_claims(&fake.access_token(DEMO_CONTOSO).await)), sorted(&DEMO_ROLES));
    // An unregistered redirect URI is shown, never redirected.
    let url = url::Url::parse_with_params(
        &fake.url(&format!("/{DEMO_CONTOSO}/adminconsent")),
        &[("client_id", DEMO_CLIENT_ID), ("redirect_uri", "https://attacker.example/cb")],
    )
    .unwrap();
    let response = fake.client.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("AADSTS50011"));
}

// ---------------------------------------------------------------------------------------------------
// The v1 seed link
// ---------------------------------------------------------------------------------------------------

async fn redeem_v1(fake: &Fake, tenant: &str, code: &str) -> Value {
    let redirect_uri = consent_callback();
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", DEMO_CLIENT_ID),
        ("client_secret", DEMO_CLIENT_SECRET),
        ("code", code),
        ("redirect_uri", redirect_uri.as_str()),
        ("resource", RESOURCE),
    ];
    let response = fake.token_request(&format!("/{tenant}/oauth2/token"), &form).await;
    assert_eq!(response.status(), StatusCode::OK, "redeeming at /{tenant}");
    assert_token_headers(&response);
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_v1_seed_link_returns_a_code_that_reveals_the_tenant() {
    let fake = Fake::start().await;
    fake.set_auto(Some("megan@contoso.example"), Some("accept")).await;
    let jwks_path = format!("/{DEMO_CONTOSO}/discovery/keys");
    let issuer = format!("https://sts.windows.net/{DEMO_CONTOSO}/");
    for redeem_at in ["common", DEMO_CONTOSO] {
        let response = fake.seed_link("seed-state").await;
        let location = location(&response);
        assert!(location.starts_with(&format!("{}?", consent_callback())), "{location}");
        let query = query_of(&location);
        let mut names: Vec<&str> = query.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(names, ["code", "session_state", "state"], "no tenant in {location}");
        assert_eq!(query["state"], "seed-state");
        uuid::Uuid::parse_str(&query["session_state"]).unwrap();

        let body = redeem_v1(&fake, redeem_at, &query["code"]).await;
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], "3599");
        assert!(body["expires_on"].is_string() && body["not_before"].is_string());
        assert_eq!(body["resource"], RESOURCE);
        let claims = fake.verify(body["access_token"].as_str().unwrap(), &jwks_path, RESOURCE, &issuer).await;
        assert_eq!(claims["tid"], DEMO_CONTOSO, "redeemed at /{redeem_at}");
        assert_eq!(claims["upn"], "megan@contoso.example");
        let id_token = body["id_token"].as_str().unwrap();
        assert_eq!(decode_header_json(id_token)["alg"], "none");
        assert!(id_token.ends_with('.'), "no signature");
        assert_eq!(decode_claims(id_token)["tid"], DEMO_CONTOSO);
    }
    // The consent was recorded.
    assert_eq!(roles_of(&decode_claims(&fake.access_token(DEMO_CONTOSO).await)), sorted(&DEMO_ROLES));
}

#[tokio::test]
async fn the_v1_seed_link_cancelled_or_by_a_non_admin() {
    let fake = Fake::start().await;
    fake.set_auto(Some("megan@contoso.example"), Some("cancel")).await;
    let query = query_of(&location(&fake.seed_link("s-1").await));
    assert_eq!(query["error"], "access_denied");
    assert!(query["error_description"].starts_with("AADSTS65004"), "{query:?}");
    assert_eq!(query["state"], "s-1");
    assert!(!query.contains_key("code"));

    fake.set_auto(Some("adele@contoso.example"), Some("accept")).await;
    let response = fake.seed_link("s-2").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.unwrap();
    assert!(html.contains("AADSTS90094"), "{html}");
    let query = query_of(&back_link(&html));
    assert_eq!(query["error"], "access_denied");
    assert_eq!(query["state"], "s-2");
}

#[tokio::test]
async fn the_partner_pages_v1_link_without_redirect_uri_lands_on_the_first_registered_uri() {
    let fake = Fake::start().await;
    fake.set_auto(Some("megan@contoso.example"), Some("accept")).await;
    let url = url::Url::parse_with_params(
        &fake.url("/common/oauth2/authorize"),
        &[("prompt", "consent"), ("client_id", DEMO_CLIENT_ID), ("response_type", "code"), ("sso_reload", "true")],
    )
    .unwrap();
    let response = fake.client.get(url).send().await.unwrap();
    let location = location(&response);
    assert!(location.starts_with(&format!("{}?code=", auth_callback())), "{location}");
}

#[tokio::test]
async fn a_v1_code_for_another_tenant_is_refused() {
    let fake = Fake::start().await;
    fake.set_auto(Some("megan@contoso.example"), Some("accept")).await;
    let code = fake.code_from(fake.seed_link("s").await, &consent_callback()).await;
    let redirect_uri = consent_callback();
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", DEMO_CLIENT_ID),
        ("client_secret", DEMO_CLIENT_SECRET),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
    ];
    let response = fake.token_request(&format!("/{DEMO_NORTHWIND}/oauth2/token"), &form).await;
    assert_aad_error(response, 400, "invalid_grant", 70000, fake.base()).await;
}

// ---------------------------------------------------------------------------------------------------
// The Defender API
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn defender_incidents_answer_with_a_token_that_has_the_role() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    let token = fake.access_token(DEMO_CONTOSO).await;
    let response = fake.incidents(Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["@odata.context"].as_str().unwrap().ends_with("#Incidents"), "{body}");
    let value = body["value"].as_array().unwrap();
    assert_eq!(value.len(), 1, "$top=1");
    for field in ["incidentId", "incidentName", "createdTime", "lastUpdateTime", "status", "severity"] {
        assert!(!value[0][field].is_null(), "{field} in {body}");
    }
    // A v1 token works as well.
    let body: Value = fake.app_token_v1(DEMO_CONTOSO).await.json().await.unwrap();
    assert_eq!(fake.incidents(Some(body["access_token"].as_str().unwrap())).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn defender_takes_the_bearer_scheme_in_any_case() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    let token = fake.access_token(DEMO_CONTOSO).await;
    for scheme in ["bearer", "BEARER"] {
        let response = fake
            .client
            .get(fake.url("/api/incidents?$top=1"))
            .header(header::AUTHORIZATION, format!("{scheme} {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{scheme}");
    }
}

#[tokio::test]
async fn defender_refuses_missing_and_garbage_tokens_with_401() {
    let fake = Fake::start().await;
    for token in [None, Some("garbage"), Some("eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2ln")] {
        let response = fake.incidents(token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{token:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "Unauthorized");
        assert!(body["error"]["message"].is_string());
        uuid::Uuid::parse_str(body["error"]["target"].as_str().unwrap()).unwrap();
    }
}

#[tokio::test]
async fn defender_refuses_a_token_without_the_role_with_403() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &["AdvancedHunting.Read.All"]).await;
    let response = fake.incidents(Some(&fake.access_token(DEMO_CONTOSO).await)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Forbidden");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("does not have any of the required application permissions") && message.contains("Incident.Read.All"));
}

#[tokio::test]
async fn defender_limits_a_tenant_to_50_calls_a_minute() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    fake.grant(DEMO_NORTHWIND, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    let token = fake.access_token(DEMO_CONTOSO).await;
    for call in 1..=50 {
        assert_eq!(fake.incidents(Some(&token)).await.status(), StatusCode::OK, "call {call}");
    }
    let response = fake.incidents(Some(&token)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // Per tenant: another tenant is unaffected.
    let other = fake.access_token(DEMO_NORTHWIND).await;
    assert_eq!(fake.incidents(Some(&other)).await.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn token_latency_delays_the_answer() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    fake.set_faults(DEMO_CONTOSO, json!({"token_latency_ms": 1000})).await;
    let started = Instant::now();
    assert_eq!(fake.app_token_v2(DEMO_CONTOSO).await.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(1000), "{:?}", started.elapsed());
    // Other tenants are not delayed (they answer, with their own error, at once).
    let started = Instant::now();
    fake.app_token_v2(DEMO_NORTHWIND).await;
    assert!(started.elapsed() < Duration::from_millis(1000));
    fake.clear_faults(DEMO_CONTOSO).await;
    let started = Instant::now();
    assert_eq!(fake.app_token_v2(DEMO_CONTOSO).await.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_millis(1000));
}

#[tokio::test]
async fn token_status_faults_500_and_503() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    fake.set_faults(DEMO_CONTOSO, json!({"token_status": 500})).await;
    let response = fake.app_token_v2(DEMO_CONTOSO).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");

    fake.set_faults(DEMO_CONTOSO, json!({"token_status": 503, "retry_after_s": 3})).await;
    let response = fake.app_token_v1(DEMO_CONTOSO).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::RETRY_AFTER], "3");

    fake.clear_faults(DEMO_CONTOSO).await;
    assert_eq!(fake.app_token_v2(DEMO_CONTOSO).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_garbage_fault_answers_200_with_a_body_that_is_not_json() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    let token = fake.access_token(DEMO_CONTOSO).await;
    fake.set_faults(DEMO_CONTOSO, json!({"garbage": true})).await;
    let response = fake.app_token_v2(DEMO_CONTOSO).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    let response = fake.incidents(Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(serde_json::from_str::<Value>(&response.text().await.unwrap()).is_err());
}

#[tokio::test]
async fn the_drop_connection_fault_closes_the_connection() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    let token = fake.access_token(DEMO_CONTOSO).await;
    fake.set_faults(DEMO_CONTOSO, json!({"drop_connection": true})).await;
    let client = http_client();
    let form =
        [("grant_type", "client_credentials"), ("client_id", DEMO_CLIENT_ID), ("client_secret", DEMO_CLIENT_SECRET), ("scope", SCOPE)];
    let result = client.post(fake.url(&format!("/{DEMO_CONTOSO}/oauth2/v2.0/token"))).form(&form).send().await;
    assert!(result.is_err(), "{result:?}");
    let result = http_client().get(fake.url("/api/incidents?$top=1")).bearer_auth(&token).send().await;
    assert!(result.is_err(), "{result:?}");
    let log: Value = fake.get_json("/_fake/log").await;
    assert!(log.as_array().unwrap().iter().any(|e| e["status"] == 0 && e["grant_type"] == "client_credentials"), "{log}");
    fake.clear_faults(DEMO_CONTOSO).await;
    assert_eq!(fake.app_token_v2(DEMO_CONTOSO).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn roles_delay_hides_fresh_roles() {
    let fake = Fake::start().await;
    fake.set_faults(DEMO_CONTOSO, json!({"roles_delay_s": 600})).await;
    fake.set_auto(Some("megan@contoso.example"), Some("accept")).await;
    let query = query_of(&location(&fake.admin_consent(DEMO_CONTOSO, &consent_callback(), Some(SCOPE), "s").await));
    assert_eq!(query["admin_consent"], "True");
    let claims = decode_claims(&fake.access_token(DEMO_CONTOSO).await);
    assert!(claims.get("roles").is_none(), "roles are not there yet: {claims}");
    fake.clear_faults(DEMO_CONTOSO).await;
    let claims = decode_claims(&fake.access_token(DEMO_CONTOSO).await);
    assert_eq!(roles_of(&claims), sorted(&DEMO_ROLES));
}

#[tokio::test]
async fn api_latency_delays_the_defender_api() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    let token = fake.access_token(DEMO_CONTOSO).await;
    fake.set_faults(DEMO_CONTOSO, json!({"api_latency_ms": 300})).await;
    let started = Instant::now();
    assert_eq!(fake.incidents(Some(&token)).await.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn api_status_forces_the_defender_apis_answer() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    let token = fake.access_token(DEMO_CONTOSO).await;
    fake.set_faults(DEMO_CONTOSO, json!({"api_status": 503, "retry_after_s": 5})).await;
    let response = fake.incidents(Some(&token)).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::RETRY_AFTER], "5");
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["code"].is_string());
    fake.set_faults(DEMO_CONTOSO, json!({"api_status": 500})).await;
    assert_eq!(fake.incidents(Some(&token)).await.status(), StatusCode::INTERNAL_SERVER_ERROR);
    // The token endpoint is not affected by api_status.
    assert_eq!(fake.app_token_v2(DEMO_CONTOSO).await.status(), StatusCode::OK);
    fake.clear_faults(DEMO_CONTOSO).await;
    assert_eq!(fake.incidents(Some(&token)).await.status(), StatusCode::OK);
    let directory = fake.get_json("/_fake/directory").await;
    let contoso = directory["tenants"].as_array().unwrap().iter().find(|t| t["id"] == DEMO_CONTOSO).unwrap();
    assert_eq!(contoso["faults"], json!({}), "DELETE clears every fault");
}

// ---------------------------------------------------------------------------------------------------
// The control API
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn control_api_creates_tenants_users_and_apps() {
    let fake = Fake::start().await;
    // A tenant, with a domain that then resolves.
    let tenant_id = uuid::Uuid::new_v4().to_string();
    let tenant = json!({"id": tenant_id, "display_name": "Litware", "domains": ["litware.example"]});
    let response = fake.control(Method::POST, "/_fake/tenants", Some(tenant.clone())).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["id"], tenant_id);
    assert_eq!(created["domains"], json!(["litware.example"]));
    let doc = fake.get_json("/litware.example/v2.0/.well-known/openid-configuration").await;
    assert_eq!(doc["issuer"], format!("{}/{tenant_id}/v2.0", fake.base()));
    fake.expect(Method::POST, "/_fake/tenants", Some(tenant), StatusCode::CONFLICT).await;
    let same_domain = json!({"display_name": "Other", "domains": ["contoso.example"]});
    fake.expect(Method::POST, "/_fake/tenants", Some(same_domain), StatusCode::CONFLICT).await;
    // Without an id: one is generated.
    let response = fake.control(Method::POST, "/_fake/tenants", Some(json!({"display_name": "Generated"}))).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let generated: Value = response.json().await.unwrap();
    uuid::Uuid::parse_str(generated["id"].as_str().unwrap()).unwrap();

    // A user.
    let user = json!({"upn": "ada@litware.example", "display_name": "Ada", "admin": true});
    let response = fake.control(Method::POST, &format!("/_fake/tenants/{tenant_id}/users"), Some(user.clone())).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created_user: Value = response.json().await.unwrap();
    assert_eq!(created_user["upn"], "ada@litware.example");
    fake.expect(Method::POST, &format!("/_fake/tenants/{tenant_id}/users"), Some(user.clone()), StatusCode::CONFLICT).await;
    let unknown = uuid::Uuid::new_v4();
    let other_user = json!({"upn": "bob@litware.example", "display_name": "Bob"});
    fake.expect(Method::POST, &format!("/_fake/tenants/{unknown}/users"), Some(other_user), StatusCode::NOT_FOUND).await;

    // An app.
    let client_id = uuid::Uuid::new_v4().to_string();
    let app =
        json!({"client_id": client_id, "secret": "s3cret", "redirect_uris": ["https://x.example/cb"], "roles": ["Incident.Read.All"]});
    let response = fake.control(Method::POST, "/_fake/apps", Some(app.clone())).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created_app: Value = response.json().await.unwrap();
    assert_eq!(created_app["client_id"], client_id);
    fake.expect(Method::POST, "/_fake/apps", Some(app), StatusCode::CONFLICT).await;
    fake.expect(Method::POST, "/_fake/apps", Some(json!({"client_id": "not-a-guid"})), StatusCode::BAD_REQUEST).await;
    let bad_pem = json!({"client_id": uuid::Uuid::new_v4().to_string(), "certificate_pem": "nope"});
    fake.expect(Method::POST, "/_fake/apps", Some(bad_pem), StatusCode::BAD_REQUEST).await;

    // The new pieces work together: consent by the new admin, then a token.
    fake.set_auto(Some("ada@litware.example"), Some("accept")).await;
    let url = url::Url::parse_with_params(
        &fake.url(&format!("/{tenant_id}/v2.0/adminconsent")),
        &[("client_id", client_id.as_str()), ("redirect_uri", "https://x.example/cb"), ("scope", SCOPE), ("state", "s")],
    )
    .unwrap();
    let query = query_of(&location(&fake.client.get(url).send().await.unwrap()));
    assert_eq!(query["tenant"], tenant_id);
    let form = [("grant_type", "client_credentials"), ("client_id", client_id.as_str()), ("client_secret", "s3cret"), ("scope", SCOPE)];
    let response = fake.token_request("/litware.example/oauth2/v2.0/token", &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let claims = decode_claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["tid"], tenant_id);
    assert_eq!(claims["roles"], json!(["Incident.Read.All"]));

    // The directory shows it all.
    let directory = fake.get_json("/_fake/directory").await;
    let litware = directory["tenants"].as_array().unwrap().iter().find(|t| t["id"] == tenant_id).unwrap();
    assert_eq!(litware["display_name"], "Litware");
    assert_eq!(litware["users"][0]["upn"], "ada@litware.example");
    assert_eq!(litware["grants"][0]["client_id"], client_id);
    assert!(directory["apps"].as_array().unwrap().iter().any(|a| a["client_id"] == client_id));
    assert!(directory["tenants"].as_array().unwrap().iter().any(|t| t["id"] == generated["id"]));
}

#[tokio::test]
async fn control_api_grants_faults_and_auto_report_their_status() {
    let fake = Fake::start().await;
    let unknown = uuid::Uuid::new_v4();
    let grant_path = format!("/_fake/tenants/{DEMO_NORTHWIND}/grants/{DEMO_CLIENT_ID}");
    fake.expect(Method::DELETE, &grant_path, None, StatusCode::NOT_FOUND).await;
    fake.expect(Method::PUT, &grant_path, Some(json!({"roles": ["Incident.Read.All"]})), StatusCode::NO_CONTENT).await;
    fake.expect(Method::DELETE, &grant_path, None, StatusCode::NO_CONTENT).await;
    let directory = fake.get_json("/_fake/directory").await;
    let northwind = directory["tenants"].as_array().unwrap().iter().find(|t| t["id"] == DEMO_NORTHWIND).unwrap();
    assert_eq!(northwind["grants"][0]["deleted"], true);
    let unknown_grant = format!("/_fake/tenants/{unknown}/grants/{DEMO_CLIENT_ID}");
    fake.expect(Method::PUT, &unknown_grant, Some(json!({"roles": []})), StatusCode::NOT_FOUND).await;
    fake.expect(Method::DELETE, &unknown_grant, None, StatusCode::NOT_FOUND).await;
    fake.expect(Method::PUT, "/_fake/tenants/not-a-guid/grants/x", Some(json!({"roles": []})), StatusCode::NOT_FOUND).await;

    let faults_path = format!("/_fake/tenants/{DEMO_CONTOSO}/faults");
    fake.expect(Method::PUT, &faults_path, Some(json!({"token_latency_ms": 5, "api_status": 500})), StatusCode::NO_CONTENT).await;
    let directory = fake.get_json("/_fake/directory").await;
    let contoso = directory["tenants"].as_array().unwrap().iter().find(|t| t["id"] == DEMO_CONTOSO).unwrap();
    assert_eq!(contoso["faults"], json!({"token_latency_ms": 5, "api_status": 500}));
    fake.expect(Method::DELETE, &faults_path, None, StatusCode::NO_CONTENT).await;
    let unknown_faults = format!("/_fake/tenants/{unknown}/faults");
    fake.expect(Method::PUT, &unknown_faults, Some(json!({})), StatusCode::NOT_FOUND).await;
    fake.expect(Method::DELETE, &unknown_faults, None, StatusCode::NOT_FOUND).await;

    fake.expect(Method::PUT, "/_fake/auto", Some(json!({"upn": "megan@contoso.example", "consent": "accept"})), StatusCode::NO_CONTENT)
        .await;
    assert_eq!(fake.get_json("/_fake/auto").await, json!({"upn": "megan@contoso.example", "consent": "accept"}));
    fake.expect(Method::PUT, "/_fake/auto", Some(json!({"upn": null, "consent": null})), StatusCode::NO_CONTENT).await;
    assert_eq!(fake.get_json("/_fake/auto").await, json!({"upn": null, "consent": null}));
    fake.expect(Method::PUT, "/_fake/auto", Some(json!({"upn": null, "consent": "maybe"})), StatusCode::BAD_REQUEST).await;

    fake.expect(Method::POST, "/_fake/keys/rotate", None, StatusCode::NO_CONTENT).await;
}

#[tokio::test]
async fn control_api_answers_400_to_invalid_json() {
    let fake = Fake::start().await;
    let cases = [
        (Method::POST, "/_fake/apps".to_owned()),
        (Method::POST, "/_fake/tenants".to_owned()),
        (Method::POST, format!("/_fake/tenants/{DEMO_CONTOSO}/users")),
        (Method::PUT, format!("/_fake/tenants/{DEMO_CONTOSO}/grants/{DEMO_CLIENT_ID}")),
        (Method::PUT, format!("/_fake/tenants/{DEMO_CONTOSO}/faults")),
        (Method::PUT, "/_fake/auto".to_owned()),
    ];
    for (method, path) in cases {
        for body in ["{not json", "\"a string\"", ""] {
            let response = fake
                .client
                .request(method.clone(), fake.url(&path))
                .header(header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{method} {path} {body}");
            let error: Value = response.json().await.unwrap();
            assert!(error["error"].is_string(), "{error}");
        }
    }
    // Missing required fields are a 400 too.
    fake.expect(Method::POST, "/_fake/tenants", Some(json!({"domains": []})), StatusCode::BAD_REQUEST).await;
    fake.expect(Method::PUT, &format!("/_fake/tenants/{DEMO_CONTOSO}/grants/{DEMO_CLIENT_ID}"), Some(json!({})), StatusCode::BAD_REQUEST)
        .await;
}

#[tokio::test]
async fn the_log_records_identity_calls_but_not_control_calls() {
    let fake = Fake::start().await;
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    fake.get_json("/contoso.example/v2.0/.well-known/openid-configuration").await;
    let ok = fake.app_token_v2("contoso.example").await;
    assert_eq!(ok.status(), StatusCode::OK);
    let failed = fake.app_token_v1(DEMO_NORTHWIND).await;
    assert_eq!(failed.status(), StatusCode::BAD_REQUEST);
    fake.get_json("/_fake/directory").await;

    let log = fake.get_json("/_fake/log").await;
    let entries = log.as_array().unwrap();
    assert_eq!(entries.len(), 3, "{log}");
    for entry in entries {
        let mut fields: Vec<&str> = entry.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort();
        assert_eq!(fields, ["at", "grant_type", "method", "path", "status", "tenant"], "{entry}");
        assert!(!entry["path"].as_str().unwrap().starts_with("/_fake"), "{entry}");
        time::OffsetDateTime::parse(entry["at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    }
    assert_eq!(entries[0]["method"], "GET");
    assert_eq!(entries[0]["path"], "/contoso.example/v2.0/.well-known/openid-configuration");
    assert_eq!(entries[0]["status"], 200);
    assert_eq!(entries[1]["method"], "POST");
    assert_eq!(entries[1]["path"], "/contoso.example/oauth2/v2.0/token");
    assert_eq!(entries[1]["tenant"], DEMO_CONTOSO, "the tenant as resolved, a GUID");
    assert_eq!(entries[1]["grant_type"], "client_credentials");
    assert_eq!(entries[1]["status"], 200);
    assert_eq!(entries[2]["path"], format!("/{DEMO_NORTHWIND}/oauth2/token"));
    assert_eq!(entries[2]["tenant"], DEMO_NORTHWIND);
    assert_eq!(entries[2]["grant_type"], "client_credentials");
    assert_eq!(entries[2]["status"], 400);

    fake.expect(Method::DELETE, "/_fake/log", None, StatusCode::NO_CONTENT).await;
    assert_eq!(fake.get_json("/_fake/log").await, json!([]));
}

#[tokio::test]
async fn the_partner_tenant_has_the_app_without_defender_roles() {
    let fake = Fake::start().await;
    let claims = decode_claims(&fake.access_token(DEMO_PARTNER_TENANT_ID).await);
    assert_eq!(claims["tid"], DEMO_PARTNER_TENANT_ID);
    assert!(claims.get("roles").is_none());
}

#[tokio::test]
async fn control_api_refuses_arrays_and_statuses_that_are_not_errors() {
    let fake = crate::helpers::spawn_fake("http://127.0.0.1:8080").await;
    let client = reqwest::Client::new();
    let tenant = fake_entra::demo::DEMO_CONTOSO;
    for body in [serde_json::json!([1, 2]), serde_json::json!({"token_status": 2}), serde_json::json!({"api_status": 200})] {
        let response = client.put(format!("{}/_fake/tenants/{tenant}/faults", fake.url)).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 400, "{body}");
    }
    let directory: serde_json::Value = client.get(format!("{}/_fake/directory", fake.url)).send().await.unwrap().json().await.unwrap();
    let contoso = directory["tenants"].as_array().unwrap().iter().find(|t| t["id"] == tenant).unwrap();
    assert_eq!(contoso["faults"], serde_json::json!({}), "nothing was set");
}

#[tokio::test]
async fn the_pages_speak_the_language_the_app_asks_for_and_remember_it() {
    let fake = Fake::start().await;
    let (_, challenge) = pkce();
    let redirect_uri = auth_callback();
    let params = [
        ("client_id", DEMO_CLIENT_ID),
        ("response_type", "code"),
        ("redirect_uri", redirect_uri.as_str()),
        ("scope", "openid profile"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("nonce", "n"),
        ("state", "s"),
        ("ui_locales", "it-IT en"),
    ];
    let url = url::Url::parse_with_params(&fake.url(&format!("/{DEMO_CONTOSO}/oauth2/v2.0/authorize")), &params).unwrap();
    let response = fake.client.get(url).send().await.unwrap();
    let cookie = response.headers().get_all(header::SET_COOKIE).iter().any(|c| c.to_str().unwrap().starts_with("fake_ui_locale=it"));
    assert!(cookie, "the language is remembered");
    let html = response.text().await.unwrap();
    assert!(html.contains("<html lang=\"it\"") && html.contains("Scegli un account") && html.contains("Amministratore"), "{html}");
    let (interaction, user_id) = picker_form(&html, "megan@contoso.example");
    let signed_in = fake
        .client
        .post(fake.url("/_fake/ui/login"))
        .form(&[("interaction", interaction.as_str()), ("user_id", user_id.as_str())])
        .send()
        .await
        .unwrap();
    assert!(signed_in.status().is_redirection());

    // Admin consent carries no ui_locales: the cookie keeps the pages Italian.
    let consent_page = fake.admin_consent(DEMO_CONTOSO, &consent_callback(), Some(SCOPE), "st").await.text().await.unwrap();
    assert!(consent_page.contains("<html lang=\"it\""), "{consent_page}");
    assert!(
        consent_page.contains("Autorizzazioni richieste") && consent_page.contains("value=\"accept\">Accetta</button>"),
        "{consent_page}"
    );
    assert!(consent_page.contains("<strong>Contoso</strong>"), "{consent_page}");

    // Another browser: its Accept-Language decides; a non-admin's error page is Italian around
    // Microsoft's English AADSTS message.
    let browser = http_client();
    let consent_url = url::Url::parse_with_params(
        &fake.url(&format!("/{DEMO_CONTOSO}/v2.0/adminconsent")),
        &[("client_id", DEMO_CLIENT_ID), ("redirect_uri", consent_callback().as_str()), ("scope", SCOPE), ("state", "st2")],
    )
    .unwrap();
    let html = browser.get(consent_url.clone()).header("accept-language", "it-IT,it;q=0.9").send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("Scegli un account") && (html.contains("serve l&#39;approvazione") || html.contains("serve l'approvazione")),
        "{html}"
    );
    let (interaction, user_id) = picker_form(&html, "adele@contoso.example");
    let error = browser
        .post(fake.url("/_fake/ui/login"))
        .form(&[("interaction", interaction.as_str()), ("user_id", user_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(error.status(), StatusCode::FORBIDDEN);
    let html = error.text().await.unwrap();
    assert!(html.contains("Torna all") && html.contains("AADSTS90093: This operation can only be performed by an administrator"), "{html}");
    let english = http_client().get(consent_url).header("accept-language", "en-GB").send().await.unwrap().text().await.unwrap();
    assert!(english.contains("<html lang=\"en\"") && english.contains("Pick an account"), "{english}");
}

// ---------------------------------------------------------------------------------------------------
// The page at `/`
// ---------------------------------------------------------------------------------------------------

/// The values of every `href="…"` in a page.
fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"").skip(1).filter_map(|rest| rest.split('"').next()).map(html_unescape).collect()
}

#[tokio::test]
async fn the_home_page_says_it_is_a_fake_and_lists_the_directory_with_links_that_work() {
    let fake = Fake::start().await;
    let response = fake.get("/").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(response.headers().contains_key(header::CONTENT_SECURITY_POLICY), "the fake's page headers apply");
    let html = response.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains("a fake") && html.contains("not Microsoft"), "{html}");

    // Every tenant and account of the directory, as the control API reports it.
    let directory = fake.get_json("/_fake/directory").await;
    let tenants = directory["tenants"].as_array().unwrap();
    assert_eq!(tenants.len(), 6);
    for tenant in tenants {
        assert!(html.contains(tenant["display_name"].as_str().unwrap()), "{tenant}");
        assert!(html.contains(tenant["id"].as_str().unwrap()), "{tenant}");
        for user in tenant["users"].as_array().unwrap() {
            assert!(html.contains(user["upn"].as_str().unwrap()), "{user}");
            assert!(html.contains(user["display_name"].as_str().unwrap()), "{user}");
        }
    }
    assert!(html.contains(DEMO_CLIENT_ID), "the demo app registration is listed");
    assert!(!html.contains(DEMO_CLIENT_SECRET), "secrets are never shown");

    // The control API and the discovery documents are linked, and each link answers.
    let links = hrefs(&html);
    for expected in [
        "/_fake/directory".to_owned(),
        "/_fake/log".to_owned(),
        "/organizations/v2.0/.well-known/openid-configuration".to_owned(),
        format!("/{DEMO_CONTOSO}/v2.0/.well-known/openid-configuration"),
    ] {
        assert!(links.contains(&expected), "no link to {expected} in {links:?}");
    }
    for link in links.iter().filter(|l| l.starts_with('/')) {
        assert_eq!(fake.get(link).await.status(), StatusCode::OK, "{link}");
    }

    // The page shows the directory as it is now, escaped.
    let tenant_id = uuid::Uuid::new_v4().to_string();
    let added = json!({"id": tenant_id, "display_name": "Litware <Labs>", "domains": ["litware.example"]});
    fake.expect(Method::POST, "/_fake/tenants", Some(added), StatusCode::CREATED).await;
    let html = fake.get("/").await.text().await.unwrap();
    assert!(html.contains(&tenant_id) && html.contains("Litware &#60;Labs&#62;"), "{html}");
    assert!(!html.contains("<Labs>"));
}

// ---------------------------------------------------------------------------------------------------
// Several APIs: permissions per API, Graph's tokens and probes, Defender for Endpoint's probe
// ---------------------------------------------------------------------------------------------------

const GRAPH: &str = "https://graph.microsoft.com";
const MDE: &str = "https://api.securitycenter.microsoft.com";
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// The fake's public key that signed `token`, from the tenant's JWKS.
async fn signing_key(fake: &Fake, token: &str) -> DecodingKey {
    let jwks = fake.get_json(&format!("/{DEMO_CONTOSO}/discovery/keys")).await;
    let kid = decode_header_json(token)["kid"].as_str().unwrap().to_owned();
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str()).expect("the kid is published");
    DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap()).unwrap()
}

/// `token` with its header's nonce replaced by the base64url SHA-256 of it, the header otherwise as
/// sent: what Microsoft signs a Graph token over (written here independently of the fake's code).
fn with_hashed_nonce(token: &str) -> String {
    let (header, rest) = token.split_once('.').unwrap();
    let header = String::from_utf8(URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    let nonce = serde_json::from_str::<Value>(&header).unwrap()["nonce"].as_str().expect("a nonce").to_owned();
    let hashed = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(nonce.as_bytes()));
    let sent = format!("\"nonce\":\"{nonce}\"");
    assert_eq!(header.matches(&sent).count(), 1, "{header}");
    let transformed = header.replace(&sent, &format!("\"nonce\":\"{hashed}\""));
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(transformed))
}

fn graph_validation() -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[GRAPH, GRAPH_APP_ID]);
    validation.set_issuer(&[format!("https://sts.windows.net/{DEMO_CONTOSO}/")]);
    validation
}

/// Checks Graph's error shape and returns the error's code and message.
async fn graph_error(response: reqwest::Response, status: StatusCode) -> (String, String) {
    assert_eq!(response.status(), status);
    let request_id = response.headers()["request-id"].to_str().unwrap().to_owned();
    let client_request_id = response.headers()["client-request-id"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let inner = &body["error"]["innerError"];
    assert_eq!(inner["request-id"], request_id.as_str(), "{body}");
    assert_eq!(inner["client-request-id"], client_request_id.as_str(), "{body}");
    let date = inner["date"].as_str().unwrap();
    time::PrimitiveDateTime::parse(date, &time::format_description::well_known::Iso8601::DEFAULT).unwrap_or_else(|e| panic!("{date}: {e}"));
    (body["error"]["code"].as_str().unwrap().to_owned(), body["error"]["message"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_token_carries_only_the_roles_granted_on_its_api_and_none_for_an_api_without_permission() {
    let fake = Fake::start().await;
    let permissions = json!({"graph": ["SecurityIncident.Read.All", "ThreatHunting.Read.All"], "defender": ["Incident.Read.All"]});
    fake.grant_permissions(DEMO_CONTOSO, DEMO_CLIENT_ID, permissions).await;
    let graph = decode_claims(&fake.access_token_for(DEMO_CONTOSO, GRAPH).await);
    assert_eq!(graph["aud"], GRAPH);
    assert_eq!(graph["ver"], "1.0");
    assert_eq!(roles_of(&graph), sorted(&["SecurityIncident.Read.All", "ThreatHunting.Read.All"]));
    let defender = decode_claims(&fake.access_token_for(DEMO_CONTOSO, RESOURCE).await);
    assert_eq!(defender["roles"], json!(["Incident.Read.All"]));
    // No permission on Defender for Endpoint: the token is still issued, without `roles`.
    let mde = decode_claims(&fake.access_token_for(DEMO_CONTOSO, MDE).await);
    assert_eq!(mde["aud"], MDE);
    assert!(mde.get("roles").is_none(), "{mde}");
    // By application id on v2, by URI with its slash on v1: `aud` exactly as asked.
    let by_id = decode_claims(&fake.access_token_for(DEMO_CONTOSO, GRAPH_APP_ID).await);
    assert_eq!(by_id["aud"], GRAPH_APP_ID);
    assert_eq!(roles_of(&by_id), roles_of(&graph));
    let v1 = [
        ("grant_type", "client_credentials"),
        ("client_id", DEMO_CLIENT_ID),
        ("client_secret", DEMO_CLIENT_SECRET),
        ("resource", "https://graph.microsoft.com/"),
    ];
    let body: Value = fake.token_request(&format!("/{DEMO_CONTOSO}/oauth2/token"), &v1).await.json().await.unwrap();
    assert_eq!(body["resource"], "https://graph.microsoft.com/");
    assert_eq!(decode_claims(body["access_token"].as_str().unwrap())["aud"], "https://graph.microsoft.com/");
}

#[tokio::test]
async fn graph_tokens_carry_a_nonce_and_verify_only_with_the_nonce_replaced_by_its_hash() {
    let fake = Fake::start().await;
    fake.grant_permissions(DEMO_CONTOSO, DEMO_CLIENT_ID, json!({"graph": ["SecurityIncident.Read.All"], "defender": DEMO_ROLES})).await;
    for resource in [GRAPH, GRAPH_APP_ID] {
        let token = fake.access_token_for(DEMO_CONTOSO, resource).await;
        let header = decode_header_json(&token);
        assert!(header["nonce"].as_str().is_some_and(|nonce| !nonce.is_empty()), "{header}");
        let header_text = String::from_utf8(URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
        assert!(header_text.starts_with("{\"typ\":\"JWT\",\"nonce\":\""), "Microsoft's order: {header_text}");
        let key = signing_key(&fake, &token).await;
        // As received, a standard JWT library refuses the signature, as it does Microsoft's.
        let refused = jsonwebtoken::decode::<Value>(&token, &key, &graph_validation()).unwrap_err();
        assert_eq!(refused.kind(), &jsonwebtoken::errors::ErrorKind::InvalidSignature, "{resource}");
        // Over the header with the hashed nonce, the signature holds.
        let claims = jsonwebtoken::decode::<Value>(&with_hashed_nonce(&token), &key, &graph_validation()).unwrap().claims;
        assert_eq!(claims["aud"], resource);
        assert_eq!(claims["tid"], DEMO_CONTOSO);
    }
    // Two Graph tokens carry different nonces.
    let (first, second) = (fake.access_token_for(DEMO_CONTOSO, GRAPH).await, fake.access_token_for(DEMO_CONTOSO, GRAPH).await);
    assert_ne!(decode_header_json(&first)["nonce"], decode_header_json(&second)["nonce"]);
    // A Defender XDR token has no nonce and verifies as received.
    let defender = fake.access_token(DEMO_CONTOSO).await;
    assert!(decode_header_json(&defender).get("nonce").is_none());
    fake.verify(&defender, &format!("/{DEMO_CONTOSO}/discovery/keys"), RESOURCE, &format!("https://sts.windows.net/{DEMO_CONTOSO}/")).await;
}

#[tokio::test]
async fn graph_incidents_and_hunting_answer_a_graph_token_with_the_role() {
    let fake = Fake::start().await;
    let permissions = json!({"graph": ["SecurityIncident.Read.All", "ThreatHunting.Read.All"]});
    fake.grant_permissions(DEMO_CONTOSO, DEMO_CLIENT_ID, permissions).await;
    let token = fake.access_token_for(DEMO_CONTOSO, GRAPH).await;
    let response = fake
        .client
        .get(fake.url("/v1.0/security/incidents?$top=1"))
        .bearer_auth(&token)
        .header("client-request-id", "probe-7")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["client-request-id"], "probe-7", "the client's id echoed");
    uuid::Uuid::parse_str(response.headers()["request-id"].to_str().unwrap()).unwrap();
    let body: Value = response.json().await.unwrap();
    assert!(body["@odata.context"].as_str().unwrap().ends_with("/v1.0/$metadata#security/incidents"), "{body}");
    let value = body["value"].as_array().unwrap();
    assert_eq!(value.len(), 1, "$top=1");
    for field in ["id", "tenantId", "displayName", "createdDateTime", "lastUpdateDateTime", "status", "severity"] {
        assert!(!value[0][field].is_null(), "{field} in {body}");
    }
    assert_eq!(value[0]["tenantId"], DEMO_CONTOSO);
    let next = body["@odata.nextLink"].as_str().unwrap();
    let next = &next[next.find("/v1.0/").unwrap()..];
    let page: Value = fake.call_api(next, Some(&token), None).await.json().await.unwrap();
    assert_ne!(page["value"][0]["id"], value[0]["id"], "the next page");

    for body in [json!({"Query": "AlertInfo | take 1"}), json!({"query": "DeviceProcessEvents | take 5", "Timespan": "P1D"})] {
        let response = fake.call_api("/v1.0/security/runHuntingQuery", Some(&token), Some(body)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let answer: Value = response.json().await.unwrap();
        let schema = answer["schema"].as_array().unwrap();
        assert!(!schema.is_empty() && schema.iter().all(|column| column["name"].is_string() && column["type"].is_string()), "{answer}");
        let results = answer["results"].as_array().unwrap();
        assert!(!results.is_empty(), "{answer}");
        for column in schema {
            assert!(results[0].get(column["name"].as_str().unwrap()).is_some(), "{answer}");
        }
    }
    let response = fake.call_api("/v1.0/security/runHuntingQuery", Some(&token), Some(json!({"Query": " "}))).await;
    let (code, _) = graph_error(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(code, "BadRequest");
}

#[tokio::test]
async fn each_api_refuses_tokens_that_are_missing_malformed_or_for_another_api_with_401() {
    let fake = Fake::start().await;
    let permissions = json!({"graph": ["SecurityIncident.Read.All"], "defender": ["Incident.Read.All"], "mde": ["Alert.Read.All"]});
    fake.grant_permissions(DEMO_CONTOSO, DEMO_CLIENT_ID, permissions).await;
    let graph = fake.access_token_for(DEMO_CONTOSO, GRAPH).await;
    let defender = fake.access_token_for(DEMO_CONTOSO, RESOURCE).await;
    let mde = fake.access_token_for(DEMO_CONTOSO, "https://securitycenter.onmicrosoft.com/windowsatpservice").await;
    // Each token works where it belongs.
    assert_eq!(fake.call_api("/v1.0/security/incidents?$top=1", Some(&graph), None).await.status(), StatusCode::OK);
    assert_eq!(fake.call_api("/api/incidents?$top=1", Some(&defender), None).await.status(), StatusCode::OK);
    assert_eq!(fake.call_api("/api/alerts?$top=1", Some(&mde), None).await.status(), StatusCode::OK);

    let (payload_swapped, _) = graph.rsplit_once('.').unwrap();
    let forged = format!("{payload_swapped}.{}", defender.rsplit_once('.').unwrap().1);
    let graph_cases = [
        (None, "Access token is empty."),
        (Some("garbage"), "CompactToken parsing failed with error code: 80049217"),
        (Some(defender.as_str()), "Access token validation failure. Invalid audience."),
        (Some(mde.as_str()), "Access token validation failure. Invalid audience."),
        (Some(forged.as_str()), "Access token validation failure."),
    ];
    for (token, expected) in graph_cases {
        let response = fake.call_api("/v1.0/security/incidents?$top=1", token, None).await;
        let challenge = response.headers()[header::WWW_AUTHENTICATE].to_str().unwrap().to_owned();
        assert!(challenge.starts_with("Bearer ") && challenge.contains(GRAPH_APP_ID), "{challenge}");
        let (code, message) = graph_error(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!((code.as_str(), message.as_str()), ("InvalidAuthenticationToken", expected), "{token:?}");
    }
    // The Defender APIs take only their own: a Graph token (nonce and all), or the other Defender API's.
    for (path, token) in [("/api/incidents", &graph), ("/api/incidents", &mde), ("/api/alerts", &defender), ("/api/alerts", &graph)] {
        let response = fake.call_api(path, Some(token), None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "Unauthorized", "{path}");
        uuid::Uuid::parse_str(body["error"]["target"].as_str().unwrap()).unwrap();
    }
    let response = fake.call_api("/api/alerts", None, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // Expired: the claims of a good token, an hour past their `exp`, signed with the fake's key.
    let expired = |token: &str| {
        let mut claims = decode_claims(token);
        claims["exp"] = json!(now() - 3600);
        claims["iat"] = json!(now() - 7200);
        claims["nbf"] = json!(now() - 7200);
        claims
    };
    let (stale_graph, stale_defender, stale_mde) = {
        let keys = fake.server.fake.keys();
        (
            keys.sign_with_nonce_header(&expired(&graph)).unwrap(),
            keys.sign(&expired(&defender)).unwrap(),
            keys.sign(&expired(&mde)).unwrap(),
        )
    };
    let (code, message) =
        graph_error(fake.call_api("/v1.0/security/incidents", Some(&stale_graph), None).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!((code.as_str(), message.as_str()), ("InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."));
    for (path, token) in [("/api/incidents", &stale_defender), ("/api/alerts", &stale_mde)] {
        let response = fake.call_api(path, Some(token), None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["message"], "The token is not valid: ExpiredSignature.", "{path}");
    }
}

#[tokio::test]
async fn each_api_refuses_a_token_without_its_roles_with_403_in_its_own_words() {
    let fake = Fake::start().await;
    let permissions = json!({"graph": ["ThreatHunting.Read.All"], "mde": ["Machine.Read.All"]});
    fake.grant_permissions(DEMO_CONTOSO, DEMO_CLIENT_ID, permissions).await;
    let graph = fake.access_token_for(DEMO_CONTOSO, GRAPH).await;
    let (code, message) =
        graph_error(fake.call_api("/v1.0/security/incidents?$top=1", Some(&graph), None).await, StatusCode::FORBIDDEN).await;
    assert_eq!(code, "Forbidden");
    assert_eq!(
        message,
        "Missing application roles. API required roles: SecurityIncident.Read.All,SecurityIncident.ReadWrite.All, application roles: ThreatHunting.Read.All."
    );
    fake.grant_permissions(DEMO_CONTOSO, DEMO_CLIENT_ID, json!({"graph": ["SecurityIncident.Read.All"]})).await;
    let graph = fake.access_token_for(DEMO_CONTOSO, GRAPH).await;
    let response = fake.call_api("/v1.0/security/runHuntingQuery", Some(&graph), Some(json!({"Query": "AlertInfo"}))).await;
    let (code, message) = graph_error(response, StatusCode::FORBIDDEN).await;
    assert_eq!(code, "Forbidden");
    assert!(message.contains("API required roles: ThreatHunting.Read.All,"), "{message}");

    fake.grant_permissions(DEMO_CONTOSO, DEMO_CLIENT_ID, json!({"mde": ["Machine.Read.All"]})).await;
    let mde = fake.access_token_for(DEMO_CONTOSO, MDE).await;
    let response = fake.call_api("/api/alerts?$top=1", Some(&mde), None).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Forbidden");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("does not have any of the required application permissions") && message.contains("Alert.Read.All"),
        "{message}"
    );
    // A token without any role (no permission on the API at all) is a 403 too, not a 401.
    let defender = fake.access_token_for(DEMO_CONTOSO, RESOURCE).await;
    assert!(decode_claims(&defender).get("roles").is_none());
    assert_eq!(fake.call_api("/api/incidents", Some(&defender), None).await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn mde_alerts_answer_a_defender_for_endpoint_token_with_the_role() {
    let fake = Fake::start().await;
    fake.grant_permissions(DEMO_CONTOSO, DEMO_CLIENT_ID, json!({"mde": ["Alert.Read.All"]})).await;
    for resource in [MDE, "https://api.securitycenter.windows.com", "fc780465-2017-40d4-a0c5-307022471b92"] {
        let token = fake.access_token_for(DEMO_CONTOSO, resource).await;
        let response = fake.call_api("/api/alerts?$top=1", Some(&token), None).await;
        assert_eq!(response.status(), StatusCode::OK, "{resource}");
        let body: Value = response.json().await.unwrap();
        assert!(body["@odata.context"].as_str().unwrap().ends_with("/api/$metadata#Alerts"), "{body}");
        let value = body["value"].as_array().unwrap();
        assert_eq!(value.len(), 1, "$top=1");
        for field in ["id", "title", "severity", "status", "alertCreationTime", "aadTenantId"] {
            assert!(!value[0][field].is_null(), "{field} in {body}");
        }
    }
}

#[tokio::test]
async fn hunting_limits_a_tenant_to_45_calls_a_minute_and_faults_apply_to_every_api() {
    let fake = Fake::start().await;
    let permissions = json!({"graph": ["SecurityIncident.Read.All", "ThreatHunting.Read.All"], "defender": ["Incident.Read.All"], "mde": ["Alert.Read.All"]});
    fake.grant_permissions(DEMO_CONTOSO, DEMO_CLIENT_ID, permissions).await;
    let graph = fake.access_token_for(DEMO_CONTOSO, GRAPH).await;
    let hunt = || fake.call_api("/v1.0/security/runHuntingQuery", Some(&graph), Some(json!({"Query": "AlertInfo | take 1"})));
    for call in 1..=45 {
        assert_eq!(hunt().await.status(), StatusCode::OK, "call {call}");
    }
    let response = hunt().await;
    let retry_after: u64 = response.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (code, _) = graph_error(response, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(code, "TooManyRequests");
    // Each endpoint has its own allowance: Graph's incidents still take their 50 (49 here, the last below).
    for call in 1..=49 {
        let response = fake.call_api("/v1.0/security/incidents?$top=1", Some(&graph), None).await;
        assert_eq!(response.status(), StatusCode::OK, "incidents call {call}");
    }

    let defender = fake.access_token_for(DEMO_CONTOSO, RESOURCE).await;
    let mde = fake.access_token_for(DEMO_CONTOSO, MDE).await;
    let probes = [("/v1.0/security/incidents?$top=1", &graph), ("/api/incidents?$top=1", &defender), ("/api/alerts?$top=1", &mde)];
    fake.set_faults(DEMO_CONTOSO, json!({"api_status": 429, "retry_after_s": 9})).await;
    for (path, token) in probes {
        let response = fake.call_api(path, Some(token), None).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
        assert_eq!(response.headers()[header::RETRY_AFTER], "9", "{path}");
    }
    fake.set_faults(DEMO_CONTOSO, json!({"garbage": true})).await;
    for (path, token) in probes {
        let response = fake.call_api(path, Some(token), None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(serde_json::from_str::<Value>(&response.text().await.unwrap()).is_err(), "{path}: not JSON");
    }
    fake.clear_faults(DEMO_CONTOSO).await;
    for (path, token) in probes {
        assert_eq!(fake.call_api(path, Some(token), None).await.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn admin_consent_with_any_default_scope_grants_every_permission_of_the_app_across_apis() {
    let fake = Fake::start().await;
    // The consent page lists the permissions grouped by API, in the API's words.
    fake.set_auto(Some("megan@contoso.example"), None).await;
    let scope = format!("{GRAPH}/.default");
    let page = fake.admin_consent(DEMO_CONTOSO, &consent_callback(), Some(&scope), "page").await.text().await.unwrap();
    let graph_at = page.find("Microsoft Graph").expect("a Graph group");
    let defender_at = page.find("Microsoft Threat Protection").expect("a Defender XDR group");
    let hunting_at = page.find("Run hunting queries").expect("ThreatHunting.Read.All described");
    assert!(graph_at < hunting_at && hunting_at < defender_at, "{page}");
    assert!(page.contains("Read all security incidents") && page.contains("Run advanced queries"), "{page}");

    for (tenant, admin, scope) in [
        (DEMO_CONTOSO, "megan@contoso.example", format!("{GRAPH}/.default")),
        (DEMO_NORTHWIND, "lee@northwind.example", format!("{MDE}/.default {RESOURCE}/.default")),
    ] {
        fake.set_auto(Some(admin), Some("accept")).await;
        let query = query_of(&location(&fake.admin_consent(tenant, &consent_callback(), Some(&scope), "s").await));
        assert_eq!(query["admin_consent"], "True", "{query:?}");
        assert_eq!(query["scope"], scope);
        let graph = decode_claims(&fake.access_token_for(tenant, GRAPH).await);
        assert_eq!(roles_of(&graph), sorted(&fake_entra::demo::DEMO_GRAPH_ROLES), "{scope}");
        let defender = decode_claims(&fake.access_token_for(tenant, RESOURCE).await);
        assert_eq!(roles_of(&defender), sorted(&DEMO_ROLES), "{scope}");
        // The app asks nothing of Defender for Endpoint: its token comes without roles.
        assert!(decode_claims(&fake.access_token_for(tenant, MDE).await).get("roles").is_none());
    }
    // A scope of no API the fake knows is refused, as before.
    fake.set_auto(Some("megan@contoso.example"), Some("accept")).await;
    let query =
        query_of(&location(&fake.admin_consent(DEMO_CONTOSO, &consent_callback(), Some("https://nosuch.example/.default"), "s").await));
    assert_eq!(query["error"], "invalid_scope");
}

#[tokio::test]
async fn the_demo_shows_a_partial_consent_unprovisioned_defender_and_a_consent_from_before_graph() {
    let fake = Fake::start().await;
    // Fourth Coffee consented long ago, when the app asked for the Defender XDR roles only.
    let defender = decode_claims(&fake.access_token_for(fake_entra::demo::DEMO_FOURTH_COFFEE, RESOURCE).await);
    assert_eq!(roles_of(&defender), sorted(&DEMO_ROLES));
    let graph = decode_claims(&fake.access_token_for(fake_entra::demo::DEMO_FOURTH_COFFEE, GRAPH).await);
    assert!(graph.get("roles").is_none(), "no Graph permission granted yet: {graph}");
    let directory = fake.get_json("/_fake/directory").await;
    let fourth_coffee = directory["tenants"].as_array().unwrap().iter().find(|t| t["id"] == fake_entra::demo::DEMO_FOURTH_COFFEE).unwrap();
    let granted_at = time::OffsetDateTime::parse(
        fourth_coffee["grants"][0]["granted_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(time::OffsetDateTime::now_utc() - granted_at > time::Duration::days(90), "{granted_at}");
    let app = directory["apps"].as_array().unwrap().iter().find(|a| a["client_id"] == DEMO_CLIENT_ID).unwrap();
    assert_eq!(app["permissions"], json!({"defender": DEMO_ROLES, "graph": fake_entra::demo::DEMO_GRAPH_ROLES}));
    // Its admin re-consents: now both.
    fake.set_auto(Some("lidia@fourthcoffee.example"), Some("accept")).await;
    let scope = format!("{GRAPH}/.default");
    fake.admin_consent(fake_entra::demo::DEMO_FOURTH_COFFEE, &consent_callback(), Some(&scope), "s").await;
    let graph = decode_claims(&fake.access_token_for(fake_entra::demo::DEMO_FOURTH_COFFEE, GRAPH).await);
    assert_eq!(roles_of(&graph), sorted(&fake_entra::demo::DEMO_GRAPH_ROLES));

    // Woodgrove's policy holds back all but the incidents permission of each API.
    fake.set_auto(Some("diego@woodgrove.example"), Some("accept")).await;
    fake.admin_consent(DEMO_WOODGROVE, &consent_callback(), Some(&scope), "s").await;
    assert_eq!(decode_claims(&fake.access_token_for(DEMO_WOODGROVE, GRAPH).await)["roles"], json!(["SecurityIncident.Read.All"]));
    assert_eq!(decode_claims(&fake.access_token_for(DEMO_WOODGROVE, RESOURCE).await)["roles"], json!(["Incident.Read.All"]));

    // Tailspin has no Defender: Graph answers, neither Defender API has a service principal there.
    fake.grant_permissions(DEMO_TAILSPIN, DEMO_CLIENT_ID, json!({"graph": ["SecurityIncident.Read.All"], "defender": DEMO_ROLES})).await;
    assert_eq!(decode_claims(&fake.access_token_for(DEMO_TAILSPIN, GRAPH).await)["roles"], json!(["SecurityIncident.Read.All"]));
    for resource in [RESOURCE, MDE] {
        assert_aad_error(fake.app_token_for(DEMO_TAILSPIN, resource).await, 400, "invalid_resource", 500011, fake.base()).await;
    }
}

#[tokio::test]
async fn control_api_takes_permissions_per_api_and_refuses_what_an_api_does_not_define() {
    let fake = Fake::start().await;
    let client_id = uuid::Uuid::new_v4().to_string();
    let app =
        json!({"client_id": client_id, "secret": "s", "permissions": {"graph": ["ThreatHunting.Read.All"], "mde": ["Alert.Read.All"]}});
    let response = fake.control(Method::POST, "/_fake/apps", Some(app)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["permissions"], json!({"graph": ["ThreatHunting.Read.All"], "mde": ["Alert.Read.All"]}));

    let refused = [
        (json!({"permissions": {"intune": ["Device.Read.All"]}}), "\"intune\""),
        (json!({"permissions": {"graph": ["Incident.Read.All"]}}), "\"Incident.Read.All\""),
        // The older `roles` are the Defender XDR API's: a Graph role there is not one of them.
        (json!({"roles": ["SecurityIncident.Read.All"]}), "\"SecurityIncident.Read.All\""),
        (json!({"roles": [], "permissions": {}}), "not both"),
    ];
    for (body, named) in &refused {
        let mut app = body.clone();
        app["client_id"] = json!(uuid::Uuid::new_v4().to_string());
        let response = fake.control(Method::POST, "/_fake/apps", Some(app)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let error: Value = response.json().await.unwrap();
        assert!(error["error"].as_str().unwrap().contains(named), "{error}");
        let grant = format!("/_fake/tenants/{DEMO_CONTOSO}/grants/{client_id}");
        let response = fake.control(Method::PUT, &grant, Some(body.clone())).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let error: Value = response.json().await.unwrap();
        assert!(error["error"].as_str().unwrap().contains(named), "{error}");
    }
    let grant = format!("/_fake/tenants/{DEMO_CONTOSO}/grants/{client_id}");
    fake.expect(Method::PUT, &grant, Some(json!({"enabled": true})), StatusCode::BAD_REQUEST).await;
    fake.expect(Method::PUT, &grant, Some(json!({"permissions": {"graph": ["ThreatHunting.Read.All"]}})), StatusCode::NO_CONTENT).await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id.as_str()),
        ("client_secret", "s"),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let body: Value = fake.token_request(&format!("/{DEMO_CONTOSO}/oauth2/v2.0/token"), &form).await.json().await.unwrap();
    assert_eq!(decode_claims(body["access_token"].as_str().unwrap())["roles"], json!(["ThreatHunting.Read.All"]));
    // The directory shows permissions per API; a grant of `roles` is the Defender XDR API's.
    fake.grant(DEMO_NORTHWIND, &client_id, &["Incident.Read.All"]).await;
    let directory = fake.get_json("/_fake/directory").await;
    let grant_in = |tenant: &str| {
        let tenant = directory["tenants"].as_array().unwrap().iter().find(|t| t["id"] == tenant).unwrap();
        tenant["grants"].as_array().unwrap().iter().find(|g| g["client_id"] == client_id.as_str()).unwrap()["permissions"].clone()
    };
    assert_eq!(grant_in(DEMO_CONTOSO), json!({"graph": ["ThreatHunting.Read.All"]}));
    assert_eq!(grant_in(DEMO_NORTHWIND), json!({"defender": ["Incident.Read.All"]}));
    let names: Vec<&str> = directory["apis"].as_array().unwrap().iter().map(|api| api["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["graph", "defender", "mde"]);

    // Tenants: a policy per API, APIs not provisioned, and the Defender shorthands.
    let tenant_id = uuid::Uuid::new_v4().to_string();
    let tenant = json!({"id": tenant_id, "display_name": "Adatum", "grantable_permissions": {"graph": ["SecurityIncident.Read.All"]}, "unprovisioned_apis": ["mde"]});
    let response = fake.control(Method::POST, "/_fake/tenants", Some(tenant)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["grantable_permissions"], json!({"graph": ["SecurityIncident.Read.All"]}));
    assert_eq!(created["unprovisioned_apis"], json!(["mde"]));
    fake.expect(
        Method::POST,
        &format!("/_fake/tenants/{tenant_id}/users"),
        Some(json!({"upn": "ada@adatum.example", "display_name": "Ada", "admin": true})),
        StatusCode::CREATED,
    )
    .await;
    fake.set_auto(Some("ada@adatum.example"), Some("accept")).await;
    fake.admin_consent(&tenant_id, &consent_callback(), Some(SCOPE), "s").await;
    assert_eq!(decode_claims(&fake.access_token_for(&tenant_id, GRAPH).await)["roles"], json!(["SecurityIncident.Read.All"]));
    assert_eq!(roles_of(&decode_claims(&fake.access_token_for(&tenant_id, RESOURCE).await)), sorted(&DEMO_ROLES));
    assert_aad_error(fake.app_token_for(&tenant_id, MDE).await, 400, "invalid_resource", 500011, fake.base()).await;

    let older = json!({"display_name": "Older", "domains": ["older.example"], "defender_provisioned": false, "grantable_roles": ["Incident.Read.All"]});
    let created: Value = fake.control(Method::POST, "/_fake/tenants", Some(older)).await.json().await.unwrap();
    assert_eq!(created["unprovisioned_apis"], json!(["defender"]));
    assert_eq!(created["grantable_permissions"], json!({"defender": ["Incident.Read.All"]}));
    for bad in [
        json!({"display_name": "X", "unprovisioned_apis": ["intune"]}),
        json!({"display_name": "X", "grantable_permissions": {"defender": ["Alert.Read.All"]}}),
        json!({"display_name": "X", "grantable_roles": [], "grantable_permissions": {}}),
    ] {
        fake.expect(Method::POST, "/_fake/tenants", Some(bad), StatusCode::BAD_REQUEST).await;
    }
}

#[tokio::test]
async fn api_calls_are_logged_with_the_tokens_tenant_or_none() {
    let fake = Fake::start().await;
    fake.grant_permissions(DEMO_CONTOSO, DEMO_CLIENT_ID, json!({"graph": ["SecurityIncident.Read.All"]})).await;
    let token = fake.access_token_for(DEMO_CONTOSO, GRAPH).await;
    fake.expect(Method::DELETE, "/_fake/log", None, StatusCode::NO_CONTENT).await;
    fake.call_api("/v1.0/security/incidents", Some(&token), None).await;
    fake.call_api("/v1.0/security/incidents", None, None).await;
    let log = fake.get_json("/_fake/log").await;
    assert_eq!(log[0]["tenant"], DEMO_CONTOSO, "{log}");
    assert_eq!(log[0]["status"], 200);
    assert!(log[1]["tenant"].is_null(), "no token, no tenant (not the path's first segment): {log}");
    assert_eq!(log[1]["status"], 401);
}

// ---------------------------------------------------------------------------------------------------
// The benchmark's option: app-only tokens signed once
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn app_only_tokens_are_signed_afresh_unless_the_benchmarks_cache_is_on() {
    let fake = Fake::start().await;
    fake.grant_permissions(DEMO_CONTOSO, DEMO_CLIENT_ID, json!({"graph": ["SecurityIncident.Read.All"], "defender": DEMO_ROLES})).await;
    fake.grant(DEMO_NORTHWIND, DEMO_CLIENT_ID, &DEMO_ROLES).await;
    let issuer = format!("https://sts.windows.net/{DEMO_CONTOSO}/");
    let keys = format!("/{DEMO_CONTOSO}/discovery/keys");
    // Off by default: every request is signed afresh.
    assert_ne!(fake.access_token(DEMO_CONTOSO).await, fake.access_token(DEMO_CONTOSO).await);
    assert_eq!(fake.server.fake.cached_app_tokens(), 0);

    fake.server.fake.cache_app_tokens(true);
    let defender = fake.access_token(DEMO_CONTOSO).await;
    assert_eq!(fake.access_token(DEMO_CONTOSO).await, defender, "served again");
    let v1: Value = fake.app_token_v1(DEMO_CONTOSO).await.json().await.unwrap();
    assert_eq!(v1["access_token"], defender.as_str(), "the same token, whichever endpoint");
    let claims = fake.verify(&defender, &keys, RESOURCE, &issuer).await;
    assert_eq!(roles_of(&claims), sorted(&DEMO_ROLES));
    let graph = fake.access_token_for(DEMO_CONTOSO, GRAPH).await;
    assert_eq!(fake.access_token_for(DEMO_CONTOSO, GRAPH).await, graph);
    let key = signing_key(&fake, &graph).await;
    jsonwebtoken::decode::<Value>(&with_hashed_nonce(&graph), &key, &graph_validation()).expect("a cached Graph token still verifies");
    // Another tenant, another audience: other tokens.
    let northwind = fake.access_token(DEMO_NORTHWIND).await;
    assert_eq!(decode_claims(&northwind)["tid"], DEMO_NORTHWIND);
    let by_id = fake.access_token_for(DEMO_CONTOSO, "8ee8fdad-f234-4243-8f3b-15c294843740").await;
    assert_eq!(decode_claims(&by_id)["aud"], "8ee8fdad-f234-4243-8f3b-15c294843740");
    assert_eq!(fake.server.fake.cached_app_tokens(), 4);

    // A new grant: a new token, with the new roles.
    fake.grant(DEMO_CONTOSO, DEMO_CLIENT_ID, &["Incident.Read.All"]).await;
    let regranted = fake.access_token(DEMO_CONTOSO).await;
    assert_ne!(regranted, defender);
    assert_eq!(fake.verify(&regranted, &keys, RESOURCE, &issuer).await["roles"], json!(["Incident.Read.All"]));
    // A new key: signed again, with it.
    fake.expect(Method::POST, "/_fake/keys/rotate", None, StatusCode::NO_CONTENT).await;
    let rotated = fake.access_token(DEMO_CONTOSO).await;
    assert_ne!(decode_header_json(&rotated)["kid"], decode_header_json(&regranted)["kid"]);
    fake.verify(&rotated, &keys, RESOURCE, &issuer).await;
    // Every check still runs: a fault, a wrong secret.
    fake.set_faults(DEMO_CONTOSO, json!({"token_status": 503})).await;
    assert_eq!(fake.app_token_v2(DEMO_CONTOSO).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    fake.clear_faults(DEMO_CONTOSO).await;
    let form = [("grant_type", "client_credentials"), ("client_id", DEMO_CLIENT_ID), ("client_secret", "wrong"), ("scope", SCOPE)];
    assert_aad_error(
        fake.token_request(&format!("/{DEMO_CONTOSO}/oauth2/v2.0/token"), &form).await,
        401,
        "invalid_client",
        7000215,
        fake.base(),
    )
    .await;

    fake.server.fake.cache_app_tokens(false);
    assert_eq!(fake.server.fake.cached_app_tokens(), 0);
    assert_ne!(fake.access_token(DEMO_CONTOSO).await, fake.access_token(DEMO_CONTOSO).await);
}

// ---------------------------------------------------------------------------------------------------
// A directory file
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_directory_file_naming_a_role_its_api_does_not_define_stops_the_fake_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let mut directory = serde_json::to_value(fake_entra::demo::default_directory(PORTAL)).unwrap();
    directory["apps"][0]["permissions"]["defender"] = json!(["Alert.Read.All"]);
    let path = dir.path().join("directory.json");
    std::fs::write(&path, directory.to_string()).unwrap();
    let args = fake_entra::cli::FakeEntraArgs {
        bind: "127.0.0.1:0".into(),
        public_url: None,
        directory: Some(path.clone()),
        portal_url: PORTAL.into(),
        tls_cert: None,
        tls_key: None,
        tls_self_signed: None,
        allow_remote: false,
    };
    // Refused at once; were it to start, the shutdown signal would stop it after a while with exit 0.
    let code = fake_entra::cli::run(args.clone(), tokio::time::sleep(Duration::from_secs(5))).await;
    assert_eq!(code, std::process::ExitCode::from(2));
    // The demo directory as written by GET /_fake/directory loads again (its permissions are known).
    let valid = serde_json::to_value(fake_entra::demo::default_directory(PORTAL)).unwrap();
    let loaded: fake_entra::directory::Directory = serde_json::from_value(valid).unwrap();
    loaded.check().unwrap();
    assert_eq!(loaded.tenants.len(), 6);
}

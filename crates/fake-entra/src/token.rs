//! The token endpoint, v2 (`/{tenant}/oauth2/v2.0/token`, `scope=`) and v1 (`/{tenant}/oauth2/token`,
//! `resource=`): `client_credentials` for app-only tokens, `authorization_code` for sign-in and the v1
//! consent link, and `refresh_token` for the refresh tokens those hand out (a sign-in only with
//! `offline_access`). Clients authenticate with `client_secret` (form or HTTP Basic) or a
//! `client_assertion` signed with a registered certificate, which may be used again until its `exp`.
//!
//! An app-only token's `aud` is the resource exactly as the request named it (v1 `resource=`, or the
//! part of a v2 scope before `/.default`): a URI, an older URI of the same API, or its application id.
//!
//! Check order (Microsoft's is not documented; this one gives each AADSTS error Microsoft documents a way to appear):
//! tenant (900023, 90002) → faults → grant type → client (700016) → the app's service principal in the
//! tenant (700016 never consented, 7000229 deleted, 7000112 disabled) → scope (1002012, 70011) and
//! resource (500011) → credentials (7000218, 7000215, 7000222, assertion errors).

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::directory::{Api, AppRegistration, DEFENDER_API, Directory, Faults, GRAPH_API};
use super::errors::{AadError, throttled, token_endpoint_headers};
use super::interactive::{AuthCode, CodeFlow};
use super::{FakeEntra, SharedFake, TenantSegment, dropped_connection, faults_of, issuer_v1, resolve_tenant, unix_now, with_log_detail};
use crate::TenantId;
use crate::token_cache::Variable;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Lifetime of the access tokens the fake issues (Microsoft: 60 to 90 minutes).
const ACCESS_TOKEN_SECONDS: i64 = 3599;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Version {
    V1,
    V2,
}

pub async fn token_v2(State(fake): State<SharedFake>, Path(tenant): Path<String>, headers: HeaderMap, body: String) -> Response {
    token(fake, Version::V2, tenant, headers, body).await
}

pub async fn token_v1(State(fake): State<SharedFake>, Path(tenant): Path<String>, headers: HeaderMap, body: String) -> Response {
    token(fake, Version::V1, tenant, headers, body).await
}

async fn token(fake: SharedFake, version: Version, tenant: String, headers: HeaderMap, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let grant_type = form.get("grant_type").cloned();
    let resolved = resolve_tenant(&fake.state().directory, &tenant);
    let (response, tenant_for_log) = match resolved {
        Err(error) => (error.into_json_response(&fake.public_url), tenant.clone()),
        Ok(segment) => {
            let log_tenant = match segment {
                TenantSegment::Tenant(id) => id.to_string(),
                _ => tenant.clone(),
            };
            let response = match apply_faults(&fake, segment).await {
                Some(faulted) => faulted,
                None => match grant_type.as_deref() {
                    None => AadError::missing_parameter("grant_type").into_json_response(&fake.public_url),
                    Some("client_credentials") => client_credentials(&fake, version, segment, &tenant, &headers, &form),
                    Some("authorization_code") => authorization_code(&fake, segment, &tenant, &headers, &form),
                    Some("refresh_token") => refresh_token(&fake, segment, &tenant, &headers, &form),
                    Some(_) => AadError::unsupported_grant_type().into_json_response(&fake.public_url),
                },
            };
            (response, log_tenant)
        }
    };
    with_log_detail(response, Some(tenant_for_log), grant_type)
}

/// Latency, a forced status, a garbage body or a dropped connection, as the tenant's faults say.
async fn apply_faults(fake: &FakeEntra, segment: TenantSegment) -> Option<Response> {
    let TenantSegment::Tenant(tenant) = segment else { return None };
    let faults: Faults = faults_of(fake, tenant);
    if let Some(ms) = faults.token_latency_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if faults.drop_connection == Some(true) {
        return Some(dropped_connection());
    }
    if let Some(status) = faults.token_status {
        return Some(forced_status(status, faults.retry_after_s));
    }
    if faults.garbage == Some(true) {
        return Some(
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], "<html>upstream error ���").into_response(),
        );
    }
    None
}

/// The answer for a forced status: throttling as Microsoft throttles, a server error with an
/// AADSTS-like body.
pub fn forced_status(status: u16, retry_after_s: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == StatusCode::TOO_MANY_REQUESTS {
        return throttled(retry_after_s.unwrap_or(60));
    }
    let mut response =
        (status, Json(json!({"error": "temporarily_unavailable", "error_description": "AADSTS50196: The server is temporarily unavailable.", "error_codes": [50196]}))).into_response();
    if let Some(seconds) = retry_after_s.filter(|_| status == StatusCode::SERVICE_UNAVAILABLE)
        && let Ok(value) = seconds.to_string().parse()
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn client_credentials(
    fake: &FakeEntra,
    version: Version,
    segment: TenantSegment,
    tenant_segment: &str,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Response {
    let host = &fake.public_url;
    let tenant_id = match segment {
        TenantSegment::Tenant(tenant_id) => tenant_id,
        TenantSegment::Organizations => return AadError::no_tenant_in_request().into_json_response(host),
        TenantSegment::Common | TenantSegment::Consumers => return AadError::grant_not_on_common().into_json_response(host),
    };
    let (client_id, basic_secret) = client_id_and_basic_secret(headers, form);
    let Some(client_id) = client_id else {
        return AadError::missing_parameter("client_id").into_json_response(host);
    };
    let directory = fake.directory_for(tenant_id, &client_id);
    let Some(tenant) = directory.tenant(tenant_id) else {
        return AadError::tenant_not_found(tenant_segment).into_json_response(host);
    };
    let Some(app) = directory.app(&client_id) else {
        return AadError::app_not_found(&client_id, &tenant.display_name).into_json_response(host);
    };
    let grant = match tenant.grant(&app.client_id) {
        None => return AadError::app_not_found(&client_id, &tenant.display_name).into_json_response(host),
        Some(grant) if grant.deleted => {
            return AadError::service_principal_missing(&app.client_id, &tenant.id.to_string()).into_json_response(host);
        }
        Some(grant) if !grant.enabled => {
            return AadError::service_principal_disabled(&app.client_id, &app.display_name).into_json_response(host);
        }
        Some(grant) => grant.clone(),
    };
    let (audience, api) = match requested_api(&directory, version, form, tenant_id) {
        Ok(found) => found,
        Err(error) => return error.into_json_response(host),
    };
    if !tenant.is_provisioned(&api.name) {
        return AadError::resource_missing(&audience, tenant_id).into_json_response(host);
    }
    let credential = match authenticate(fake, app, tenant_id, basic_secret.as_deref(), form) {
        Ok(credential) => credential,
        Err(error) => return error.into_json_response(host),
    };
    let now = unix_now();
    let roles_visible = tenant.faults.roles_delay_s.is_none_or(|delay| now >= grant.granted_at.unix_timestamp() + delay as i64);
    // A token carries only the roles granted on the API it is for; none at all (no `roles` claim) for
    // an API the app has no permission on, as Microsoft's.
    let roles: &[String] = if roles_visible { grant.permissions.roles(&api.name) } else { &[] };
    let token = AppOnlyToken {
        audience: &audience,
        tenant: tenant_id,
        app,
        acr: credential.acr(),
        object_id: &grant.object_id,
        roles,
        graph: api.name == GRAPH_API,
    };
    let access_token = match token.sign(fake, now) {
        Ok(token) => token,
        Err(error) => return (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    };
    success(version, access_token, &audience, now, None)
}

/// What an app-only token says.
struct AppOnlyToken<'a> {
    audience: &'a str,
    tenant: TenantId,
    app: &'a AppRegistration,
    acr: &'static str,
    object_id: &'a str,
    roles: &'a [String],
    /// A Microsoft Graph token: signed over a hashed header nonce.
    graph: bool,
}

impl AppOnlyToken<'_> {
    fn claims(&self, variable: &Variable) -> Value {
        let [aio, rh, uti] = variable.opaque.map(|bytes| URL_SAFE_NO_PAD.encode(bytes));
        let mut claims = json!({
            "aud": self.audience,
            "iss": issuer_v1(self.tenant),
            "iat": variable.issued_at,
            "nbf": variable.issued_at,
            "exp": variable.expires_at,
            "aio": aio,
            "app_displayname": self.app.display_name,
            "appid": self.app.client_id,
            "appidacr": self.acr,
            "idp": issuer_v1(self.tenant),
            "oid": self.object_id,
            "rh": format!("0.{rh}."),
            "sub": self.object_id,
            "tid": self.tenant.to_string(),
            "uti": uti,
            "ver": "1.0",
        });
        if !self.roles.is_empty() {
            claims["roles"] = json!(self.roles);
        }
        claims
    }

    /// Signs the token, or, with the benchmark's cache on, serves the signature of the same token
    /// signed earlier with the current key (see [`crate::token_cache`]).
    fn sign(&self, fake: &FakeEntra, now: i64) -> anyhow::Result<String> {
        let keys = fake.keys();
        let nonce_of = |variable: &Variable| variable.nonce.map(|bytes| URL_SAFE_NO_PAD.encode(bytes));
        let caching = fake.app_token_cache().is_some();
        if !caching {
            let variable = Variable::fresh(now, ACCESS_TOKEN_SECONDS, self.graph);
            let (sent, signed) = keys.unsigned_parts(&self.claims(&variable), nonce_of(&variable).as_deref())?;
            return Ok(format!("{sent}.{}", URL_SAFE_NO_PAD.encode(keys.signature_over(&signed)?)));
        }
        let key = self.cache_key(&keys.current().kid)?;
        let cached = fake.app_token_cache().as_ref().and_then(|cache| cache.get(&key, now));
        let (variable, signature, fresh) = match cached {
            Some((variable, signature)) => (variable, signature, false),
            None => (Variable::fresh(now, ACCESS_TOKEN_SECONDS, self.graph), Box::default(), true),
        };
        let (sent, signed) = keys.unsigned_parts(&self.claims(&variable), nonce_of(&variable).as_deref())?;
        let signature = if fresh {
            let signature: Box<[u8]> = keys.signature_over(&signed)?.into();
            if let Some(cache) = fake.app_token_cache().as_mut() {
                cache.put(key, variable, signature.clone());
            }
            signature
        } else {
            signature
        };
        Ok(format!("{sent}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// Everything the token's signature depends on but its variable parts: the claims with those left
    /// out, the signing key, and whether it is a Graph token.
    fn cache_key(&self, kid: &str) -> anyhow::Result<[u8; 32]> {
        let mut stable = self.claims(&Variable { issued_at: 0, expires_at: 0, opaque: [[0; 16]; 3], nonce: None });
        if let Some(claims) = stable.as_object_mut() {
            for variable in ["iat", "nbf", "exp", "aio", "rh", "uti"] {
                claims.remove(variable);
            }
        }
        let mut digest = Sha256::new();
        digest.update(kid.as_bytes());
        digest.update([u8::from(self.graph)]);
        digest.update(serde_json::to_vec(&stable)?);
        Ok(digest.finalize().into())
    }
}

/// The audience a client-credentials request asks for, exactly as written (v2: the scope less its
/// `/.default`; v1: `resource=`), and the API it names.
fn requested_api<'d>(
    directory: &'d Directory,
    version: Version,
    form: &HashMap<String, String>,
    tenant_id: TenantId,
) -> Result<(String, &'d Api), AadError> {
    let audience = match version {
        Version::V2 => {
            let Some(scope) = form.get("scope") else { return Err(AadError::missing_parameter("scope")) };
            let scope = scope.trim();
            if scope.split_whitespace().any(|one| !one.ends_with("/.default")) {
                return Err(AadError::scope_without_default(scope));
            }
            let Some(audience) = scope.strip_suffix("/.default").filter(|_| scope.split_whitespace().count() == 1) else {
                return Err(AadError::invalid_scope(scope));
            };
            audience
        }
        Version::V1 => {
            let Some(resource) = form.get("resource") else { return Err(AadError::missing_parameter("resource")) };
            resource.as_str()
        }
    };
    match directory.api_named(audience) {
        Some(api) => Ok((audience.to_owned(), api)),
        None => Err(AadError::resource_missing(audience, tenant_id)),
    }
}

fn success(version: Version, access_token: String, resource: &str, now: i64, extra: Option<Value>) -> Response {
    let mut body = match version {
        Version::V2 => json!({
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
            "ext_expires_in": ACCESS_TOKEN_SECONDS,
            "access_token": access_token,
        }),
        Version::V1 => json!({
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_SECONDS.to_string(),
            "ext_expires_in": ACCESS_TOKEN_SECONDS.to_string(),
            "expires_on": (now + ACCESS_TOKEN_SECONDS).to_string(),
            "not_before": now.to_string(),
            "resource": resource,
            "access_token": access_token,
        }),
    };
    if let (Some(Value::Object(extra)), Some(object)) = (extra, body.as_object_mut()) {
        object.extend(extra);
    }
    let mut response = (StatusCode::OK, Json(body)).into_response();
    token_endpoint_headers(response.headers_mut());
    response
}

/// How the client proved itself.
enum Credential {
    Secret,
    Certificate,
}

impl Credential {
    /// `appidacr`: "1" for a secret, "2" for a certificate.
    fn acr(&self) -> &'static str {
        match self {
            Credential::Secret => "1",
            Credential::Certificate => "2",
        }
    }
}

/// `client_id` from the form or from HTTP Basic, and the secret from HTTP Basic.
fn client_id_and_basic_secret(headers: &HeaderMap, form: &HashMap<String, String>) -> (Option<String>, Option<String>) {
    let basic = crate::authorization::credentials(headers, "Basic")
        .and_then(|encoded| STANDARD.decode(encoded).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            let decode = |s: &str| url::form_urlencoded::parse(format!("v={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
            Some((decode(id)?, decode(secret)?))
        });
    match (form.get("client_id"), basic) {
        (Some(id), basic) => (Some(id.clone()), basic.map(|(_, secret)| secret)),
        (None, Some((id, secret))) => (Some(id), Some(secret)),
        (None, None) => (None, None),
    }
}

fn authenticate(
    fake: &FakeEntra,
    app: &AppRegistration,
    tenant_id: TenantId,
    basic_secret: Option<&str>,
    form: &HashMap<String, String>,
) -> Result<Credential, AadError> {
    if let Some(assertion) = form.get("client_assertion") {
        if form.get("client_assertion_type").map(String::as_str) != Some(ASSERTION_TYPE) {
            return Err(AadError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                50027,
                "Invalid client_assertion_type: it must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
            ));
        }
        verify_assertion(fake, app, tenant_id, assertion)?;
        return Ok(Credential::Certificate);
    }
    let Some(secret) = form.get("client_secret").map(String::as_str).or(basic_secret) else {
        return Err(AadError::missing_credentials());
    };
    let Some(registered) = app.secrets.iter().find(|s| s.value == secret) else {
        return Err(AadError::wrong_secret(&app.client_id));
    };
    if registered.expires_at.is_some_and(|at| at <= time::OffsetDateTime::now_utc()) {
        return Err(AadError::expired_secret(&app.client_id));
    }
    Ok(Credential::Secret)
}

#[derive(Deserialize)]
struct AssertionClaims {
    aud: Value,
    iss: String,
    sub: String,
    jti: Option<String>,
}

/// Checks a client assertion as Microsoft does: signed (RS256 with `x5t`, or PS256 with `x5t#S256`) by
/// a certificate registered on the app; `aud` the token endpoint of this tenant; `iss` = `sub` = the
/// client id; within `nbf`..`exp` (five minutes of clock skew); a `jti`. Microsoft's
/// certificate-credentials document lets an assertion be used until its `exp`, and MSAL and
/// azure-identity send the same one for minutes, so a repeated `jti` is accepted like a new one.
///
/// Codes: 700027 (certificate not registered or bad signature), 700024 (time range), 700021 (`iss` or
/// `sub` not the client id) are Microsoft's; for a wrong `aud` Microsoft's exact code is not
/// documented, and the fake answers 50013 with the reason.
fn verify_assertion(fake: &FakeEntra, app: &AppRegistration, tenant_id: TenantId, assertion: &str) -> Result<(), AadError> {
    let header =
        jsonwebtoken::decode_header(assertion).map_err(|_| AadError::invalid_assertion(50027, "JWT token is invalid or malformed."))?;
    // MSAL for Python sends `x5t` base64url *with* padding (`...=`), and Microsoft accepts it: compare
    // thumbprints without padding.
    let unpadded = |value: &Option<String>| value.as_deref().map(|v| v.trim_end_matches('=').to_owned());
    let (x5t, x5t_s256) = (unpadded(&header.x5t), unpadded(&header.x5t_s256));
    let certificate = app
        .certificates
        .iter()
        .filter_map(|pem| certificate_key(pem))
        .find(|(sha1, sha256, _)| match header.alg {
            Algorithm::RS256 | Algorithm::PS256 => x5t.as_deref() == Some(sha1.as_str()) || x5t_s256.as_deref() == Some(sha256.as_str()),
            _ => false,
        })
        .map(|(_, _, key)| key)
        .ok_or_else(|| {
            AadError::invalid_assertion(
                700027,
                "Client assertion failed signature validation. The certificate used to sign the assertion is not registered on the application.",
            )
        })?;
    let mut validation = Validation::new(header.alg);
    validation.validate_aud = false;
    validation.leeway = 300;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, &certificate, &validation)
        .map_err(|error| match error.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature | jsonwebtoken::errors::ErrorKind::ImmatureSignature => {
                AadError::invalid_assertion(700024, "Client assertion is not within its valid time range.")
            }
            jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                AadError::invalid_assertion(700027, "Client assertion failed signature validation.")
            }
            other => AadError::invalid_assertion(50027, &format!("JWT token is invalid or malformed ({other:?}).")),
        })?
        .claims;
    if claims.iss != app.client_id || claims.sub != app.client_id {
        return Err(AadError::invalid_assertion(700021, "Client assertion application identifier doesn't match 'client_id' parameter."));
    }
    let audiences: Vec<&str> = match &claims.aud {
        Value::String(aud) => vec![aud.as_str()],
        Value::Array(values) => values.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.iter().any(|aud| assertion_audience_is_ours(fake, tenant_id, aud)) {
        return Err(AadError::invalid_assertion(
            50013,
            "Assertion failed signature validation. [Reason - The provided audience is not the token endpoint of this tenant.]",
        ));
    }
    if claims.jti.is_none() {
        return Err(AadError::invalid_assertion(50027, "JWT token is invalid or malformed: the jti claim is missing."));
    }
    Ok(())
}

/// An assertion's `aud` must be this fake's token endpoint (v1 or v2) for this tenant (by id, domain,
/// or the multi-tenant aliases).
fn assertion_audience_is_ours(fake: &FakeEntra, tenant_id: TenantId, aud: &str) -> bool {
    let Some(rest) = aud.strip_prefix(&fake.public_url) else { return false };
    let rest = rest.trim_start_matches('/');
    let Some((segment, endpoint)) = rest.split_once('/') else { return false };
    if endpoint != "oauth2/v2.0/token" && endpoint != "oauth2/token" {
        return false;
    }
    match resolve_tenant(&fake.state().directory, segment) {
        Ok(TenantSegment::Tenant(id)) => id == tenant_id,
        Ok(TenantSegment::Organizations | TenantSegment::Common) => true,
        _ => false,
    }
}

/// A registered certificate's SHA-1 and SHA-256 thumbprints (base64url) and public key.
fn certificate_key(pem: &str) -> Option<(String, String, DecodingKey)> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let der = pem.contents;
    let (_, certificate) = x509_parser::parse_x509_certificate(&der).ok()?;
    let key = match certificate.public_key().parsed().ok()? {
        x509_parser::public_key::PublicKey::RSA(rsa) => DecodingKey::from_rsa_raw_components(rsa.modulus, rsa.exponent),
        _ => return None,
    };
    let sha1 = URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&der));
    let sha256 = URL_SAFE_NO_PAD.encode(Sha256::digest(&der));
    Some((sha1, sha256, key))
}

/// What a refresh token stands for: the sign-in (or v1 consent) it continues.
#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub client_id: String,
    pub user_id: String,
    pub flow: CodeFlow,
    pub session_id: String,
    pub expires_at: i64,
}

/// Microsoft's refresh tokens last 90 days (*Refresh tokens in the Microsoft identity platform*).
const REFRESH_TOKEN_SECONDS: i64 = 90 * 24 * 3600;
/// Bound on the refresh tokens kept, so that a long demo's memory stays bounded.
const MAX_REFRESH_TOKENS: usize = 10_000;

/// Redeems a code. The answer's shape follows the flow that issued the code (OpenID Connect or the v1
/// consent link), whichever endpoint redeems it.
fn authorization_code(
    fake: &FakeEntra,
    segment: TenantSegment,
    tenant_segment: &str,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Response {
    let host = &fake.public_url;
    let Some(code) = form.get("code") else {
        return AadError::missing_parameter("code").into_json_response(host);
    };
    let (client_id, basic_secret) = client_id_and_basic_secret(headers, form);
    let Some(client_id) = client_id else {
        return AadError::missing_parameter("client_id").into_json_response(host);
    };
    // The client authenticates before the code is looked at (RFC 6749 §4.1.3), as Microsoft's: a
    // refused credential (an unknown or expired secret) leaves the code usable, so a client holding
    // two credentials during a rotation can redeem it with the other.
    let peeked: Option<AuthCode> = fake.state().codes.get(code).cloned();
    if let Some(peeked) = peeked.filter(|p| p.client_id.eq_ignore_ascii_case(&client_id)) {
        let directory = fake.directory_for_user(&peeked.user_id, &peeked.client_id);
        if let (Some((tenant, _)), Some(app)) = (directory.user(&peeked.user_id), directory.app(&peeked.client_id))
            && (!app.secrets.is_empty() || !app.certificates.is_empty())
            && let Err(error) = authenticate(fake, app, tenant.id, basic_secret.as_deref(), form)
        {
            return error.into_json_response(host);
        }
    }
    let pending: Option<AuthCode> = {
        let mut state = fake.state();
        if state.redeemed_codes.contains(code) {
            return AadError::invalid_grant(
                54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
            )
            .into_json_response(host);
        }
        let pending = state.codes.remove(code);
        if pending.is_some() {
            state.redeemed_codes.push_back(code.clone());
            if state.redeemed_codes.len() > 1000 {
                state.redeemed_codes.pop_front();
            }
        }
        pending
    };
    let Some(pending) = pending else {
        return AadError::invalid_grant(9002313, "Invalid request. Request is malformed or invalid: the code is not valid.")
            .into_json_response(host);
    };
    if pending.expires_at < unix_now() {
        return AadError::invalid_grant(70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
            .into_json_response(host);
    }
    if !pending.client_id.eq_ignore_ascii_case(&client_id) {
        return AadError::invalid_grant(
            70000,
            "The provided value for the 'code' parameter is not valid: it was issued to another client.",
        )
        .into_json_response(host);
    }
    if form.get("redirect_uri") != Some(&pending.redirect_uri) {
        return AadError::invalid_grant(
            500112,
            "The reply address does not match the reply address provided when requesting the authorization code.",
        )
        .into_json_response(host);
    }
    if let Some(challenge) = &pending.code_challenge {
        let Some(verifier) = form.get("code_verifier") else {
            return AadError::invalid_grant(
                50148,
                "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.",
            )
            .into_json_response(host);
        };
        if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != *challenge {
            return AadError::invalid_grant(
                50148,
                "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.",
            )
            .into_json_response(host);
        }
    }
    let grant = RefreshGrant {
        client_id,
        user_id: pending.user_id,
        flow: pending.flow,
        session_id: pending.session_id,
        expires_at: unix_now() + REFRESH_TOKEN_SECONDS,
    };
    user_tokens(fake, segment, tenant_segment, basic_secret.as_deref(), form, grant)
}

/// `grant_type=refresh_token`: new tokens for the sign-in a refresh token continues (the ID token
/// without the first sign-in's nonce), and a new refresh token; the one redeemed stays valid until it
/// expires, as Microsoft's do.
fn refresh_token(
    fake: &FakeEntra,
    segment: TenantSegment,
    tenant_segment: &str,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Response {
    let host = &fake.public_url;
    let Some(refresh_token) = form.get("refresh_token") else {
        return AadError::missing_parameter("refresh_token").into_json_response(host);
    };
    let (client_id, basic_secret) = client_id_and_basic_secret(headers, form);
    let Some(client_id) = client_id else {
        return AadError::missing_parameter("client_id").into_json_response(host);
    };
    let found = fake.state().refresh_tokens.get(refresh_token).cloned();
    let Some(mut grant) = found.filter(|grant| grant.expires_at > unix_now()) else {
        return AadError::invalid_grant(9002313, "Invalid request. Request is malformed or invalid: the refresh token is not valid.")
            .into_json_response(host);
    };
    if !grant.client_id.eq_ignore_ascii_case(&client_id) {
        return AadError::invalid_grant(70000, "The provided refresh token was issued to another client.").into_json_response(host);
    }
    if let CodeFlow::OpenIdConnect { nonce, .. } = &mut grant.flow {
        *nonce = None;
    }
    grant.expires_at = unix_now() + REFRESH_TOKEN_SECONDS;
    user_tokens(fake, segment, tenant_segment, basic_secret.as_deref(), form, grant)
}

/// Keeps a new refresh token for `grant` and returns it.
fn issue_refresh_token(fake: &FakeEntra, grant: &RefreshGrant) -> String {
    let token = format!("1.{}", super::random_token());
    let mut state = fake.state();
    let now = unix_now();
    state.refresh_tokens.retain(|_, kept| kept.expires_at > now);
    if state.refresh_tokens.len() >= MAX_REFRESH_TOKENS
        && let Some(oldest) = state.refresh_tokens.iter().min_by_key(|(_, kept)| kept.expires_at).map(|(token, _)| token.clone())
    {
        state.refresh_tokens.remove(&oldest);
    }
    state.refresh_tokens.insert(token.clone(), grant.clone());
    token
}

/// The tokens of a user's sign-in (or v1 consent), for a code or a refresh token: the client is
/// authenticated when it is confidential, and the user must still exist in the tenant of the path.
fn user_tokens(
    fake: &FakeEntra,
    segment: TenantSegment,
    tenant_segment: &str,
    basic_secret: Option<&str>,
    form: &HashMap<String, String>,
    grant: RefreshGrant,
) -> Response {
    let host = &fake.public_url;
    let directory = fake.directory_for_user(&grant.user_id, &grant.client_id);
    let Some((tenant, user)) = directory.user(&grant.user_id) else {
        return AadError::invalid_grant(70000, "The user of this grant no longer exists.").into_json_response(host);
    };
    if let TenantSegment::Tenant(id) = segment
        && id != tenant.id
    {
        return AadError::invalid_grant(70000, &format!("The grant was issued for another tenant than '{tenant_segment}'."))
            .into_json_response(host);
    }
    let Some(app) = directory.app(&grant.client_id) else {
        return AadError::app_not_found(&grant.client_id, &tenant.display_name).into_json_response(host);
    };
    if !app.secrets.is_empty() || !app.certificates.is_empty() {
        // A confidential client (a web app) must authenticate to redeem a code or a refresh token.
        if let Err(error) = authenticate(fake, app, tenant.id, basic_secret, form) {
            return error.into_json_response(host);
        }
    }
    let now = unix_now();
    let pairwise_sub = URL_SAFE_NO_PAD.encode(Sha256::digest(format!("{}:{}", user.id, app.client_id).as_bytes()));
    match &grant.flow {
        CodeFlow::OpenIdConnect { nonce, scope } => {
            let mut id_claims = json!({
                "aud": app.client_id,
                "iss": fake.issuer_v2(&tenant.id.to_string()),
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
                "aio": random_opaque(),
                "name": user.display_name,
                "oid": user.id,
                "preferred_username": user.upn,
                "email": user.upn,
                "rh": format!("0.{}.", random_opaque()),
                "sid": grant.session_id,
                "sub": pairwise_sub,
                "tid": tenant.id.to_string(),
                "uti": random_opaque(),
                "ver": "2.0",
            });
            if let Some(nonce) = nonce {
                id_claims["nonce"] = json!(nonce);
            }
            if !user.app_roles.is_empty() && tenant.grant(&app.client_id).is_some() {
                id_claims["roles"] = json!(user.app_roles);
            }
            // The access token of a sign-in is for Microsoft Graph: it carries a nonce header and
            // cannot be verified by anyone but Graph, as Microsoft's own are.
            let graph_claims = json!({
                "aud": "00000003-0000-0000-c000-000000000000",
                "iss": issuer_v1(tenant.id),
                "iat": now, "nbf": now, "exp": now + ACCESS_TOKEN_SECONDS,
                "app_displayname": app.display_name, "appid": app.client_id, "appidacr": "1",
                "name": user.display_name, "oid": user.id, "scp": "openid profile email User.Read",
                "sub": pairwise_sub, "tid": tenant.id.to_string(), "upn": user.upn, "ver": "1.0",
            });
            let keys = fake.keys();
            let (Ok(id_token), Ok(access_token)) = (keys.sign(&id_claims), keys.sign_with_nonce_header(&graph_claims)) else {
                return (StatusCode::INTERNAL_SERVER_ERROR, "signing failed").into_response();
            };
            drop(keys);
            let mut body = json!({
                "token_type": "Bearer",
                "scope": format!("{scope} User.Read").trim().to_owned(),
                "expires_in": ACCESS_TOKEN_SECONDS,
                "ext_expires_in": ACCESS_TOKEN_SECONDS,
                "access_token": access_token,
                "id_token": id_token,
            });
            // A refresh token only for a sign-in that asked for `offline_access`.
            if scope.split_whitespace().any(|one| one.eq_ignore_ascii_case("offline_access")) {
                body["refresh_token"] = json!(issue_refresh_token(fake, &grant));
            }
            let mut response = (StatusCode::OK, Json(body)).into_response();
            token_endpoint_headers(response.headers_mut());
            response
        }
        CodeFlow::V1 { resource } => {
            let resource = form
                .get("resource")
                .cloned()
                .or_else(|| resource.clone())
                .or_else(|| directory.api(DEFENDER_API).map(|api| api.uri.clone()))
                .unwrap_or_default();
            // A delegated v1 access token for the resource, signed: the client learns the tenant from
            // its `tid`. The v1 ID token of this answer is unsigned (`alg: none`), as Microsoft's is, so
            // it proves nothing.
            let access_claims = json!({
                "aud": resource,
                "iss": issuer_v1(tenant.id),
                "iat": now, "nbf": now, "exp": now + ACCESS_TOKEN_SECONDS,
                "acr": "1", "aio": random_opaque(), "amr": ["pwd"],
                "app_displayname": app.display_name, "appid": app.client_id, "appidacr": "1",
                "idp": issuer_v1(tenant.id), "name": user.display_name, "oid": user.id,
                "scp": "user_impersonation", "sub": pairwise_sub, "tid": tenant.id.to_string(),
                "unique_name": user.upn, "upn": user.upn, "uti": random_opaque(), "ver": "1.0",
            });
            let id_claims = json!({
                "aud": app.client_id, "iss": issuer_v1(tenant.id), "iat": now, "nbf": now, "exp": now + 3600,
                "amr": ["pwd"], "name": user.display_name, "oid": user.id, "sub": pairwise_sub,
                "tid": tenant.id.to_string(), "unique_name": user.upn, "upn": user.upn, "ver": "1.0",
            });
            // A Graph token is signed as Microsoft signs Graph's, over its hashed header nonce.
            let for_graph = directory.api_named(&resource).is_some_and(|api| api.name == GRAPH_API);
            let signed = if for_graph { fake.keys().sign_with_nonce_header(&access_claims) } else { fake.keys().sign(&access_claims) };
            let Ok(access_token) = signed else {
                return (StatusCode::INTERNAL_SERVER_ERROR, "signing failed").into_response();
            };
            // The v1 endpoint always answers with a refresh token.
            let extra = json!({
                "scope": "user_impersonation",
                "refresh_token": issue_refresh_token(fake, &grant),
                "id_token": super::keys::unsigned_token(&id_claims),
            });
            success(Version::V1, access_token, &resource, now, Some(extra))
        }
    }
}

/// An opaque random value such as Microsoft puts in `aio`, `uti` and `rh`.
fn random_opaque() -> String {
    URL_SAFE_NO_PAD.encode(Uuid::new_v4().as_bytes())
}

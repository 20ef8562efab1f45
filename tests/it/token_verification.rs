//! docs/security.md, "Tokens the dashboard validates": every forged or misdirected token is refused with its
//! reason by `EntraClient::verify_access_token` / `verify_id_token`, against the built-in fake's real
//! JWKS over HTTP; valid tokens pass; a `roles` claim of any shape never crashes the role comparison.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::helpers::*;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use consent_portal::config::Config;
use consent_portal::config::demo_config;
use consent_portal::domain::{Api, TenantId, hash_secret};
use consent_portal::entra::{EntraClient, VerifyError, roles_diff};
use fake_entra::demo::DEMO_CLIENT_ID;
use fake_entra::demo::{DEMO_CONTOSO, DEMO_NORTHWIND};
use fake_entra::server::FakeServer;
use fake_entra::{FakeEntra, issuer_v1};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use tempfile::TempDir;

const RESOURCE: &str = "https://api.security.microsoft.com";
const OTHER_APP: &str = "0b7e5a1c-2d3f-4e5a-9b6c-7d8e9f0a1b2c";

/// A fake identity platform on HTTP and a client of our own pointed at it (the demo configuration).
struct Rig {
    fake: FakeServer,
    entra: EntraClient,
    config: Config,
    http: reqwest::Client,
    _dir: TempDir,
}

async fn rig() -> Rig {
    let fake = spawn_fake("http://127.0.0.1:9").await;
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config("127.0.0.1:9".parse().unwrap(), &fake.url, database_in(dir.path())).unwrap();
    assert_eq!(config.client_id, DEMO_CLIENT_ID);
    assert!(config.required.iter().any(|r| r.api == Api::Defender && r.resource == RESOURCE));
    let entra = EntraClient::new(&config).unwrap();
    Rig { fake, entra, config, http: reqwest::Client::new(), _dir: dir }
}

impl Rig {
    /// The Defender XDR roles the demo requires (it requires Microsoft Graph's too).
    fn defender_roles(&self) -> Vec<consent_portal::domain::RoleName> {
        self.config.required.iter().find(|r| r.api == Api::Defender).map(|r| r.roles.clone()).unwrap_or_default()
    }

    fn fake(&self) -> &FakeEntra {
        &self.fake.fake
    }

    /// Signs RS256 with the fake's current key, exactly as the fake signs its own tokens.
    fn sign(&self, claims: &Value) -> String {
        self.fake().keys().sign(claims).unwrap()
    }

    fn current_kid(&self) -> String {
        self.fake().keys().current().kid.clone()
    }

    /// The fake's published JWK of its current key (`n`, `e`, `x5c`), as anyone can read it.
    fn published_jwk(&self) -> Value {
        self.fake().keys().current().jwk("unused")
    }

    async fn verify(&self, token: &str, expected: &str) -> Result<(TenantId, Value), VerifyError> {
        self.entra.verify_access_token(token, Some(tenant(expected)), Api::Defender, RESOURCE).await
    }

    async fn rejected(&self, token: &str, expected: &str) -> VerifyError {
        match self.verify(token, expected).await {
            Ok((tid, claims)) => panic!("a forged token was ACCEPTED for {tid}: {claims}"),
            Err(error) => error,
        }
    }

    async fn id_rejected(&self, token: &str, nonce: &str) -> VerifyError {
        match self.entra.verify_id_token(token, &hash_secret(nonce)).await {
            Ok(claims) => panic!("a forged ID token was ACCEPTED: {claims:?}"),
            Err(error) => error,
        }
    }

    /// How many times the fake's v1 JWKS of `tid` was fetched (`GET /_fake/log`).
    async fn jwks_fetches(&self, tid: &str) -> usize {
        let log: Vec<Value> = self.http.get(format!("{}/_fake/log", self.fake.url)).send().await.unwrap().json().await.unwrap();
        let path = format!("/{tid}/discovery/keys");
        log.iter().filter(|entry| entry["method"] == "GET" && entry["path"] == path.as_str()).count()
    }

    fn v2_issuer(&self, tid: &str) -> String {
        self.fake().issuer_v2(tid)
    }
}

fn tenant(tid: &str) -> TenantId {
    TenantId::parse(tid).unwrap()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The claims of a valid v1 app-only access token for the Defender API in `tid`, as Microsoft issues it.
fn access_claims(tid: &str) -> Value {
    let now = now();
    json!({
        "aud": RESOURCE,
        "iss": issuer_v1(tenant(tid)),
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "appid": DEMO_CLIENT_ID,
        "appidacr": "1",
        "idp": issuer_v1(tenant(tid)),
        "oid": "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c",
        "sub": "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c",
        "tid": tid,
        "ver": "1.0",
        "roles": ["Incident.Read.All", "AdvancedHunting.Read.All"],
    })
}

/// The claims of a valid v2 ID token of a sign-in to our app in `tid`.
fn id_claims(rig: &Rig, tid: &str, nonce: &str) -> Value {
    let now = now();
    json!({
        "aud": DEMO_CLIENT_ID,
        "iss": rig.v2_issuer(tid),
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "name": "Megan Bowen",
        "oid": "0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b6a",
        "preferred_username": "megan@contoso.example",
        "sub": "pairwise-subject",
        "tid": tid,
        "nonce": nonce,
        "ver": "2.0",
        "roles": ["Portal.Admin"],
    })
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token assembled by hand from a header, claims and signature bytes.
fn by_hand(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!("{}.{}.{}", b64(header.to_string()), b64(claims.to_string()), b64(signature))
}

/// RS256 by hand (PKCS#1 v1.5 with SHA-256) with any key and any header.
fn rs256_by_hand(header: &Value, claims: &Value, key: &RsaPrivateKey) -> String {
    let signing_input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
    let signature = signer.sign(signing_input.as_bytes()).to_vec();
    format!("{signing_input}.{}", b64(signature))
}

/// The attacker's own RSA key.
fn attacker_key() -> RsaPrivateKey {
    rsa_key()
}

/// The attacker's key as a JWK, with the `kid` they chose.
fn attacker_jwk(key: &RsaPrivateKey, kid: &str) -> Value {
    json!({
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
        "n": b64(key.n().to_bytes_be()),
        "e": b64(key.e().to_bytes_be()),
    })
}

/// A self-signed certificate of the attacker's key (for an `x5c` header), base64 DER.
fn attacker_certificate(key: &RsaPrivateKey) -> String {
    STANDARD.encode(self_signed(key, Some("accounts.accesscontrol.windows.net")).der())
}

/// An attacker's web server that serves `jwks` on every path and counts the requests it gets.
async fn attacker_server(jwks: Value) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        let jwks = jwks.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            axum::Json(jwks)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, hits)
}

// ---------------------------------------------------------------------------------------------------
// Valid tokens

#[tokio::test]
async fn a_token_signed_by_the_tenants_key_with_the_right_claims_is_valid() {
    let rig = rig().await;
    let claims = access_claims(DEMO_CONTOSO);
    let token = rig.sign(&claims);
    let (tid, verified) = rig.verify(&token, DEMO_CONTOSO).await.unwrap();
    assert_eq!(tid, tenant(DEMO_CONTOSO));
    assert_eq!(verified, claims);
    let (present, missing) = roles_diff(&rig.defender_roles(), verified.get("roles"));
    assert_eq!(present, ["Incident.Read.All", "AdvancedHunting.Read.All"]);
    assert!(missing.is_empty());

    // With no tenant expected (the v1 consent flow), the token names its tenant.
    let (tid, _) = rig.entra.verify_access_token(&token, None, Api::Defender, RESOURCE).await.unwrap();
    assert_eq!(tid, tenant(DEMO_CONTOSO));

    // `azp` (v2 access tokens) instead of `appid`; the client id compared without regard to case.
    let mut v2 = access_claims(DEMO_CONTOSO);
    v2.as_object_mut().unwrap().remove("appid");
    v2["azp"] = json!(DEMO_CLIENT_ID);
    v2["iss"] = json!(rig.v2_issuer(DEMO_CONTOSO));
    rig.verify(&rig.sign(&v2), DEMO_CONTOSO).await.unwrap();
    let mut upper = access_claims(DEMO_CONTOSO);
    upper["appid"] = json!(DEMO_CLIENT_ID.to_ascii_uppercase());
    rig.verify(&rig.sign(&upper), DEMO_CONTOSO).await.unwrap();
}

#[tokio::test]
async fn a_token_from_the_fakes_token_endpoint_after_a_grant_is_valid_and_carries_the_roles() {
    let rig = rig().await;
    let roles: Vec<String> = rig.defender_roles().iter().map(ToString::to_string).collect();
    let status = rig
        .http
        .put(format!("{}/_fake/tenants/{DEMO_CONTOSO}/grants/{DEMO_CLIENT_ID}", rig.fake.url))
        .json(&json!({ "roles": roles }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, reqwest::StatusCode::NO_CONTENT);
    let token = rig.entra.app_only_token(tenant(DEMO_CONTOSO), RESOURCE).await.unwrap();
    let (tid, claims) = rig.verify(&token.raw, DEMO_CONTOSO).await.unwrap();
    assert_eq!(tid, tenant(DEMO_CONTOSO));
    assert_eq!(claims["appid"], DEMO_CLIENT_ID);
    let (present, missing) = roles_diff(&rig.defender_roles(), claims.get("roles"));
    assert_eq!(present, roles);
    assert!(missing.is_empty(), "{missing:?}");
    // The same token is Contoso's, not Northwind's.
    assert_eq!(rig.rejected(&token.raw, DEMO_NORTHWIND).await, VerifyError::Tenant);
}

#[tokio::test]
async fn exp_and_nbf_are_checked_with_the_120_second_leeway() {
    let rig = rig().await;
    let at = |exp: i64, nbf: i64| {
        let mut claims = access_claims(DEMO_CONTOSO);
        claims["exp"] = json!(exp);
        claims["nbf"] = json!(nbf);
        claims["iat"] = json!(nbf);
        rig.sign(&claims)
    };
    let now = now();
    // Within the leeway: still valid.
    rig.verify(&at(now - 60, now - 3600), DEMO_CONTOSO).await.unwrap();
    rig.verify(&at(now + 3600, now + 60), DEMO_CONTOSO).await.unwrap();
    // Beyond it: refused with the reason.
    assert_eq!(rig.rejected(&at(now - 300, now - 3600), DEMO_CONTOSO).await, VerifyError::Expired);
    assert_eq!(rig.rejected(&at(now - 86_400, now - 90_000), DEMO_CONTOSO).await, VerifyError::Expired);
    assert_eq!(rig.rejected(&at(now + 3600, now + 300), DEMO_CONTOSO).await, VerifyError::NotYetValid);
}

// ---------------------------------------------------------------------------------------------------
// The algorithm allow-list

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let rig = rig().await;
    let claims = access_claims(DEMO_CONTOSO);
    let kid = rig.current_kid();
    for alg in ["none", "None", "NONE", "nOnE"] {
        for header in [json!({ "typ": "JWT", "alg": alg }), json!({ "typ": "JWT", "alg": alg, "kid": kid, "x5t": kid })] {
            for signature in [&b""[..], b"signature"] {
                let token = by_hand(&header, &claims, signature);
                // jsonwebtoken has no `none` algorithm: the header does not even parse.
                assert_eq!(rig.rejected(&token, DEMO_CONTOSO).await, VerifyError::Malformed, "{header}");
            }
        }
    }
    // The fake's own unsigned token (its v1 ID token shape).
    let token = fake_entra::keys::unsigned_token(&claims);
    assert_eq!(rig.rejected(&token, DEMO_CONTOSO).await, VerifyError::Malformed);
    // Also as an ID token.
    let nonce = "n-0S6_WzA2Mj";
    let token = by_hand(&json!({ "typ": "JWT", "alg": "none" }), &id_claims(&rig, DEMO_CONTOSO, nonce), b"");
    assert_eq!(rig.id_rejected(&token, nonce).await, VerifyError::Malformed);
}

#[tokio::test]
async fn hs256_keyed_with_the_tenants_public_key_is_refused() {
    let rig = rig().await;
    let jwk = rig.published_jwk();
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    let certificate = STANDARD.decode(jwk["x5c"][0].as_str().unwrap()).unwrap();
    let public = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e)).unwrap();
    // Every form a verifier might have the public key in, used as the HMAC secret.
    let secrets: Vec<Vec<u8>> = vec![
        public.to_public_key_pem(LineEnding::LF).unwrap().into_bytes(),
        public.to_pkcs1_pem(LineEnding::LF).unwrap().into_bytes(),
        public.to_public_key_der().unwrap().as_bytes().to_vec(),
        public.to_pkcs1_der().unwrap().as_bytes().to_vec(),
        certificate,
        n,
        jwk.to_string().into_bytes(),
    ];
    let kid = rig.current_kid();
    let nonce = "n-hs256";
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let mut header = Header::new(alg);
        header.kid = Some(kid.clone());
        header.x5t = Some(kid.clone());
        for secret in &secrets {
            let key = EncodingKey::from_secret(secret);
            let token = jsonwebtoken::encode(&header, &access_claims(DEMO_CONTOSO), &key).unwrap();
            assert_eq!(rig.rejected(&token, DEMO_CONTOSO).await, VerifyError::Algorithm(format!("{alg:?}")));
            let token = jsonwebtoken::encode(&header, &id_claims(&rig, DEMO_CONTOSO, nonce), &key).unwrap();
            assert_eq!(rig.id_rejected(&token, nonce).await, VerifyError::Algorithm(format!("{alg:?}")));
        }
    }
}

#[tokio::test]
async fn rsa_algorithms_other_than_rs256_are_refused_before_any_key_is_used() {
    let rig = rig().await;
    let kid = rig.current_kid();
    let attacker = attacker_key();
    for alg in ["RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"] {
        let token = rs256_by_hand(&json!({ "typ": "JWT", "alg": alg, "kid": kid }), &access_claims(DEMO_CONTOSO), &attacker);
        assert_eq!(rig.rejected(&token, DEMO_CONTOSO).await, VerifyError::Algorithm(alg.to_owned()));
    }
    // An algorithm jsonwebtoken does not know at all.
    let token = rs256_by_hand(&json!({ "typ": "JWT", "alg": "RS1", "kid": kid }), &access_claims(DEMO_CONTOSO), &attacker);
    assert_eq!(rig.rejected(&token, DEMO_CONTOSO).await, VerifyError::Malformed);
}

// ---------------------------------------------------------------------------------------------------
// Keys only from the configured JWKS

#[tokio::test]
async fn an_unknown_kid_is_refused_and_fetches_the_jwks_at_most_once_a_minute() {
    let rig = rig().await;
    let attacker = attacker_key();
    for i in 0..10 {
        let header = json!({ "typ": "JWT", "alg": "RS256", "kid": format!("forged-kid-{i}") });
        let token = rs256_by_hand(&header, &access_claims(DEMO_CONTOSO), &attacker);
        assert_eq!(rig.rejected(&token, DEMO_CONTOSO).await, VerifyError::UnknownKey);
    }
    // No kid at all.
    let token = rs256_by_hand(&json!({ "typ": "JWT", "alg": "RS256" }), &access_claims(DEMO_CONTOSO), &attacker);
    assert_eq!(rig.rejected(&token, DEMO_CONTOSO).await, VerifyError::UnknownKey);
    assert_eq!(rig.jwks_fetches(DEMO_CONTOSO).await, 1, "ten unknown kids within a minute: one JWKS fetch");

    // The one fetch cached the real keys: a valid token needs no other.
    rig.verify(&rig.sign(&access_claims(DEMO_CONTOSO)), DEMO_CONTOSO).await.unwrap();
    assert_eq!(rig.jwks_fetches(DEMO_CONTOSO).await, 1);

    // Even after the fake rolls its key over, the refresh stays rate-limited: the new kid is unknown
    // until a minute has passed since the last fetch.
    rig.fake().rotate_keys().unwrap();
    assert_eq!(rig.rejected(&rig.sign(&access_claims(DEMO_CONTOSO)), DEMO_CONTOSO).await, VerifyError::UnknownKey);
    assert_eq!(rig.jwks_fetches(DEMO_CONTOSO).await, 1);
}

#[tokio::test]
async fn a_burst_of_concurrent_unknown_kids_fetches_the_jwks_once() {
    let rig = rig().await;
    let attacker = attacker_key();
    let mut tasks = Vec::new();
    for i in 0..25 {
        let header = json!({ "typ": "JWT", "alg": "RS256", "kid": format!("burst-kid-{i}") });
        let token = rs256_by_hand(&header, &access_claims(DEMO_NORTHWIND), &attacker);
        let entra = rig.entra.clone();
        tasks.push(tokio::spawn(
            async move { entra.verify_access_token(&token, Some(tenant(DEMO_NORTHWIND)), Api::Defender, RESOURCE).await },
        ));
    }
    // Genuine tokens in the same burst wait for that one fetch and verify.
    let mut genuine = Vec::new();
    for _ in 0..5 {
        let token = rig.sign(&access_claims(DEMO_NORTHWIND));
        let entra = rig.entra.clone();
        genuine.push(tokio::spawn(async move {
            entra.verify_access_token(&token, Some(tenant(DEMO_NORTHWIND)), Api::Defender, RESOURCE).await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap_err(), VerifyError::UnknownKey);
    }
    for task in genuine {
        assert_eq!(task.await.unwrap().unwrap().0, tenant(DEMO_NORTHWIND));
    }
    assert_eq!(rig.jwks_fetches(DEMO_NORTHWIND).await, 1, "25 concurrent forged tokens and 5 genuine ones: one JWKS fetch");
}

#[tokio::test]
async fn keys_fetched_from_one_tenants_jwks_verify_another_tenants_token_without_a_fetch() {
    let rig = rig().await;
    rig.verify(&rig.sign(&access_claims(DEMO_CONTOSO)), DEMO_CONTOSO).await.unwrap();
    assert_eq!(rig.jwks_fetches(DEMO_CONTOSO).await, 1);
    // Microsoft's tenant JWKS are the platform's keys: the set already known serves Northwind too.
    rig.entra.warm_access_token_keys(tenant(DEMO_NORTHWIND)).await;
    rig.verify(&rig.sign(&access_claims(DEMO_NORTHWIND)), DEMO_NORTHWIND).await.unwrap();
    assert_eq!(rig.jwks_fetches(DEMO_NORTHWIND).await, 0, "warming and verifying with a set already known");
    // A kid no known set has still refreshes from the tenant's own URL, at most once a minute.
    let attacker = attacker_key();
    for i in 0..3 {
        let header = json!({ "typ": "JWT", "alg": "RS256", "kid": format!("other-kid-{i}") });
        let token = rs256_by_hand(&header, &access_claims(DEMO_NORTHWIND), &attacker);
        assert_eq!(rig.rejected(&token, DEMO_NORTHWIND).await, VerifyError::UnknownKey);
    }
    assert_eq!(rig.jwks_fetches(DEMO_NORTHWIND).await, 1);
    assert_eq!(rig.jwks_fetches(DEMO_CONTOSO).await, 1);
}

#[tokio::test]
async fn jku_x5u_jwk_and_x5c_headers_are_ignored() {
    let rig = rig().await;
    let attacker = attacker_key();
    let certificate = attacker_certificate(&attacker);
    let real_kid = rig.current_kid();
    let nonce = "n-jwk";
    for kid in ["attacker-kid".to_owned(), real_kid.clone()] {
        let jwk = attacker_jwk(&attacker, &kid);
        let (url, hits) = attacker_server(json!({ "keys": [jwk] })).await;
        let headers = [
            json!({ "typ": "JWT", "alg": "RS256", "kid": kid, "jwk": jwk }),
            json!({ "typ": "JWT", "alg": "RS256", "kid": kid, "jku": format!("{url}/{DEMO_CONTOSO}/discovery/keys") }),
            json!({ "typ": "JWT", "alg": "RS256", "kid": kid, "x5u": format!("{url}/certificate.pem") }),
            json!({ "typ": "JWT", "alg": "RS256", "kid": kid, "x5t": kid, "x5c": [certificate] }),
            json!({
                "typ": "JWT", "alg": "RS256", "kid": kid, "x5t": kid, "jwk": jwk, "x5c": [certificate],
                "jku": format!("{url}/keys"), "x5u": format!("{url}/certificate.pem"),
            }),
        ];
        // With a kid the tenant's JWKS does not have: unknown key. With the kid of the tenant's real
        // key: that key, not the attacker's, checks the signature.
        let expected = if kid == real_kid { VerifyError::Signature } else { VerifyError::UnknownKey };
        for header in &headers {
            let token = rs256_by_hand(header, &access_claims(DEMO_CONTOSO), &attacker);
            assert_eq!(rig.rejected(&token, DEMO_CONTOSO).await, expected, "{header}");
            let token = rs256_by_hand(header, &id_claims(&rig, DEMO_CONTOSO, nonce), &attacker);
            assert_eq!(rig.id_rejected(&token, nonce).await, expected, "{header}");
        }
        assert_eq!(hits.load(Ordering::SeqCst), 0, "the attacker's server was asked for keys");
    }
    // The attacker's key through jsonwebtoken, as the brief's recipe.
    let key = EncodingKey::from_rsa_der(attacker.to_pkcs1_der().unwrap().as_bytes());
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(real_kid);
    let token = jsonwebtoken::encode(&header, &access_claims(DEMO_CONTOSO), &key).unwrap();
    assert_eq!(rig.rejected(&token, DEMO_CONTOSO).await, VerifyError::Signature);
}

#[tokio::test]
async fn a_tampered_or_stripped_signature_is_refused() {
    let rig = rig().await;
    let token = rig.sign(&access_claims(DEMO_CONTOSO));
    let parts: Vec<&str> = token.split('.').collect();
    // The payload changed after signing (another app's token made ours, say).
    let mut claims = access_claims(DEMO_CONTOSO);
    claims["roles"] = json!(["Incident.Read.All", "AdvancedHunting.Read.All", "Machine.Isolate"]);
    let tampered = format!("{}.{}.{}", parts[0], b64(claims.to_string()), parts[2]);
    assert_eq!(rig.rejected(&tampered, DEMO_CONTOSO).await, VerifyError::Signature);
    // The signature removed, or another token's.
    let stripped = format!("{}.{}.", parts[0], parts[1]);
    assert_eq!(rig.rejected(&stripped, DEMO_CONTOSO).await, VerifyError::Signature);
    let other = rig.sign(&access_claims(DEMO_NORTHWIND));
    let swapped = format!("{}.{}.{}", parts[0], parts[1], other.rsplit('.').next().unwrap());
    assert_eq!(rig.rejected(&swapped, DEMO_CONTOSO).await, VerifyError::Signature);
    // Not a JWT at all.
    // A genuine token with a part slipped in before its signature.
    let extended = format!("{}.{}.{}.{}", parts[0], parts[1], parts[1], parts[2]);
    for junk in ["", "not a jwt", "a.b", "a.b.c", "x.y.z.w", &format!("{}.{}", parts[0], parts[1]), &extended] {
        assert_eq!(rig.rejected(junk, DEMO_CONTOSO).await, VerifyError::Malformed, "{junk:?}");
    }
}

// ---------------------------------------------------------------------------------------------------
// Claims

#[tokio::test]
async fn a_wrong_audience_is_refused() {
    let rig = rig().await;
    for audience in [
        json!("https://graph.microsoft.com"),
        json!("00000003-0000-0000-c000-000000000000"),
        json!(DEMO_CLIENT_ID),
        json!("https://api.security.microsoft.com.evil.example"),
        json!(["https://graph.microsoft.com"]),
    ] {
        let mut claims = access_claims(DEMO_CONTOSO);
        claims["aud"] = audience.clone();
        assert_eq!(rig.rejected(&rig.sign(&claims), DEMO_CONTOSO).await, VerifyError::Audience, "{audience}");
    }
    // No audience at all.
    let mut claims = access_claims(DEMO_CONTOSO);
    claims.as_object_mut().unwrap().remove("aud");
    assert_eq!(rig.rejected(&rig.sign(&claims), DEMO_CONTOSO).await, VerifyError::Malformed);
}

#[tokio::test]
async fn a_wrong_issuer_is_refused() {
    let rig = rig().await;
    for issuer in [
        json!(issuer_v1(tenant(DEMO_NORTHWIND))),
        json!(rig.v2_issuer(DEMO_NORTHWIND)),
        json!(format!("https://evil.example/{DEMO_CONTOSO}/")),
        json!(format!("https://sts.windows.net/{DEMO_CONTOSO}")),
        json!("https://sts.windows.net/common/"),
        json!([issuer_v1(tenant(DEMO_CONTOSO))]),
        json!(""),
    ] {
        let mut claims = access_claims(DEMO_CONTOSO);
        claims["iss"] = issuer.clone();
        assert_eq!(rig.rejected(&rig.sign(&claims), DEMO_CONTOSO).await, VerifyError::Issuer, "{issuer}");
        // Also when no tenant is expected: the issuer must still be the token's own tenant's.
        assert_eq!(
            rig.entra.verify_access_token(&rig.sign(&claims), None, Api::Defender, RESOURCE).await.unwrap_err(),
            VerifyError::Issuer,
            "{issuer}"
        );
    }
    let mut claims = access_claims(DEMO_CONTOSO);
    claims.as_object_mut().unwrap().remove("iss");
    assert_eq!(rig.rejected(&rig.sign(&claims), DEMO_CONTOSO).await, VerifyError::Malformed);
}

#[tokio::test]
async fn a_token_of_another_tenant_is_refused() {
    let rig = rig().await;
    // Northwind's genuine token presented as Contoso's.
    let token = rig.sign(&access_claims(DEMO_NORTHWIND));
    assert_eq!(rig.rejected(&token, DEMO_CONTOSO).await, VerifyError::Tenant);
    rig.verify(&token, DEMO_NORTHWIND).await.unwrap();
    // A Contoso issuer with a Northwind tid.
    let mut claims = access_claims(DEMO_NORTHWIND);
    claims["iss"] = json!(issuer_v1(tenant(DEMO_CONTOSO)));
    assert_eq!(rig.rejected(&rig.sign(&claims), DEMO_CONTOSO).await, VerifyError::Tenant);
    assert_eq!(rig.rejected(&rig.sign(&claims), DEMO_NORTHWIND).await, VerifyError::Issuer);
    // No tid, or one that is not a tenant id.
    for tid in [None, Some(json!("contoso.example")), Some(json!(42)), Some(json!(""))] {
        let mut claims = access_claims(DEMO_CONTOSO);
        match &tid {
            None => {
                claims.as_object_mut().unwrap().remove("tid");
            }
            Some(tid) => claims["tid"] = tid.clone(),
        }
        let error = rig.rejected(&rig.sign(&claims), DEMO_CONTOSO).await;
        assert!(matches!(error, VerifyError::Claim("tid") | VerifyError::Malformed), "{tid:?}: {error:?}");
    }
}

#[tokio::test]
async fn a_token_issued_to_another_application_is_refused() {
    let rig = rig().await;
    let variants: [(&str, Option<Value>, Option<Value>); 6] = [
        ("appid of another app", Some(json!(OTHER_APP)), None),
        ("azp of another app", None, Some(json!(OTHER_APP))),
        ("neither appid nor azp", None, None),
        ("appid of another app, azp ours", Some(json!(OTHER_APP)), Some(json!(DEMO_CLIENT_ID))),
        ("appid not a string", Some(json!([DEMO_CLIENT_ID])), None),
        ("appid empty", Some(json!("")), None),
    ];
    for (what, appid, azp) in variants {
        let mut claims = access_claims(DEMO_CONTOSO);
        let object = claims.as_object_mut().unwrap();
        object.remove("appid");
        if let Some(appid) = appid {
            object.insert("appid".into(), appid);
        }
        if let Some(azp) = azp {
            object.insert("azp".into(), azp);
        }
        assert_eq!(rig.rejected(&rig.sign(&claims), DEMO_CONTOSO).await, VerifyError::Application, "{what}");
    }
}

#[tokio::test]
async fn a_token_without_valid_time_claims_is_refused() {
    let rig = rig().await;
    let mut claims = access_claims(DEMO_CONTOSO);
    claims.as_object_mut().unwrap().remove("exp");
    assert_eq!(rig.rejected(&rig.sign(&claims), DEMO_CONTOSO).await, VerifyError::Malformed);
    for (name, value) in [("exp", json!("99999999999")), ("nbf", json!("0")), ("exp", json!(null)), ("nbf", json!({}))] {
        let mut claims = access_claims(DEMO_CONTOSO);
        claims[name] = value.clone();
        assert_eq!(rig.rejected(&rig.sign(&claims), DEMO_CONTOSO).await, VerifyError::Malformed, "{name}: {value}");
    }
}

#[tokio::test]
async fn a_token_with_a_nonce_header_is_not_verifiable_never_valid() {
    let rig = rig().await;
    // Otherwise perfect claims: still not verifiable.
    let token = rig.fake().keys().sign_with_nonce_header(&access_claims(DEMO_CONTOSO)).unwrap();
    assert_eq!(rig.rejected(&token, DEMO_CONTOSO).await, VerifyError::NotVerifiable);
    // A Graph token, as the fake's sign-in returns.
    let mut graph = access_claims(DEMO_CONTOSO);
    graph["aud"] = json!("00000003-0000-0000-c000-000000000000");
    graph["scp"] = json!("openid profile email User.Read");
    let token = rig.fake().keys().sign_with_nonce_header(&graph).unwrap();
    assert_eq!(rig.rejected(&token, DEMO_CONTOSO).await, VerifyError::NotVerifiable);
    // A nonce header on an ID token too.
    let nonce = "n-graph";
    let token = rig.fake().keys().sign_with_nonce_header(&id_claims(&rig, DEMO_CONTOSO, nonce)).unwrap();
    assert_eq!(rig.id_rejected(&token, nonce).await, VerifyError::NotVerifiable);
}

// ---------------------------------------------------------------------------------------------------
// `roles`

#[tokio::test]
async fn roles_missing_empty_or_not_an_array_mean_every_role_is_missing() {
    let rig = rig().await;
    let required: Vec<String> = rig.defender_roles().iter().map(ToString::to_string).collect();
    assert!(!required.is_empty());
    let shapes = [
        None,
        Some(json!([])),
        Some(json!(null)),
        Some(json!("Incident.Read.All")),
        Some(json!("Incident.Read.All AdvancedHunting.Read.All")),
        Some(json!(42)),
        Some(json!(true)),
        Some(json!({ "Incident.Read.All": true, "AdvancedHunting.Read.All": true })),
        Some(json!([42, null, {}, ["Incident.Read.All"]])),
        Some(json!(["incident.read.all", " AdvancedHunting.Read.All"])),
    ];
    for roles in shapes {
        let mut claims = access_claims(DEMO_CONTOSO);
        match &roles {
            None => {
                claims.as_object_mut().unwrap().remove("roles");
            }
            Some(roles) => claims["roles"] = roles.clone(),
        }
        let (_, verified) = rig.verify(&rig.sign(&claims), DEMO_CONTOSO).await.unwrap();
        let (present, missing) = roles_diff(&rig.defender_roles(), verified.get("roles"));
        assert!(present.is_empty(), "{roles:?}: {present:?}");
        assert_eq!(missing, required, "{roles:?}");
    }
    // Partly granted: only the missing ones are missing.
    let mut claims = access_claims(DEMO_CONTOSO);
    claims["roles"] = json!(["Incident.Read.All", 7]);
    let (_, verified) = rig.verify(&rig.sign(&claims), DEMO_CONTOSO).await.unwrap();
    assert_eq!(
        roles_diff(&rig.defender_roles(), verified.get("roles")),
        (vec!["Incident.Read.All".into()], vec!["AdvancedHunting.Read.All".into()])
    );
}

// ---------------------------------------------------------------------------------------------------
// ID tokens

#[tokio::test]
async fn a_valid_id_token_is_accepted_and_a_wrong_nonce_or_issuer_is_refused() {
    let rig = rig().await;
    let nonce = "n-0S6_WzA2Mj-sign-in";
    let claims = id_claims(&rig, DEMO_CONTOSO, nonce);
    let verified = rig.entra.verify_id_token(&rig.sign(&claims), &hash_secret(nonce)).await.unwrap();
    assert_eq!(verified.tenant_id, tenant(DEMO_CONTOSO));
    assert_eq!(verified.object_id, "0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b6a");
    assert_eq!(verified.upn.as_deref(), Some("megan@contoso.example"));
    assert_eq!(verified.roles, ["Portal.Admin"]);

    // Another sign-in's nonce, the nonce itself instead of its hash, or none.
    let token = rig.sign(&claims);
    assert_eq!(rig.id_rejected(&token, "another-sign-in").await, VerifyError::Nonce);
    assert_eq!(rig.entra.verify_id_token(&token, nonce).await.unwrap_err(), VerifyError::Nonce);
    assert_eq!(rig.entra.verify_id_token(&token, "").await.unwrap_err(), VerifyError::Nonce);
    let mut no_nonce = claims.clone();
    no_nonce.as_object_mut().unwrap().remove("nonce");
    assert_eq!(rig.id_rejected(&rig.sign(&no_nonce), nonce).await, VerifyError::Nonce);
    let mut numeric = claims.clone();
    numeric["nonce"] = json!(12345);
    assert_eq!(rig.id_rejected(&rig.sign(&numeric), "12345").await, VerifyError::Nonce);

    // The issuer of another tenant, the v1 issuer, or another host.
    for issuer in [
        rig.v2_issuer(DEMO_NORTHWIND),
        issuer_v1(tenant(DEMO_CONTOSO)),
        format!("https://login.microsoftonline.com.evil.example/{DEMO_CONTOSO}/v2.0"),
        format!("{}/{DEMO_CONTOSO}/", rig.fake.url),
    ] {
        let mut wrong = claims.clone();
        wrong["iss"] = json!(issuer);
        assert_eq!(rig.id_rejected(&rig.sign(&wrong), nonce).await, VerifyError::Issuer, "{issuer}");
    }

    // Our audience only: an access token for the Defender API is not an ID token, and vice versa.
    let mut other_audience = claims.clone();
    other_audience["aud"] = json!(OTHER_APP);
    assert_eq!(rig.id_rejected(&rig.sign(&other_audience), nonce).await, VerifyError::Audience);
    assert_eq!(rig.id_rejected(&rig.sign(&access_claims(DEMO_CONTOSO)), nonce).await, VerifyError::Audience);
    assert_eq!(rig.rejected(&rig.sign(&claims), DEMO_CONTOSO).await, VerifyError::Audience);

    // Expired, not yet valid, unknown key.
    let mut expired = claims.clone();
    expired["exp"] = json!(now() - 600);
    assert_eq!(rig.id_rejected(&rig.sign(&expired), nonce).await, VerifyError::Expired);
    let mut early = claims.clone();
    early["nbf"] = json!(now() + 600);
    assert_eq!(rig.id_rejected(&rig.sign(&early), nonce).await, VerifyError::NotYetValid);
    let token = rs256_by_hand(&json!({ "typ": "JWT", "alg": "RS256", "kid": "unknown" }), &claims, &attacker_key());
    assert_eq!(rig.id_rejected(&token, nonce).await, VerifyError::UnknownKey);
}

//! The fake's token-signing keys: RSA 2048, each with a self-signed certificate, published in the JWKS
//! the way Microsoft publishes them (`kid` = `x5t` = base64url SHA-1 of the certificate, `x5c`, `n`, `e`).
//! A rollover (`POST /_fake/keys/rotate`) signs with a new key and keeps publishing the previous one.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::DecodingKey;
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::Serialize;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

/// One signing key with its certificate. Signing goes through `ring` (several times faster than a
/// pure-Rust RSA): the fake signs a token for every check of a sweep over thousands of tenants.
pub struct SigningKey {
    pub kid: String,
    signer: ring::signature::RsaKeyPair,
    public: RsaPublicKey,
    certificate_der: Vec<u8>,
}

impl SigningKey {
    /// Generates a key and its certificate. Takes a moment: call it outside any lock.
    pub fn generate() -> anyhow::Result<Self> {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), 2048)?;
        let pkcs8 = private.to_pkcs8_der()?;
        let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8.as_bytes().into(), &rcgen::PKCS_RSA_SHA256)?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(rcgen::DnType::CommonName, "accounts.accesscontrol.windows.net");
        let certificate = params.self_signed(&key_pair)?;
        let certificate_der = certificate.der().to_vec();
        let kid = URL_SAFE_NO_PAD.encode(Sha1::digest(&certificate_der));
        let signer = ring::signature::RsaKeyPair::from_pkcs8(pkcs8.as_bytes()).map_err(|e| anyhow::anyhow!("ring refused the key: {e}"))?;
        Ok(Self { kid, signer, public: private.to_public_key(), certificate_der })
    }

    pub fn decoding_key(&self) -> DecodingKey {
        DecodingKey::from_rsa_raw_components(&self.public.n().to_bytes_be(), &self.public.e().to_bytes_be())
    }

    /// Checks an RS256 signature made by this key (through `ring`, as signing).
    pub fn verifies(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        let public = ring::signature::RsaPublicKeyComponents { n: self.public.n().to_bytes_be(), e: self.public.e().to_bytes_be() };
        public.verify(&ring::signature::RSA_PKCS1_2048_8192_SHA256, signing_input, signature).is_ok()
    }

    /// The JWKS entry, as Microsoft publishes it; `issuer` is the v2 issuer template of the tenant.
    pub fn jwk(&self, issuer: &str) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": URL_SAFE_NO_PAD.encode(self.public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(self.public.e().to_bytes_be()),
            "x5c": [STANDARD.encode(&self.certificate_der)],
            "issuer": issuer,
        })
    }
}

/// The keys the fake publishes; the first one signs.
pub struct KeySet {
    keys: Vec<SigningKey>,
}

impl KeySet {
    pub fn new(first: SigningKey) -> Self {
        Self { keys: vec![first] }
    }

    /// Signs with `next` from now on; the previous signing key stays published (tokens it signed stay
    /// valid), older ones are withdrawn.
    pub fn rotate(&mut self, next: SigningKey) {
        self.keys.insert(0, next);
        self.keys.truncate(2);
    }

    pub fn current(&self) -> &SigningKey {
        &self.keys[0]
    }

    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn jwks(&self, issuer: &str) -> Value {
        json!({ "keys": self.keys.iter().map(|k| k.jwk(issuer)).collect::<Vec<_>>() })
    }

    /// Signs claims RS256 with the current key; the header carries `typ`, `alg`, `x5t` and `kid`, in
    /// Microsoft's order.
    pub fn sign(&self, claims: &impl Serialize) -> anyhow::Result<String> {
        let key = self.current();
        let header = json!({ "typ": "JWT", "alg": "RS256", "x5t": key.kid, "kid": key.kid });
        sign_jwt(key, &header, claims)
    }

    /// Signs like a Microsoft Graph access token: with a `nonce` in the header, which makes the signature
    /// unverifiable by anyone but Graph.
    pub fn sign_with_nonce_header(&self, claims: &impl Serialize) -> anyhow::Result<String> {
        let key = self.current();
        let nonce = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let header = json!({ "typ": "JWT", "nonce": nonce, "alg": "RS256", "x5t": key.kid, "kid": key.kid });
        sign_jwt(key, &header, claims)
    }
}

fn sign_jwt(key: &SigningKey, header: &Value, claims: &impl Serialize) -> anyhow::Result<String> {
    let signing_input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(serde_json::to_vec(header)?), URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?));
    let mut signature = vec![0; key.signer.public().modulus_len()];
    key.signer
        .sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), signing_input.as_bytes(), &mut signature)
        .map_err(|_| anyhow::anyhow!("RSA signing failed"))?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// An unsigned token (`alg: none`), as the v1 token endpoint returns its ID token.
pub fn unsigned_token(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"none"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{body}.")
}

//! Self-signed RSA certificates: what a partner registers on its app (and an attacker makes its own).

use rsa::RsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};

/// A new 2048-bit RSA key.
pub fn rsa_key() -> RsaPrivateKey {
    RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap()
}

/// A self-signed certificate of `key`, naming `common_name` as its subject when given.
pub fn self_signed(key: &RsaPrivateKey, common_name: Option<&str>) -> rcgen::Certificate {
    let pkcs8 = key.to_pkcs8_der().unwrap();
    let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8.as_bytes().into(), &rcgen::PKCS_RSA_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    if let Some(name) = common_name {
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
    }
    params.self_signed(&key_pair).unwrap()
}

/// A certificate and its RSA key, as PEM (PKCS#8).
pub fn certificate_and_key() -> (String, String) {
    let key = rsa_key();
    (self_signed(&key, None).pem(), key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string())
}

//! Serving the fake: plain http, or TLS (Microsoft's libraries only speak https) with a certificate
//! from files or a self-signed one whose CA certificate is written to `DIR/ca.pem` for clients to
//! trust. A response marked [`DropConnection`] closes the connection without an answer.

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::{DropConnection, SharedFake, router};

/// The error that makes hyper close a connection on purpose.
#[derive(Debug)]
struct DroppedOnPurpose;

impl std::fmt::Display for DroppedOnPurpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DroppedOnPurpose {}

/// A running fake. Dropping it stops the listener.
pub struct FakeServer {
    /// The fake's base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    pub fake: SharedFake,
    task: JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeServer {
    /// Waits until the listener stops (it runs until the process ends or the server is dropped).
    pub async fn wait(mut self) {
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        let _ = task.await;
    }
}

/// Serves `fake` on `listener`, with TLS when a configuration is given.
pub fn start(listener: TcpListener, fake: SharedFake, tls: Option<Arc<ServerConfig>>) -> FakeServer {
    let url = fake.public_url.clone();
    let app = router(fake.clone());
    let acceptor = tls.map(TlsAcceptor::from);
    let task = tokio::spawn(async move {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "fake identity platform: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let app = app.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                    let app = app.clone();
                    async move {
                        let response = match app.oneshot(request.map(axum::body::Body::new)).await {
                            Ok(response) => response,
                            Err(never) => match never {},
                        };
                        if response.extensions().get::<DropConnection>().is_some() {
                            return Err(DroppedOnPurpose);
                        }
                        Ok::<_, DroppedOnPurpose>(response)
                    }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let _ = match acceptor {
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(tls) => builder.serve_connection(TokioIo::new(tls), service).await,
                        Err(_) => return,
                    },
                    None => builder.serve_connection(TokioIo::new(stream), service).await,
                };
            });
        }
    });
    FakeServer { url, fake, task }
}

fn server_config(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> anyhow::Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// TLS from a PEM certificate (chain) and key.
pub fn tls_from_files(certificate: &Path, key: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let chain = CertificateDer::pem_file_iter(certificate)
        .with_context(|| format!("cannot read {}", certificate.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} holds no PEM certificate", certificate.display()))?;
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| format!("{} holds no PEM private key", key.display()))?;
    server_config(chain, key)
}

/// A new CA and a certificate for localhost, 127.0.0.1 and ::1 signed by it; writes `ca.pem` (to
/// trust), `cert.pem` and `key.pem` into `dir`.
pub fn tls_self_signed(dir: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "consent-portal fake identity platform CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.key_usages =
        vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign, rcgen::KeyUsagePurpose::DigitalSignature];
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key)?;

    let server_key = rcgen::KeyPair::generate()?;
    let mut server_params = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()])?;
    server_params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    server_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let server_certificate = server_params.signed_by(&server_key, &ca)?;

    std::fs::write(dir.join("ca.pem"), ca.pem())?;
    std::fs::write(dir.join("cert.pem"), server_certificate.pem())?;
    std::fs::write(dir.join("key.pem"), server_key.serialize_pem())?;
    let chain = vec![server_certificate.der().clone(), ca.der().clone()];
    let key = PrivateKeyDer::try_from(server_key.serialize_der()).map_err(|e| anyhow::anyhow!(e))?;
    server_config(chain, key)
}

/// Unused by the server itself; keeps the type visible where `Infallible` services are adapted.
#[allow(dead_code)]
fn _assert_router_is_infallible(router: Router) -> impl tower::Service<axum::extract::Request, Error = Infallible> {
    router
}

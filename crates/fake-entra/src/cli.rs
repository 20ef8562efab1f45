//! The fake on its own (`consent-portal fake-entra`), for rehearsing an onboarding or for other tools:
//! its options, and running it until the caller's shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tokio::net::TcpListener;

use crate::demo::default_directory;
use crate::directory::Directory;
use crate::{FakeEntra, server};

#[derive(Debug, Clone, Args)]
pub struct FakeEntraArgs {
    /// Address and port to listen on (loopback unless --allow-remote).
    #[arg(long, env = "PORTAL_FAKE_BIND", value_name = "ADDR:PORT", default_value = "127.0.0.1:9443")]
    pub bind: String,

    /// The URL that discovery documents and issuers name [default: http(s)://ADDR:PORT].
    #[arg(long, env = "PORTAL_FAKE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Directory to load at start (the JSON of GET /_fake/directory) [default: the demo directory].
    #[arg(long, env = "PORTAL_FAKE_DIRECTORY", value_name = "FILE")]
    pub directory: Option<PathBuf>,

    /// Portal whose redirect URIs the default directory registers on the demo app.
    #[arg(long, env = "PORTAL_FAKE_PORTAL_URL", value_name = "URL", default_value = "http://127.0.0.1:8080")]
    pub portal_url: String,

    /// PEM certificate (chain) to serve https with (with --tls-key).
    #[arg(long, env = "PORTAL_FAKE_TLS_CERT", value_name = "FILE", requires = "tls_key", conflicts_with = "tls_self_signed")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, env = "PORTAL_FAKE_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Serve https with a new self-signed CA; writes DIR/ca.pem for clients to trust.
    #[arg(long, env = "PORTAL_FAKE_TLS_SELF_SIGNED", value_name = "DIR")]
    pub tls_self_signed: Option<PathBuf>,

    /// Allow listening on a non-loopback address (the fake accepts any password-less sign-in: keep it
    /// off networks).
    #[arg(long, env = "PORTAL_FAKE_ALLOW_REMOTE")]
    pub allow_remote: bool,
}

/// Runs the fake until `shutdown` completes (exit 0) or its listener stops (exit 1); a configuration it
/// cannot start with prints one line and returns exit status 2.
pub async fn run(args: FakeEntraArgs, shutdown: impl Future<Output = ()>) -> ExitCode {
    let bind: SocketAddr = match args.bind.trim().parse() {
        Ok(bind) => bind,
        Err(_) => {
            return refuse_to_start(format_args!("PORTAL_FAKE_BIND: is not an address and port such as 127.0.0.1:9443: {:?}", args.bind));
        }
    };
    if !bind.ip().is_loopback() && !args.allow_remote {
        return refuse_to_start(format_args!(
            "PORTAL_FAKE_BIND: {bind} is not a loopback address; pass --allow-remote to listen there anyway"
        ));
    }
    let tls = match (&args.tls_cert, &args.tls_key, &args.tls_self_signed) {
        (Some(cert), Some(key), _) => match server::tls_from_files(cert, key) {
            Ok(tls) => Some(tls),
            Err(error) => return refuse_to_start(format_args!("PORTAL_FAKE_TLS_CERT: {error:#}")),
        },
        (_, _, Some(dir)) => match server::tls_self_signed(dir) {
            Ok(tls) => Some(tls),
            Err(error) => return refuse_to_start(format_args!("PORTAL_FAKE_TLS_SELF_SIGNED: {error:#}")),
        },
        _ => None,
    };
    let directory = match &args.directory {
        Some(path) => match load_directory(path) {
            Ok(directory) => directory,
            Err(error) => return refuse_to_start(format_args!("PORTAL_FAKE_DIRECTORY: {error}")),
        },
        None => default_directory(&args.portal_url),
    };
    let listener = match TcpListener::bind(bind).await {
        Ok(listener) => listener,
        Err(error) => return refuse_to_start(format_args!("PORTAL_FAKE_BIND: cannot listen on {bind}: {error}")),
    };
    let address = listener.local_addr().unwrap_or(bind);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = args.public_url.clone().unwrap_or_else(|| format!("{scheme}://{address}"));
    let fake = match tokio::task::spawn_blocking(move || FakeEntra::new(&public_url, directory)).await {
        Ok(Ok(fake)) => fake,
        Ok(Err(error)) => return refuse_to_start(format_args!("cannot start the fake: {error:#}")),
        Err(error) => return refuse_to_start(format_args!("cannot start the fake: {error}")),
    };
    let running = server::start(listener, fake, tls);
    println!("fake identity platform and Defender API at {}", running.url);
    if let Some(dir) = &args.tls_self_signed {
        println!("trust {} to reach it over https", dir.join("ca.pem").display());
    }
    println!("control API: {}/_fake/directory", running.url);
    tokio::select! {
        () = running.wait() => ExitCode::FAILURE,
        () = shutdown => ExitCode::SUCCESS,
    }
}

fn load_directory(path: &std::path::Path) -> Result<Directory, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let directory: Directory = serde_json::from_str(&text).map_err(|e| format!("{} is not a directory document: {e}", path.display()))?;
    directory.check().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(directory)
}

/// Prints a start-up failure as one line and returns exit status 2 (a usage error), as the portal does.
fn refuse_to_start(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

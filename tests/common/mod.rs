//! Test helpers: the real router on 127.0.0.1:0 with a fresh database, and the real binary.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use consent_portal::app::AppState;
use consent_portal::config::DatabaseLocation;
use consent_portal::web::router;
use fake_entra::server::FakeServer;
use fake_entra::{FakeEntra, server};
use sqlx::SqlitePool;
use tempfile::TempDir;
use tokio::net::TcpListener;

/// The portal running in this test process.
pub struct TestApp {
    pub address: SocketAddr,
    pub base_url: String,
    pub client: reqwest::Client,
    pub db: SqlitePool,
    pub dir: TempDir,
    /// The built-in fake identity platform the portal is pointed at.
    pub fake: FakeServer,
    /// The application's state (its configuration, mailer...), for tests that drive its workers.
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    pub fn fake_url(&self, path: &str) -> String {
        format!("{}{}", self.fake.url, path)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A client like a browser's, but one that shows redirects instead of following them.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub fn database_in(dir: &Path) -> DatabaseLocation {
    let path = dir.join("portal.db");
    DatabaseLocation { url: format!("sqlite://{}", path.display()), path }
}

/// Starts the real router on 127.0.0.1:0 with a fresh database in a temporary folder.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let database = database_in(dir.path());
    let db = consent_portal::db::open(&database).await.unwrap();
    spawn_app_with(dir, database, db).await
}

/// Starts the real router with the given database pool (which may be read-only).
pub async fn spawn_app_with(dir: TempDir, database: DatabaseLocation, db: SqlitePool) -> TestApp {
    spawn_app_full(dir, database, db, |_| {}).await
}

/// Starts the real router with a fresh database and the demo configuration changed by `configure`.
pub async fn spawn_app_configured(configure: impl FnOnce(&mut consent_portal::config::Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let database = database_in(dir.path());
    let db = consent_portal::db::open(&database).await.unwrap();
    spawn_app_full(dir, database, db, configure).await
}

/// Starts the real router believing the forwarding headers and request ids of `trusted` (what
/// `PORTAL_TRUSTED_PROXIES` holds). The tests' peer is 127.0.0.1: `127.0.0.1/32` makes it a proxy.
pub async fn spawn_app_trusting(trusted: &str) -> TestApp {
    let trusted = consent_portal::web::client_address::TrustedProxies::parse(trusted).unwrap();
    spawn_app_configured(move |config| config.trusted_proxies = trusted).await
}

pub async fn spawn_app_full(
    dir: TempDir,
    database: DatabaseLocation,
    db: SqlitePool,
    configure: impl FnOnce(&mut consent_portal::config::Config),
) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let fake = spawn_fake(&format!("http://{address}")).await;
    let mut config = consent_portal::config::demo_config(address, &fake.url, database).unwrap();
    configure(&mut config);
    let state = AppState::new(config, db.clone()).unwrap();
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(consent_portal::server::serve(listener, router(state.clone()), async move {
        let _ = stopped.await;
    }));
    TestApp { address, base_url: format!("http://{address}"), client: http_client(), db, dir, fake, state, shutdown: Some(shutdown) }
}

/// Starts the built-in fake on 127.0.0.1:0 (plain http) with the demo directory, whose app registers
/// the redirect URIs of a portal at `portal_url`.
pub async fn spawn_fake(portal_url: &str) -> FakeServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let directory = fake_entra::demo::default_directory(portal_url);
    let fake = tokio::task::spawn_blocking(move || FakeEntra::new(&url, directory)).await.unwrap().unwrap();
    server::start(listener, fake, None)
}

/// The path of the real binary.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_consent-portal"))
}

/// A command for the real binary, run in `dir` (so no `.env` of the developer's is read) with an
/// environment holding nothing of the developer's PORTAL_* settings.
pub fn command_in(dir: &Path) -> Command {
    let mut command = Command::new(binary());
    command.current_dir(dir).env_clear();
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    command
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The environment of a complete, valid `serve` configuration on `port`, with the database in `dir`.
pub fn serve_env(dir: &Path, port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("PORTAL_PUBLIC_URL", format!("http://127.0.0.1:{port}")),
        ("PORTAL_BIND", format!("127.0.0.1:{port}")),
        ("PORTAL_DATABASE_URL", format!("sqlite://{}", dir.join("portal.db").display())),
        ("PORTAL_CLIENT_ID", "11111111-2222-3333-4444-555555555555".into()),
        ("PORTAL_CLIENT_SECRET", "test-client-secret-value".into()),
        ("PORTAL_PARTNER_TENANT_ID", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee".into()),
    ]
}

/// A child process that is killed if the test ends before it does.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` from the real binary and waits until `/healthz` answers.
pub fn start_binary(dir: &Path, port: u16, extra: &[(&str, &str)]) -> ChildGuard {
    let mut command = command_in(dir);
    command.arg("serve").envs(serve_env(dir, port)).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (name, value) in extra {
        command.env(name, value);
    }
    let child = ChildGuard(command.spawn().unwrap());
    wait_for_health(port);
    child
}

pub fn wait_for_health(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the portal did not answer /healthz on port {port}");
}

/// Waits for a child to exit, up to `limit`.
pub fn wait_with_limit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    None
}

/// Sets the fake's auto mode: `upn` signs in without a page, `consent` answers consent pages.
pub async fn set_auto(app: &TestApp, upn: Option<&str>, consent: Option<&str>) {
    let response =
        app.client.put(app.fake_url("/_fake/auto")).json(&serde_json::json!({"upn": upn, "consent": consent})).send().await.unwrap();
    assert_eq!(response.status(), 204);
}

/// The value of the hidden form field `name` in a page.
pub fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// A redirect's target.
pub fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

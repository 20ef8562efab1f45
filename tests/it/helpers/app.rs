//! The portal's real router on 127.0.0.1:0 with a fresh database, pointed at a fake of its own.

use std::path::Path;

use std::sync::Arc;

use consent_portal::app::AppState;
use consent_portal::config::DatabaseLocation;
use consent_portal::db::Pool;
use consent_portal::domain::{SharedClock, SystemClock};
use consent_portal::web::router;
use fake_entra::server::FakeServer;
use sqlx::SqlitePool;
use tempfile::TempDir;
use tokio::net::TcpListener;

use super::{http_client, spawn_fake};

/// A running portal and the fake it signs in at: the router in this process (`TestApp`) or the real
/// binary's `serve` (`PortalAt`).
pub trait Portal {
    fn url(&self, path: &str) -> String;
    fn fake_url(&self, path: &str) -> String;
}

/// A portal served by the real binary at `base_url`, pointed at the fake at `fake_url`.
pub struct PortalAt {
    pub base_url: String,
    pub fake_url: String,
}

impl Portal for PortalAt {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    fn fake_url(&self, path: &str) -> String {
        format!("{}{}", self.fake_url, path)
    }
}

/// The portal running in this test process.
pub struct TestApp {
    pub base_url: String,
    pub client: reqwest::Client,
    /// The portal's database, SQLite or PostgreSQL (`PORTAL_TEST_DATABASE`); raw SQL through [`super::sql`].
    pub db: Pool,
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

impl Portal for TestApp {
    fn url(&self, path: &str) -> String {
        TestApp::url(self, path)
    }

    fn fake_url(&self, path: &str) -> String {
        TestApp::fake_url(self, path)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

pub fn database_in(dir: &Path) -> DatabaseLocation {
    DatabaseLocation::sqlite_file(dir.join("portal.db"))
}

/// Opens (and migrates) the SQLite database at `location`, as the portal does at start.
pub async fn open_db(location: &DatabaseLocation) -> SqlitePool {
    consent_portal::db::open_sqlite(location.sqlite_path().unwrap()).await.unwrap()
}

/// Does `PORTAL_TEST_DATABASE=postgres` ask for the in-process portal tests on PostgreSQL? (Unset or
/// `sqlite`: SQLite, the default.)
pub fn testing_on_postgres() -> bool {
    match std::env::var("PORTAL_TEST_DATABASE").as_deref() {
        Ok("postgres") | Ok("postgresql") => true,
        Ok("") | Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("PORTAL_TEST_DATABASE={other}: use sqlite (the default) or postgres"),
    }
}

/// For a test that is about SQLite itself (its file, its locks, its backup): true, with one printed
/// line, when the suite runs on PostgreSQL — the test then returns, it ran on the SQLite pass.
pub fn sqlite_specific(test: &str) -> bool {
    let skip = testing_on_postgres();
    if skip {
        // To the process's stderr, as `require`'s skips: the harness would keep a `println!`.
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "skipped {test} on PORTAL_TEST_DATABASE=postgres: it is about SQLite (run on the SQLite pass)");
    }
    skip
}

/// The PostgreSQL server of this test process, started at the first test that needs it and shared by
/// all (a database each): statics are never dropped, so it stops itself when the process ends.
static CLUSTER: std::sync::OnceLock<super::PgCluster> = std::sync::OnceLock::new();

/// A fresh, migrated database for one portal: a file in `dir` on SQLite, or a database of its own on
/// this process's PostgreSQL server when [`testing_on_postgres`].
pub async fn fresh_database(dir: &Path) -> (DatabaseLocation, Pool) {
    if !testing_on_postgres() {
        let database = database_in(dir);
        let db = open_db(&database).await;
        return (database, db.into());
    }
    let cluster = CLUSTER.get_or_init(|| {
        let programs = super::postgres_programs()
            .unwrap_or_else(|missing| panic!("PORTAL_TEST_DATABASE=postgres needs {} ({})", missing.needs, missing.install));
        let cluster = super::PgCluster::start(programs);
        cluster.stop_when_process_exits();
        cluster
    });
    let url = cluster.create_database(&format!("portal_{}", uuid::Uuid::new_v4().simple())).await;
    let database = DatabaseLocation::Postgres { url: consent_portal::domain::Secret::new(url) };
    let db = consent_portal::db::open(&database).await.unwrap();
    (database, db)
}

/// Starts the real router on 127.0.0.1:0 with a fresh database in a temporary folder.
pub async fn spawn_app() -> TestApp {
    spawn_app_configured(|_| {}).await
}

/// Starts the real router with the given database pool (which may be read-only).
pub async fn spawn_app_with(dir: TempDir, database: DatabaseLocation, db: impl Into<Pool>) -> TestApp {
    spawn_app_full(dir, database, db, |_| {}).await
}

/// Starts the real router with a fresh database and the demo configuration changed by `configure`.
pub async fn spawn_app_configured(configure: impl FnOnce(&mut consent_portal::config::Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let (database, db) = fresh_database(dir.path()).await;
    spawn_app_full(dir, database, db, configure).await
}

/// Starts the real router believing the forwarding headers and request ids of `trusted` (what
/// `PORTAL_TRUSTED_PROXIES` holds). The tests' peer is 127.0.0.1: `127.0.0.1/32` makes it a proxy.
pub async fn spawn_app_trusting(trusted: &str) -> TestApp {
    let trusted = consent_portal::web::client_address::TrustedProxies::parse(trusted).unwrap();
    spawn_app_configured(move |config| config.trusted_proxies = trusted).await
}

/// Starts the real router with a fresh database on `clock`: with a `ManualClock` the test sets the time
/// of sign-ins, staff sessions, checks and everything the portal records.
pub async fn spawn_app_on_clock(clock: SharedClock) -> TestApp {
    spawn_app_on_clock_configured(clock, |_| {}).await
}

/// Starts the real router on `clock` with the demo configuration changed by `configure`.
pub async fn spawn_app_on_clock_configured(clock: SharedClock, configure: impl FnOnce(&mut consent_portal::config::Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let (database, db) = fresh_database(dir.path()).await;
    start(dir, database, db, configure, clock).await
}

/// Starts the real router on `clock` with the given database (prepared by the test) and the demo
/// configuration changed by `configure`.
pub async fn spawn_app_on(
    dir: TempDir,
    database: DatabaseLocation,
    db: impl Into<Pool>,
    clock: SharedClock,
    configure: impl FnOnce(&mut consent_portal::config::Config),
) -> TestApp {
    start(dir, database, db, configure, clock).await
}

/// Starts the real router with the demo configuration on a database where the portal started before:
/// with each `(permissions, days_ago)`, oldest first — the history of the permissions it required.
pub async fn spawn_app_with_history(history: &[(&str, i64)]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let (database, db) = fresh_database(dir.path()).await;
    record_history(&db, history, time::OffsetDateTime::now_utc()).await;
    spawn_app_full(dir, database, db, |_| {}).await
}

/// Records that the portal started with each `(permissions, days_ago)` before `now`, oldest first.
pub async fn record_history(db: &Pool, history: &[(&str, i64)], now: time::OffsetDateTime) {
    use consent_portal::domain::api::{Cloud, group_by_api, parse_permission_list};
    for (permissions, days_ago) in history {
        let required = group_by_api(&parse_permission_list(permissions).unwrap(), Cloud::Global).unwrap();
        let at = consent_portal::domain::Timestamp::new(now - time::Duration::days(*days_ago));
        consent_portal::campaigns::requirements::record_at_start(db, &required, at).await.unwrap();
    }
}

pub async fn spawn_app_full(
    dir: TempDir,
    database: DatabaseLocation,
    db: impl Into<Pool>,
    configure: impl FnOnce(&mut consent_portal::config::Config),
) -> TestApp {
    start(dir, database, db, configure, Arc::new(SystemClock)).await
}

async fn start(
    dir: TempDir,
    database: DatabaseLocation,
    db: impl Into<Pool>,
    configure: impl FnOnce(&mut consent_portal::config::Config),
    clock: SharedClock,
) -> TestApp {
    let db: Pool = db.into();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let fake = spawn_fake(&format!("http://{address}")).await;
    let mut config = consent_portal::config::demo_config(address, &fake.url, database).unwrap();
    configure(&mut config);
    let state = AppState::with_clock(config, db.clone(), clock).await.unwrap();
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(consent_portal::server::serve(listener, router(state.clone()), async move {
        let _ = stopped.await;
    }));
    TestApp { base_url: format!("http://{address}"), client: http_client(), db, dir, fake, state, shutdown: Some(shutdown) }
}

/// The `PORTAL_DATABASE_URL` that names `database`, for the real binary.
pub fn database_url(database: &DatabaseLocation) -> String {
    match database {
        DatabaseLocation::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
        DatabaseLocation::Postgres { url } => url.expose().to_owned(),
    }
}

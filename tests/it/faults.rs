//! Faults of the machine under a running portal: the real binary serving from a small filesystem that
//! fills up and then gets its space back.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::helpers::*;
use reqwest::StatusCode;
use sqlx::Connection;
use sqlx::sqlite::SqliteConnectOptions;

/// How long the portal may take to notice that the space is back: a few seconds, never a restart.
const RECOVERY: Duration = Duration::from_secs(20);

/// Writes zeros to `path` until the filesystem has no byte left.
fn fill(path: &Path) {
    let mut filler = std::fs::File::create(path).unwrap();
    let mut chunk = vec![0u8; 64 * 1024];
    while !chunk.is_empty() {
        match filler.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) if error.raw_os_error() == Some(28) => chunk.truncate(chunk.len() / 2),
            Err(error) => panic!("cannot fill the filesystem: {error}"),
        }
    }
    let _ = filler.sync_all();
}

/// The real binary's `serve`, configured for the fake at `fake_url`, its logs in `logs`.
fn start_serve(data: &Path, port: u16, fake_url: &str, logs: &Path) -> ChildGuard {
    let log = std::fs::File::create(logs).unwrap();
    let mut command = command_in(data);
    command
        .arg("serve")
        .envs(serve_env(data, port))
        .env("PORTAL_CLIENT_ID", fake_entra::demo::DEMO_CLIENT_ID)
        .env("PORTAL_CLIENT_SECRET", fake_entra::demo::DEMO_CLIENT_SECRET)
        .env("PORTAL_PARTNER_TENANT_ID", fake_entra::demo::DEMO_PARTNER_TENANT_ID)
        .env("PORTAL_AUTHORITY_HOST", fake_url)
        .env("PORTAL_API_BASE", fake_url)
        .env("PORTAL_API_TOKEN", API_TOKEN)
        .stdout(Stdio::null())
        .stderr(log);
    let child = ChildGuard(command.spawn().unwrap());
    wait_for_health(port);
    child
}

/// The onboarding link a created-invite page shows.
fn invite_link(html: &str, base: &str) -> String {
    let start = html.find(&format!("{base}/onboard/")).unwrap_or_else(|| panic!("no link in {html}"));
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// A 503 that tells the person to try again, with Retry-After.
async fn assert_try_again(response: reqwest::Response, what: &str, logs: &Path) {
    let logs = std::fs::read_to_string(logs).unwrap_or_default();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{what}; the portal's log:\n{logs}");
    assert!(response.headers().contains_key("retry-after"), "{what}: no Retry-After");
    let page = response.text().await.unwrap();
    assert!(page.contains("try again"), "{what}: {page}");
}

#[tokio::test]
async fn a_full_disk_answers_503_and_the_portal_recovers_by_itself_when_space_is_back() {
    let Some(()) = require(root()) else { return };
    let logs_dir = tempfile::tempdir().unwrap();
    let logs = logs_dir.path().join("portal.log");
    let small = SmallFilesystem::mount("4m");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let fake = spawn_fake(&base).await;
    let portal = start_serve(&small.path, port, &fake.url, &logs);
    let show_logs = || std::fs::read_to_string(&logs).unwrap_or_default();

    let portal_at = PortalAt { base_url: base.clone(), fake_url: fake.url.clone() };
    let (staff, csrf) = staff(&portal_at, ALEX).await;
    // Through the staff page: a write of the portal's, as a person makes it.
    let create_invite = async |customer: &str| post_invite(&portal_at, &staff, &csrf, &[("customer", customer)]).await;
    let mut acknowledged = Vec::new();
    let first = create_invite("Before the disk filled").await;
    assert_eq!(first.status(), StatusCode::OK);
    let link = invite_link(&first.text().await.unwrap(), &base);
    acknowledged.push("Before the disk filled".to_owned());

    fill(&small.path.join("filler"));
    // What SQLite already holds (its write-ahead log) takes a few writes more; then the disk is full.
    let mut refused = None;
    for attempt in 0..200 {
        let customer = format!("While full {attempt}");
        let response = create_invite(&customer).await;
        match response.status() {
            StatusCode::OK => acknowledged.push(customer),
            _ => {
                refused = Some(response);
                break;
            }
        }
    }
    let refused = refused.unwrap_or_else(|| panic!("the full disk took every write:\n{}", show_logs()));
    assert_try_again(refused, "the first write on a full disk", &logs).await;
    for attempt in 0..3 {
        let response = create_invite(&format!("Still full {attempt}")).await;
        assert_try_again(response, "a later write on a full disk", &logs).await;
    }
    assert_try_again(continue_from_landing(&http_client(), &link).await, "a customer's new session on a full disk", &logs).await;
    let ready = http_client().get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE, "{}", show_logs());
    // Reads keep working.
    assert_eq!(staff.get(format!("{base}/invites")).send().await.unwrap().status(), StatusCode::OK);
    let api = http_client().get(format!("{base}/api/v1/tenants")).bearer_auth(API_TOKEN).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::OK);
    assert_eq!(http_client().get(format!("{base}/healthz")).send().await.unwrap().status(), StatusCode::OK);

    std::fs::remove_file(small.path.join("filler")).unwrap();
    let deadline = Instant::now() + RECOVERY;
    let customer = "After the space came back 0".to_owned();
    let recovered = within(RECOVERY, async || {
        let response = create_invite(&customer).await;
        if response.status() == StatusCode::OK {
            return Some(());
        }
        assert_try_again(response, "a write while recovering", &logs).await;
        None
    })
    .await;
    assert!(recovered.is_some(), "writes still fail after the space came back:\n{}", show_logs());
    acknowledged.push(customer);
    // Every connection of the pool takes writes again, not only one.
    for round in 0..12 {
        let customer = format!("Recovered {round}");
        let response = create_invite(&customer).await;
        assert_eq!(response.status(), StatusCode::OK, "{customer}:\n{}", show_logs());
        acknowledged.push(customer);
        let started = continue_from_landing(&http_client(), &link).await;
        assert_eq!(started.status(), StatusCode::SEE_OTHER, "a customer's new session after recovery");
    }
    let mut readiness = None;
    let ready = within(deadline.saturating_duration_since(Instant::now()), async || {
        let status = http_client().get(format!("{base}/readyz")).send().await.unwrap().status();
        readiness = Some(status);
        (status == StatusCode::OK).then_some(())
    })
    .await;
    assert!(ready.is_some(), "/readyz still {readiness:?} after the space came back");

    // Another process can take the write lock: nothing holds it.
    let options = SqliteConnectOptions::new().filename(small.path.join("portal.db")).busy_timeout(Duration::from_secs(5));
    let mut other = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.unwrap_or_else(|e| panic!("{e}:\n{}", show_logs()));
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    // Nothing acknowledged was lost.
    let stored: Vec<(String,)> = sqlx::query_as("SELECT name FROM customers").fetch_all(&mut other).await.unwrap();
    let stored: Vec<String> = stored.into_iter().map(|(name,)| name).collect();
    for customer in &acknowledged {
        assert!(stored.contains(customer), "{customer} was acknowledged but is gone: {stored:?}");
    }
    other.close().await.unwrap();
    drop(portal);
}

#[tokio::test]
async fn a_connection_left_inside_a_transaction_never_goes_back_into_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let location = database_in(dir.path());
    let pool = open_db(&location).await;
    // SQLite inside a transaction that sqlx does not count: what a failed COMMIT or RELEASE leaves.
    let mut connection = pool.acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *connection).await.unwrap();
    sqlx::query("INSERT INTO customers (id, name, created_at) VALUES ('c', 'Left open', 'now')").execute(&mut *connection).await.unwrap();
    drop(connection);

    // Another process gets the write lock (within the busy timeout), and nothing half-done was kept.
    let options = SqliteConnectOptions::new().filename(location.sqlite_path().unwrap()).busy_timeout(Duration::from_secs(5));
    let mut other = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.unwrap();
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    let customers: i64 = sqlx::query_scalar("SELECT count(*) FROM customers").fetch_one(&mut other).await.unwrap();
    assert_eq!(customers, 0);
    // And the pool's connections all write.
    for round in 0..10 {
        let consent_portal::db::WriteTransaction::Sqlite(mut tx) = consent_portal::db::begin_write(&pool.clone().into()).await.unwrap()
        else {
            unreachable!()
        };
        sqlx::query("UPDATE write_probe SET probed_at = ?").bind(round.to_string()).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }
    other.close().await.unwrap();
}

#[tokio::test]
async fn the_api_answers_json_503_with_retry_after_when_the_database_cannot_answer() {
    let dir = tempfile::tempdir().unwrap();
    let location = database_in(dir.path());
    open_db(&location).await.close().await;
    let options = SqliteConnectOptions::new().filename(location.sqlite_path().unwrap());
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_millis(200))
        .connect_with(options)
        .await
        .unwrap();
    let app =
        spawn_app_full(dir, location, pool.clone(), |config| config.api_token = Some(consent_portal::domain::Secret::new(API_TOKEN))).await;
    // The only connection is busy elsewhere, for longer than a request waits for one.
    let held = pool.acquire().await.unwrap();
    let response = app.client.get(app.url("/api/v1/tenants")).bearer_auth(API_TOKEN).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["status"], 503);
    assert_eq!(body["error"]["code"], "unavailable");
    drop(held);
    let response = app.client.get(app.url("/api/v1/tenants")).bearer_auth(API_TOKEN).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

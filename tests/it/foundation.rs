//! The foundation: health, errors, limits, storage, configuration, the command line and shutdown —
//! through the real router on 127.0.0.1 and the real binary.

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::Duration;

use crate::helpers::*;
use axum::response::IntoResponse;
use consent_portal::config::DatabaseLocation;
use consent_portal::db;
use consent_portal::domain::{SystemClock, clock};
use consent_portal::web::error::AppError;
use reqwest::StatusCode;
use sqlx::sqlite::SqliteConnectOptions;

#[tokio::test]
async fn health_and_readiness_answer_json() {
    let app = spawn_app().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["status"], "ok");

    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["database"], "ok");
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.close().await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
}

#[tokio::test]
async fn unknown_paths_get_the_404_page_and_json_under_api() {
    let app = spawn_app().await;
    let page = app.client.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("Page not found"), "{html}");
    assert!(html.contains("/static/app.css?v="), "the page uses the stylesheet");

    let api = app.client.get(app.url("/api/v1/nothing")).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["status"], 404);
}

#[tokio::test]
async fn wrong_method_gets_a_rendered_405() {
    let app = spawn_app().await;
    let response = app.client.post(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(response.headers().contains_key("allow"), "Allow is kept when the page is rendered");
    assert!(response.text().await.unwrap().contains("does not accept"));
}

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/", "/healthz", "/nothing-here"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains(&format!("form-action 'self' {}", app.fake.url)), "{csp}");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(headers.contains_key("x-request-id"));
        assert!(!headers.contains_key("strict-transport-security"), "no HSTS over plain http");
    }
}

/// A 404 page asked for with these `X-Request-Id` values: the response's id and the page.
async fn not_found_with_request_ids(app: &TestApp, ids: &[&str]) -> (String, String) {
    let mut request = app.client.get(app.url("/nothing-here"));
    for id in ids {
        request = request.header("x-request-id", *id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    (id, response.text().await.unwrap())
}

fn is_fresh_request_id(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok()
}

#[tokio::test]
async fn a_request_id_is_kept_only_from_a_trusted_proxy_and_only_when_it_is_a_short_token() {
    let behind_proxy = spawn_app_trusting("127.0.0.1/32").await;
    for good in ["edge-4f2a.9_b", "0f4b2c9e-5a1d-4d7e-9c3b-2f1e0d9c8b7a", &"x".repeat(64)] {
        let (id, page) = not_found_with_request_ids(&behind_proxy, &[good]).await;
        assert_eq!(id, good);
        assert!(page.contains(good), "the error page shows the id the logs carry");
    }
    let long = "a".repeat(200);
    let sixty_five = "x".repeat(65);
    for junk in ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "a b", "id;level=error", &long, &sixty_five, ""] {
        let (id, page) = not_found_with_request_ids(&behind_proxy, &[junk]).await;
        assert!(is_fresh_request_id(&id), "{junk:?} was replaced by {id:?}");
        assert!(page.contains(&id));
        assert!(!page.contains("<script>alert") && !page.contains("<img src=x"), "{page}");
    }
    let (id, _) = not_found_with_request_ids(&behind_proxy, &["edge-1", "edge-2"]).await;
    assert!(is_fresh_request_id(&id), "two ids are none: {id}");

    for untrusted in [spawn_app().await, spawn_app_trusting("10.0.0.0/8").await] {
        let (id, page) = not_found_with_request_ids(&untrusted, &["edge-4f2a.9_b"]).await;
        assert!(is_fresh_request_id(&id), "an id from an untrusted peer is replaced: {id}");
        assert!(!page.contains("edge-4f2a"));
    }
}

#[tokio::test]
async fn static_files_are_versioned_and_cached() {
    let app = spawn_app().await;
    let html = app.client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    let start = html.find("/static/app.css?v=").unwrap();
    let end = start + html[start..].find('"').unwrap();
    let href = &html[start..end];
    let css = app.client.get(app.url(href)).send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(css.headers()["content-type"], "text/css");
    assert_eq!(css.headers()["cache-control"], "public, max-age=31536000, immutable");

    let stale = app.client.get(app.url("/static/app.css?v=000000000000")).send().await.unwrap();
    assert_eq!(stale.headers()["cache-control"], "no-cache", "an old version is not cached for a year");
    let missing = app.client.get(app.url("/static/nothing.js")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn oversized_requests_are_refused_with_the_right_status() {
    let app = spawn_app().await;
    let body = vec![b'a'; 64 * 1024];
    let response = app.client.post(app.url("/csp-report")).body(body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.text().await.unwrap().contains("Too much data"));

    let long_query = "x".repeat(5000);
    let response = app.client.get(app.url(&format!("/?q={long_query}"))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::URI_TOO_LONG);

    let response = app.client.get(app.url("/")).header("x-padding", "y".repeat(17 * 1024)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}

#[tokio::test]
async fn csp_reports_are_accepted() {
    let app = spawn_app().await;
    let report =
        serde_json::json!({"csp-report": {"violated-directive": "script-src", "blocked-uri": "https://evil.example/x.js?secret=1"}});
    let response = app
        .client
        .post(app.url("/csp-report"))
        .header("content-type", "application/csp-report")
        .body(report.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.client.post(app.url("/csp-report")).body("not json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_panicking_handler_gets_the_500_page_without_its_message() {
    use axum::routing::get;
    use tower_http::catch_panic::CatchPanicLayer;
    let app = axum::Router::new()
        .route(
            "/boom",
            get(|| async {
                if true {
                    panic!("secret internals")
                }
            }),
        )
        .layer(CatchPanicLayer::custom(consent_portal::web::middleware::panic_response))
        .layer(axum::middleware::from_fn(consent_portal::web::middleware::render_error_pages));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let response = http_client().get(format!("http://{address}/boom")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let html = response.text().await.unwrap();
    assert!(html.contains("Something went wrong"));
    assert!(!html.contains("secret internals"));
}

#[tokio::test]
async fn migrations_apply_twice_without_change() {
    let dir = tempfile::tempdir().unwrap();
    let location = database_in(dir.path());
    let first = open_db(&location).await;
    let applied: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations ORDER BY version").fetch_all(&first).await.unwrap();
    assert!(!applied.is_empty());
    let schema: Vec<(String,)> =
        sqlx::query_as("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name").fetch_all(&first).await.unwrap();
    first.close().await;

    let second = open_db(&location).await;
    let again: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations ORDER BY version").fetch_all(&second).await.unwrap();
    let schema_again: Vec<(String,)> =
        sqlx::query_as("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name").fetch_all(&second).await.unwrap();
    assert_eq!(applied, again);
    assert_eq!(schema, schema_again);

    let journal: (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(&second).await.unwrap();
    assert_eq!(journal.0, "wal");
    let foreign_keys: (i64,) = sqlx::query_as("PRAGMA foreign_keys").fetch_one(&second).await.unwrap();
    assert_eq!(foreign_keys.0, 1);
    let busy: (i64,) = sqlx::query_as("PRAGMA busy_timeout").fetch_one(&second).await.unwrap();
    assert!(busy.0 >= 1000);
}

#[tokio::test]
async fn invites_completed_before_0007_are_bound_to_the_tenant_of_their_first_consent() {
    // A database as the migrations before 0007 left it, where one link onboarded two tenants.
    let dir = tempfile::tempdir().unwrap();
    let earlier = dir.path().join("earlier-migrations");
    std::fs::create_dir(&earlier).unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < "0007" {
            std::fs::copy(&path, earlier.join(&name)).unwrap();
        }
    }
    let location = database_in(dir.path());
    let options = SqliteConnectOptions::new().filename(location.sqlite_path().unwrap()).create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::migrate::Migrator::new(earlier.as_path()).await.unwrap().run(&pool).await.unwrap();
    let script = [
        "INSERT INTO customers (id, name, created_at) VALUES ('c', 'Contoso', '2026-01-01T00:00:00Z')",
        "INSERT INTO invites (id, customer_id, token_hash, created_at, expires_at, completed_at) \
         VALUES ('used', 'c', 'h1', '2026-01-01T00:00:00Z', '2026-01-15T00:00:00Z', '2026-01-02T00:00:00Z')",
        "INSERT INTO invites (id, customer_id, token_hash, created_at, expires_at) VALUES ('open', 'c', 'h2', '2026-01-01T00:00:00Z', '2026-01-15T00:00:00Z')",
        "INSERT INTO tenants (tenant_id, customer_id, invite_id, consented_at) VALUES ('aaaa', 'c', 'used', '2026-01-02T00:00:00Z')",
        "INSERT INTO tenants (tenant_id, customer_id, invite_id, consented_at) VALUES ('bbbb', 'c', 'used', '2026-01-03T00:00:00Z')",
        "INSERT INTO consents (tenant_id, customer_id, invite_id, consented_at, flow) VALUES ('aaaa', 'c', 'used', '2026-01-02T00:00:00Z', 'v2')",
        "INSERT INTO consents (tenant_id, customer_id, invite_id, consented_at, flow) VALUES ('bbbb', 'c', 'used', '2026-01-03T00:00:00Z', 'v2')",
    ];
    for statement in script {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let pool = open_db(&location).await;
    let bound: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT id, completed_tenant_id FROM invites ORDER BY id").fetch_all(&pool).await.unwrap();
    assert_eq!(bound, [("open".to_owned(), None), ("used".to_owned(), Some("aaaa".to_owned()))]);
}

#[tokio::test]
async fn a_changed_migration_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let location = database_in(dir.path());
    let pool = open_db(&location).await;
    // As if the migration file had been edited after it was applied.
    sqlx::query("UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 1").execute(&pool).await.unwrap();
    pool.close().await;
    let error = db::open(&location).await.unwrap_err();
    assert!(matches!(error, db::OpenError::Migrate { .. }), "{error}");
    assert!(error.to_string().contains("previously applied but has been modified"), "{error}");
}

#[tokio::test]
async fn foreign_keys_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let (_, pool) = fresh_database(dir.path()).await;
    let result = sql(
        &pool,
        "INSERT INTO invites (id, customer_id, token_hash, created_at, expires_at) VALUES ('i', 'no-such-customer', 'h', 'now', 'later')",
    )
    .try_execute()
    .await;
    assert!(result.is_err());
}

#[tokio::test]
async fn writes_on_a_read_only_database_answer_503_and_reads_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let location = database_in(dir.path());
    let writable = open_db(&location).await;
    let invite = Invite::new("Contoso").expires_in(time::Duration::days(1)).create(&writable.clone().into()).await;
    writable.close().await;
    let read_only = sqlx::SqlitePool::connect_with(SqliteConnectOptions::new().filename(location.sqlite_path().unwrap()).read_only(true))
        .await
        .unwrap();

    let error = db::customers::insert(&read_only, "Contoso", None, clock::now(&SystemClock)).await.unwrap_err();
    assert!(db::is_unavailable_for_writes(&error), "{error}");
    let response = AppError::from(error).into_response();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));

    let app = spawn_app_with(dir, location, read_only).await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE, "not ready while the database takes no write");
    let home = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK, "reads keep working");
    // A customer's "Continue" starts a session: the session store cannot write it, so 503, not 500.
    let link = invite.url(&app.base_url);
    let landing = app.client.get(&link).send().await.unwrap();
    assert_eq!(landing.status(), StatusCode::OK);
    let csrf = hidden_value(&landing.text().await.unwrap(), "csrf");
    let started = app.client.post(&link).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(started.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.headers().contains_key("retry-after"));
    assert!(started.text().await.unwrap().contains("please try again"));
}

#[tokio::test]
async fn a_backup_opens_and_holds_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let location = database_in(dir.path());
    let pool = open_db(&location).await;
    db::customers::insert(&pool, "Contoso", Some("it@contoso.example"), clock::now(&SystemClock)).await.unwrap();
    db::customers::insert(&pool, "Northwind", None, clock::now(&SystemClock)).await.unwrap();

    let target = dir.path().join("backup.db");
    db::backup(&pool, &target).await.unwrap();
    let copy = db::open(&DatabaseLocation::sqlite_file(target.clone())).await.unwrap();
    assert_eq!(db::customers::count(&copy).await.unwrap(), 2);
    copy.close().await;

    let error = db::backup(&pool, &target).await.unwrap_err();
    assert!(matches!(error, db::BackupError::Exists(_)), "{error}");
}

#[test]
fn the_backup_command_writes_a_copy_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("portal.db").display());
    let migrate = command_in(dir.path()).args(["migrate", "--database-url", &database]).output().unwrap();
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));

    let target = dir.path().join("copy.db");
    let backup = command_in(dir.path()).arg("backup").arg(&target).env("PORTAL_DATABASE_URL", &database).output().unwrap();
    assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));
    assert!(target.exists());

    let again = command_in(dir.path()).arg("backup").arg(&target).env("PORTAL_DATABASE_URL", &database).output().unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[test]
fn configuration_errors_exit_2_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("PORTAL_PUBLIC_URL", None, "PORTAL_PUBLIC_URL: is missing"),
        ("PORTAL_PUBLIC_URL", Some("http://portal.example.com"), "PORTAL_PUBLIC_URL: must use https"),
        ("PORTAL_CLIENT_ID", Some("not-a-guid"), "PORTAL_CLIENT_ID: is not a GUID"),
        ("PORTAL_CLIENT_SECRET", None, "PORTAL_CLIENT_SECRET: no credential"),
        ("PORTAL_PARTNER_TENANT_ID", None, "PORTAL_PARTNER_TENANT_ID: is missing"),
        ("PORTAL_AUTHORITY_HOST", Some("http://login.example.com"), "PORTAL_AUTHORITY_HOST: must use https"),
        ("PORTAL_REQUIRED_ROLES", Some(""), "PORTAL_REQUIRED_ROLES"),
    ];
    for (variable, value, expected) in cases {
        let mut command = command_in(dir.path());
        command.arg("serve");
        for (name, default) in serve_env(dir.path(), port) {
            if name != *variable {
                command.env(name, default);
            }
        }
        if let Some(value) = value {
            command.env(variable, value);
        }
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{variable}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(expected), "{variable}: {stderr}");
        assert!(!stderr.contains("test-client-secret-value"), "the secret never prints: {stderr}");
    }
}

#[test]
fn a_bad_trusted_proxy_list_stops_start_up_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (value, expected) in [
        ("10.0.0.0/8, proxy.internal", "PORTAL_TRUSTED_PROXIES: \"proxy.internal\" is not an IP address"),
        ("10.0.0.0/33", "PORTAL_TRUSTED_PROXIES: \"10.0.0.0/33\""),
        ("2001:db8::/129", "PORTAL_TRUSTED_PROXIES: \"2001:db8::/129\""),
    ] {
        let mut command = command_in(dir.path());
        command.arg("serve").envs(serve_env(dir.path(), free_port())).env("PORTAL_TRUSTED_PROXIES", value);
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = ChildGuard(command.spawn().unwrap());
        let status = wait_with_limit(&mut child.0, Duration::from_secs(30)).unwrap_or_else(|| panic!("{value:?}: the portal started"));
        let mut stderr = String::new();
        child.0.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        assert_eq!(status.code(), Some(2), "{value:?}: {stderr}");
        assert!(stderr.contains(expected), "{value:?}: {stderr}");
    }
}

#[test]
fn settings_shown_to_people_with_invisible_characters_stop_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cases = [
        ("PORTAL_PARTNER_NAME", "Fabrikam\u{202E}", "PORTAL_PARTNER_NAME: the partner's name holds U+202E"),
        ("PORTAL_PARTNER_CONTACT", "\u{2066}help@fabrikam.example", "PORTAL_PARTNER_CONTACT: the partner's contact holds U+2066"),
        ("PORTAL_MAIL_FROM", "Fabrikam\u{200F} <onboarding@fabrikam.example>", "PORTAL_MAIL_FROM: the sender holds U+200F"),
    ];
    for (variable, value, expected) in cases {
        let mut command = command_in(dir.path());
        command.arg("serve").envs(serve_env(dir.path(), port)).env(variable, value).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = ChildGuard(command.spawn().unwrap());
        let status = wait_with_limit(&mut child.0, Duration::from_secs(20));
        let mut stderr = String::new();
        if status.is_some() {
            child.0.stderr.as_mut().unwrap().read_to_string(&mut stderr).unwrap();
        }
        assert_eq!(status.and_then(|s| s.code()), Some(2), "{variable}: the portal started: {stderr}");
        assert!(stderr.contains(expected), "{variable}: {stderr}");
    }
}

#[test]
fn an_unreachable_database_stops_start_up_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "not a folder").unwrap();
    let database = format!("sqlite://{}/sub/portal.db", blocker.display());
    let output = command_in(dir.path())
        .arg("serve")
        .envs(serve_env(dir.path(), free_port()))
        .env("PORTAL_DATABASE_URL", &database)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("PORTAL_DATABASE_URL"), "{stderr}");
    assert!(stderr.contains(&blocker.display().to_string()), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["no-such-command"][..], &["serve", "--no-such-option"], &["backup"]] {
        let output = command_in(dir.path()).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("Usage"), "{args:?}");
    }
}

#[test]
fn a_dot_env_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let env: String = serve_env(dir.path(), port).into_iter().map(|(name, value)| format!("{name}={value}\n")).collect();
    std::fs::write(dir.path().join(".env"), env).unwrap();
    let mut command = command_in(dir.path());
    command.stdout(Stdio::null()).stderr(Stdio::null());
    let _child = ChildGuard(command.spawn().unwrap());
    wait_for_health(port);
}

#[test]
fn sigterm_lets_a_request_in_flight_finish_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = start_binary(dir.path(), port, &[]);

    // A request whose body is still on its way: the handler is waiting for it.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let body = br#"{"csp-report":{"violated-directive":"img-src"}}"#;
    write!(
        stream,
        "POST /csp-report HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/csp-report\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    // Nothing outside the portal shows that it has read the headers and is waiting for the body: a
    // moment for it to get there.
    std::thread::sleep(Duration::from_millis(300));

    terminate(&child.0);
    // The pause is the test: a portal that did not wait for the request would be gone by now.
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.0.try_wait().unwrap().is_none(), "the portal waits for the request in flight");

    stream.write_all(body).unwrap();
    let mut answer = String::new();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");

    let exit = wait_with_limit(&mut child.0, Duration::from_secs(10)).expect("the portal exits after the request");
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn json_logs_never_carry_paths_or_query_strings() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = start_binary(dir.path(), port, &[("PORTAL_LOG_FORMAT", "json")]);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(b"GET /onboard/INVITE-TOKEN-abc123?state=STATE-VALUE-xyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 404"));

    terminate(&child.0);
    wait_with_limit(&mut child.0, Duration::from_secs(10)).unwrap();
    let mut logs = String::new();
    child.0.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    assert!(logs.lines().count() >= 3, "{logs}");
    for line in logs.lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(event.get("timestamp").is_some(), "{line}");
    }
    assert!(!logs.contains("INVITE-TOKEN-abc123"), "{logs}");
    assert!(!logs.contains("STATE-VALUE-xyz"), "{logs}");
    assert!(!logs.contains("test-client-secret-value"), "{logs}");
}

#[test]
fn json_logs_name_the_client_a_trusted_proxy_reported_and_its_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = start_binary(dir.path(), port, &[("PORTAL_LOG_FORMAT", "json"), ("PORTAL_TRUSTED_PROXIES", "127.0.0.1/32")]);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(
            b"GET /nothing-here HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: 192.0.2.1, 198.51.100.7\r\n\
              X-Request-Id: edge-7f3a\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");

    terminate(&child.0);
    wait_with_limit(&mut child.0, Duration::from_secs(10)).unwrap();
    let mut logs = String::new();
    child.0.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    let answered = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|event| event["span"]["request_id"] == "edge-7f3a")
        .unwrap_or_else(|| panic!("no line of the request: {logs}"));
    assert_eq!(answered["span"]["client"], "198.51.100.7", "{answered}");
}

#[test]
fn demo_serves_health_on_loopback_with_nothing_configured() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = command_in(dir.path());
    command.args(["demo", "--bind", "127.0.0.1:0"]).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = ChildGuard(command.spawn().unwrap());
    let mut stdout = std::io::BufReader::new(child.0.stdout.take().unwrap());
    let mut portal_url = None;
    for _ in 0..20 {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() == 0 {
            break;
        }
        if let Some(url) = line.trim().strip_prefix("Portal:") {
            portal_url = Some(url.trim().trim_end_matches('/').to_owned());
            break;
        }
    }
    let portal_url = portal_url.expect("demo prints the portal's URL");
    let port: u16 = portal_url.rsplit(':').next().unwrap().parse().unwrap();
    wait_for_health(port);
    assert!(dir.path().join("data/demo/portal.db").exists(), "the demo keeps its database in a data folder");

    let refused = command_in(dir.path()).args(["demo", "--bind", "0.0.0.0:0"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("loopback only"));
}

#[test]
fn the_operations_guide_documents_every_environment_variable_of_the_help() {
    let dir = tempfile::tempdir().unwrap();
    let mut variables = std::collections::BTreeSet::new();
    for args in [&["--help"][..], &["demo", "--help"], &["healthcheck", "--help"], &["backup", "--help"], &["fake-entra", "--help"]] {
        let help = command_in(dir.path()).args(args).output().unwrap();
        let text = String::from_utf8_lossy(&help.stdout).into_owned();
        for word in text.split(|c: char| !(c.is_ascii_uppercase() || c == '_')) {
            if word.starts_with("PORTAL_") && word.len() > "PORTAL_".len() {
                variables.insert(word.to_owned());
            }
        }
    }
    assert!(variables.len() >= 15, "{variables:?}");
    let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/operations.md")).unwrap();
    let table_rows: Vec<&str> = guide.lines().filter(|line| line.starts_with("| `PORTAL_")).collect();
    for variable in &variables {
        assert!(
            table_rows.iter().any(|row| row.starts_with(&format!("| `{variable}`"))),
            "docs/operations.md's configuration table lacks {variable}"
        );
    }
    for row in table_rows {
        let name = row.trim_start_matches("| `").split('`').next().unwrap();
        assert!(variables.contains(name), "docs/operations.md documents {name}, which --help does not know");
    }
}

/// One `.dockerignore` line: whether it re-includes (`!`), and its path segments.
struct IgnorePattern {
    include: bool,
    segments: Vec<String>,
}

fn dockerignore_patterns(text: &str) -> Vec<IgnorePattern> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (include, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let pattern = pattern.trim_start_matches("./").trim_matches('/');
            IgnorePattern { include, segments: pattern.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect() }
        })
        .collect()
}

/// `*` and `?` within one path segment, as Docker's patterns.
fn segment_matches(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some(('*', rest)) => (0..=name.len()).any(|skip| segment_matches(rest, &name[skip..])),
        Some(('?', rest)) => !name.is_empty() && segment_matches(rest, &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && segment_matches(rest, &name[1..]),
    }
}

/// A pattern's segments against a path's, `**` standing for any number of segments.
fn path_matches(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => (0..=path.len()).any(|skip| path_matches(rest, &path[skip..])),
        Some((first, rest)) => path.split_first().is_some_and(|(name, tail)| {
            segment_matches(&first.chars().collect::<Vec<_>>(), &name.chars().collect::<Vec<_>>()) && path_matches(rest, tail)
        }),
    }
}

/// Whether Docker leaves `path` (relative to the context) out: the last pattern that matches it or one
/// of its folders decides.
fn dockerignore_excludes(patterns: &[IgnorePattern], path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty() && *s != ".").collect();
    let mut excluded = false;
    for pattern in patterns {
        if (1..=segments.len()).any(|end| path_matches(&pattern.segments, &segments[..end])) {
            excluded = !pattern.include;
        }
    }
    excluded
}

/// The files under `path` (or `path` itself), relative to `root`.
fn files_under(root: &std::path::Path, path: &str) -> Vec<String> {
    let full = root.join(path);
    if full.is_file() {
        return vec![path.to_owned()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&full).unwrap_or_else(|e| panic!("{path}: {e}")) {
        let name = entry.unwrap().file_name().into_string().unwrap();
        files.extend(files_under(root, &format!("{path}/{name}")));
    }
    files
}

/// Every string literal that follows `marker` in `text`.
fn literals_after(text: &str, marker: &str) -> Vec<String> {
    text.match_indices(marker).filter_map(|(at, _)| text[at + marker.len()..].split('"').next().map(str::to_owned)).collect()
}

/// `a/b/../c` → `a/c`.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

/// The image builds from the whole build context, so a file the compiler reads (a catalogue, a
/// template, a migration, a static file, a workspace crate) cannot be left out by forgetting a `COPY`;
/// and `.dockerignore` leaves out none of them, only what the build never reads (and the secrets).
#[test]
fn the_docker_build_context_holds_every_file_the_build_reads() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let copies: Vec<&str> = dockerfile.lines().filter(|l| l.starts_with("COPY ") && !l.contains("--from=")).collect();
    assert_eq!(copies, ["COPY . ."], "the build stage copies the whole (filtered) context, nothing picked by hand");
    assert!(dockerfile.contains("HEALTHCHECK"));
    assert!(dockerfile.contains("USER portal"));

    let patterns = dockerignore_patterns(&std::fs::read_to_string(root.join(".dockerignore")).unwrap());
    for secret_or_bulk in
        [".env", ".git/config", "target/release/consent-portal", "data/consent-portal.db", "tests/browser/node_modules/x.js"]
    {
        assert!(dockerignore_excludes(&patterns, secret_or_bulk), ".dockerignore lets {secret_or_bulk} into the image's build");
    }

    // What the compiler reads, crate by crate: the manifests and the lock, the sources, askama's
    // templates folder, and every include_str!/include_bytes!, rust-embed folder and sqlx migrations
    // folder the sources name.
    let mut crates = vec![".".to_owned()];
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        crates.push(format!("crates/{}", entry.unwrap().file_name().into_string().unwrap()));
    }
    let mut read = vec!["Cargo.lock".to_owned()];
    let (mut includes, mut embedded, mut migrations) = (0, 0, 0);
    for krate in &crates {
        read.push(normalize(&format!("{krate}/Cargo.toml")));
        read.push(normalize(&format!("{krate}/src")));
        if root.join(krate).join("templates").is_dir() {
            read.push(normalize(&format!("{krate}/templates")));
        }
        for source in files_under(root, &normalize(&format!("{krate}/src"))).iter().filter(|f| f.ends_with(".rs")) {
            let text = std::fs::read_to_string(root.join(source)).unwrap();
            let dir = source.rsplit_once('/').map_or("", |(dir, _)| dir);
            for literal in literals_after(&text, "include_str!(\"").into_iter().chain(literals_after(&text, "include_bytes!(\"")) {
                read.push(normalize(&format!("{dir}/{literal}")));
                includes += 1;
            }
            for literal in literals_after(&text, "#[folder = \"") {
                read.push(normalize(&format!("{krate}/{literal}")));
                embedded += 1;
            }
            for literal in literals_after(&text, "migrate!(\"") {
                read.push(normalize(&format!("{krate}/{literal}")));
                migrations += 1;
            }
        }
    }
    assert!(crates.len() >= 2 && includes >= 5 && embedded >= 1 && migrations >= 1, "the scan found too little: {read:?}");
    for path in &read {
        assert!(root.join(path).exists(), "the build reads {path}, which does not exist");
        for file in files_under(root, path) {
            assert!(!dockerignore_excludes(&patterns, &file), ".dockerignore leaves out {file}, which the build reads");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_sessions_are_deleted_by_a_running_portal() {
    let dir = tempfile::tempdir().unwrap();
    let location = database_in(dir.path());
    let pool = open_db(&location).await;
    sqlx::query("INSERT INTO tower_sessions (id, data, expiry_date) VALUES ('expired', x'00', '1970-01-01T00:00:01Z'), ('current', x'00', '2100-01-01T00:00:00Z')")
        .execute(&pool)
        .await
        .unwrap();
    let port = free_port();
    let _portal = tokio::task::spawn_blocking({
        let path = dir.path().to_owned();
        move || start_binary(&path, port, &[])
    })
    .await
    .unwrap();
    let mut left = Vec::new();
    within(Duration::from_secs(20), async || {
        left = sqlx::query_scalar::<_, String>("SELECT id FROM tower_sessions ORDER BY id").fetch_all(&pool).await.unwrap();
        (left == ["current"]).then_some(())
    })
    .await;
    assert_eq!(left, ["current"]);
}

//! The defences of docs/security.md that no other module shows: each test fails when its defence is
//! taken away. The onboarding sign-in's `state` (this browser's, once, within 15 minutes), the session
//! cookie's attributes, the 12-hour staff sign-in, HSTS, URLs that no `Host` or `X-Forwarded-*` header
//! changes, a fresh app-only token for every check, the outbound client (no redirects, connect and total
//! timeouts), SQLite's durability settings, the request timeout, and a read-only database at start-up.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::helpers::*;
use consent_portal::db;
use consent_portal::domain::{ManualClock, TenantId, Timestamp};
use fake_entra::demo::{DEMO_CLIENT_ID, DEMO_CONTOSO};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A bound on waiting for something that either happens within seconds or, without its defence, never:
/// reaching it is the failure, never a measure of speed.
const NEVER: Duration = Duration::from_secs(60);

/// How many sign-in codes the fake redeemed.
async fn code_redemptions(portal: &impl Portal) -> usize {
    let log: Value = http_client().get(portal.fake_url("/_fake/log")).send().await.unwrap().json().await.unwrap();
    log.as_array().unwrap().iter().filter(|entry| entry["grant_type"] == "authorization_code").count()
}

/// The value of `name` in the query of `url`.
fn query_value(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url).unwrap().query_pairs().find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
}

/// Presses "Continue with Microsoft" on the invite `url` and lets the fake (in auto mode) sign the admin
/// in; returns the sign-in callback Microsoft sends the browser to, not yet followed.
async fn sign_in_callback(client: &reqwest::Client, url: &str) -> String {
    let started = continue_from_landing(client, url).await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let answered = client.get(location(&started)).send().await.unwrap();
    assert!(answered.status().is_redirection(), "{}", answered.text().await.unwrap());
    let callback = location(&answered);
    assert!(callback.contains("/auth/callback?"), "{callback}");
    callback
}

/// The link starting with `start` in a text.
fn link_in(text: &str, start: &str) -> String {
    let at = text.find(start).unwrap_or_else(|| panic!("no {start} in {text}"));
    text[at..].split_whitespace().next().unwrap().to_owned()
}

/// The callback with its `state` replaced.
fn with_state(callback: &str, state: &str) -> String {
    let mut url = url::Url::parse(callback).unwrap();
    let pairs: Vec<(String, String)> =
        url.query_pairs().map(|(k, v)| (k.to_string(), if k == "state" { state.to_owned() } else { v.into_owned() })).collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

// ---------------------------------------------------------------------------------------------------
// The onboarding sign-in: this browser's state, once, within 15 minutes

#[tokio::test]
async fn a_tampered_sign_in_state_is_refused_before_any_code_is_redeemed() {
    let app = spawn_app().await;
    let (_, url) = create_invite(&app, "Contoso").await;
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    let callback = sign_in_callback(&app.client, &url).await;
    for forged in [with_state(&callback, "forged"), with_state(&callback, "")] {
        let (status, html) = status_and_text(app.client.get(&forged).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
        assert!(html.contains("does not belong to the sign-in this browser started"), "{html}");
    }
    // Another browser's state is as good as a forged one: a second customer's genuine answer.
    let other = http_client();
    let theirs = sign_in_callback(&other, &url).await;
    let crossed = with_state(&callback, &query_value(&theirs, "state").unwrap());
    assert_eq!(app.client.get(&crossed).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(code_redemptions(&app).await, 0, "no code is redeemed for an answer that is not this browser's");
}

#[tokio::test]
async fn a_replayed_sign_in_callback_is_refused_and_redeems_nothing() {
    let app = spawn_app().await;
    let (_, url) = create_invite(&app, "Contoso").await;
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    let callback = sign_in_callback(&app.client, &url).await;
    let first = app.client.get(&callback).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert!(location(&first).contains(&format!("/{DEMO_CONTOSO}/v2.0/adminconsent")), "{}", location(&first));
    assert_eq!(code_redemptions(&app).await, 1);

    let (status, html) = status_and_text(app.client.get(&callback).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    assert!(html.contains("This sign-in was already completed"), "{html}");
    assert_eq!(code_redemptions(&app).await, 1, "the replay reached Microsoft");
}

#[tokio::test]
async fn an_onboarding_sign_in_must_come_back_within_15_minutes() {
    let clock = Arc::new(ManualClock::at(OffsetDateTime::now_utc()));
    let app = spawn_app_on_clock(clock.clone()).await;
    let (_, url) = create_invite(&app, "Contoso").await;
    set_auto(&app, Some(MEGAN), Some("accept")).await;

    let in_time = http_client();
    let callback = sign_in_callback(&in_time, &url).await;
    clock.advance(time::Duration::minutes(15));
    let answered = in_time.get(&callback).send().await.unwrap();
    assert_eq!(answered.status(), StatusCode::SEE_OTHER, "15 minutes to the second is in time");
    assert!(location(&answered).contains("/v2.0/adminconsent"));

    let late = http_client();
    let callback = sign_in_callback(&late, &url).await;
    clock.advance(time::Duration::minutes(15) + time::Duration::seconds(1));
    let (status, html) = status_and_text(late.get(&callback).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    assert!(html.contains("a sign-in must finish within 15 minutes"), "{html}");
    assert_eq!(code_redemptions(&app).await, 1, "only the answer in time was redeemed");
}

// ---------------------------------------------------------------------------------------------------
// Sessions

/// The attributes of the cookie `name` that `response` sets (`HttpOnly`, `SameSite=Lax`, ...), in lower
/// case; `None` when it sets no such cookie.
fn cookie_attributes(response: &reqwest::Response, name: &str) -> Option<Vec<String>> {
    response.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|cookie| {
        let mut parts = cookie.split(';').map(str::trim);
        let (given, _) = parts.next()?.split_once('=')?;
        (given == name).then(|| parts.map(str::to_ascii_lowercase).collect())
    })
}

/// The value of the cookie `name` that `response` sets.
fn cookie_value(response: &reqwest::Response, name: &str) -> String {
    let prefix = format!("{name}=");
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|cookie| cookie.strip_prefix(&prefix).map(|rest| rest.split(';').next().unwrap_or_default().to_owned()))
        .unwrap_or_else(|| panic!("no {name} cookie set"))
}

/// Presses "Sign in with Microsoft" in a browser that keeps no cookies, sending the page's form cookie
/// back by hand (a browser would not send a `Secure` cookie over the plain http of the tests); returns
/// the page and the answer of the POST, which starts the session.
async fn start_staff_sign_in(app: &TestApp) -> (reqwest::Response, reqwest::Response) {
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser.get(app.url("/staff/sign-in")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let form_cookie = cookie_value(&page, "portal_staff_csrf");
    let started = browser
        .post(app.url("/staff/sign-in"))
        .header("cookie", format!("portal_staff_csrf={form_cookie}"))
        .form(&[("csrf", form_cookie.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    (page, started)
}

async fn spawn_https_app() -> TestApp {
    spawn_app_configured(|config| config.public_url = url::Url::parse("https://onboarding.example.com/").unwrap()).await
}

#[tokio::test]
async fn over_https_the_session_cookie_is_host_only_secure_httponly_and_lax() {
    let app = spawn_https_app().await;
    let (page, started) = start_staff_sign_in(&app).await;
    let session = cookie_attributes(&started, "__Host-portal_session").expect("the __Host- session cookie");
    for wanted in ["secure", "httponly", "samesite=lax", "path=/"] {
        assert!(session.iter().any(|a| a == wanted), "{wanted} missing: {session:?}");
    }
    assert!(!session.iter().any(|a| a.starts_with("domain")), "a __Host- cookie names no domain: {session:?}");
    assert!(cookie_attributes(&started, "portal_session").is_none(), "no cookie without the prefix");
    let form = cookie_attributes(&page, "portal_staff_csrf").unwrap();
    for wanted in ["secure", "httponly", "samesite=lax"] {
        assert!(form.iter().any(|a| a == wanted), "the form's cookie: {wanted} missing: {form:?}");
    }
}

#[tokio::test]
async fn over_plain_http_on_loopback_the_session_cookie_is_httponly_and_lax() {
    let app = spawn_app().await;
    let (_, started) = start_staff_sign_in(&app).await;
    let session = cookie_attributes(&started, "portal_session").expect("the session cookie");
    for wanted in ["httponly", "samesite=lax", "path=/"] {
        assert!(session.iter().any(|a| a == wanted), "{wanted} missing: {session:?}");
    }
    assert!(!session.iter().any(|a| a == "secure" || a.starts_with("domain")), "{session:?}");
}

#[tokio::test]
async fn a_staff_sign_in_ends_after_12_hours_however_active() {
    let clock = Arc::new(ManualClock::at(OffsetDateTime::now_utc()));
    let app = spawn_app_on_clock(clock.clone()).await;
    let (client, _) = staff(&app, ALEX).await;
    // Busy all day: a page every hour keeps the session from going idle.
    for hour in 1..=12 {
        clock.advance(time::Duration::hours(1));
        let page = client.get(app.url("/tenants")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "after {hour} h");
    }
    clock.advance(time::Duration::seconds(1));
    let ended = client.get(app.url("/tenants")).send().await.unwrap();
    assert_eq!(ended.status(), StatusCode::SEE_OTHER, "12 hours and a second after signing in");
    assert_eq!(location(&ended), "/staff/sign-in");
    // Ended on the server: the same cookie does not come back to life.
    clock.set(OffsetDateTime::now_utc());
    assert_eq!(client.get(app.url("/tenants")).send().await.unwrap().status(), StatusCode::SEE_OTHER);
}

// ---------------------------------------------------------------------------------------------------
// Headers and the URLs the portal builds

#[tokio::test]
async fn hsts_is_sent_when_the_public_url_is_https_and_never_over_http() {
    let https = spawn_https_app().await;
    for path in ["/healthz", "/", "/no-such-page"] {
        let response = https.client.get(https.url(path)).send().await.unwrap();
        assert_eq!(
            response.headers().get("strict-transport-security").map(|v| v.to_str().unwrap()),
            Some("max-age=31536000; includeSubDomains"),
            "{path}"
        );
    }
    let http = spawn_app().await;
    for path in ["/healthz", "/", "/no-such-page"] {
        let response = http.client.get(http.url(path)).send().await.unwrap();
        assert!(response.headers().get("strict-transport-security").is_none(), "{path}");
    }
}

/// What a client or a misconfigured proxy may send to make the portal believe it lives elsewhere.
const FORGED_ORIGIN: [(&str, &str); 5] = [
    ("host", "evil.example"),
    ("x-forwarded-host", "evil.example"),
    ("x-forwarded-proto", "https"),
    ("x-forwarded-port", "8443"),
    ("forwarded", "for=192.0.2.7;host=evil.example;proto=https"),
];

fn forged(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    FORGED_ORIGIN.iter().fold(request, |request, (name, value)| request.header(*name, *value))
}

/// Follows one redirect without the forged headers (the fake's own pages), then answers the portal's
/// callback with them; returns the portal's answer.
async fn through_the_fake(client: &reqwest::Client, to_the_fake: &reqwest::Response) -> reqwest::Response {
    let answered = client.get(location(to_the_fake)).send().await.unwrap();
    assert!(answered.status().is_redirection(), "{}", answered.text().await.unwrap());
    forged(client.get(location(&answered))).send().await.unwrap()
}

#[tokio::test]
async fn host_and_forwarded_headers_never_change_the_urls_the_portal_builds() {
    // Whether the peer is a trusted proxy or not: a proxy is believed about the client, never about
    // where the portal lives.
    for app in [spawn_app().await, spawn_app_trusting("127.0.0.1/32").await] {
        let sign_in_redirect = app.url("/auth/callback");

        // Staff sign-in: the redirect URI sent to Microsoft.
        set_auto(&app, Some(ALEX), None).await;
        let staff_browser = http_client();
        let page = forged(staff_browser.get(app.url("/staff/sign-in"))).send().await.unwrap().text().await.unwrap();
        let csrf = hidden_value(&page, "csrf");
        let started = forged(staff_browser.post(app.url("/staff/sign-in"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(started.status(), StatusCode::SEE_OTHER);
        assert_eq!(query_value(&location(&started), "redirect_uri").as_deref(), Some(sign_in_redirect.as_str()));
        let signed_in = through_the_fake(&staff_browser, &started).await;
        assert_eq!(location(&signed_in), "/");
        let tenants = forged(staff_browser.get(app.url("/tenants"))).send().await.unwrap().text().await.unwrap();
        assert!(!tenants.contains("evil.example"), "{tenants}");

        // An invite: the link on the page that shows it once, and in its e-mail.
        let csrf = hidden_value(&tenants, "csrf");
        let form = [
            ("csrf", csrf.as_str()),
            ("customer", "Contoso"),
            ("email", "it@contoso.example"),
            ("send", "on"),
            ("expires_days", "14"),
            ("language", "en"),
        ];
        let (status, created) = status_and_text(forged(staff_browser.post(app.url("/invites"))).form(&form).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{created}");
        assert!(!created.contains("evil.example"), "{created}");
        assert!(created.contains(&app.url("/onboard/")), "no link to the portal: {created}");
        // The e-mail carries a link of its own, made when it is sent.
        consent_portal::email::worker::run_once(&app.state, OffsetDateTime::now_utc()).await.unwrap();
        let mail = app.state.mailer.memory().unwrap().messages();
        assert!(mail[0].html.contains(&app.url("/onboard/")), "{}", mail[0].html);
        assert!(!mail[0].text.contains("evil.example") && !mail[0].html.contains("evil.example"));
        let link = link_in(&mail[0].text, &app.url("/onboard/"));

        // The customer's admin: the sign-in's redirect URI, then the consent's.
        set_auto(&app, Some(MEGAN), Some("accept")).await;
        let customer = http_client();
        let landing = forged(customer.get(&link)).send().await.unwrap().text().await.unwrap();
        assert!(!landing.contains("evil.example"), "{landing}");
        let csrf = hidden_value(&landing, "csrf");
        let started = forged(customer.post(&link)).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(query_value(&location(&started), "redirect_uri").as_deref(), Some(sign_in_redirect.as_str()));
        let to_consent = through_the_fake(&customer, &started).await;
        assert_eq!(to_consent.status(), StatusCode::SEE_OTHER);
        assert_eq!(query_value(&location(&to_consent), "redirect_uri"), Some(app.url("/consent/callback")));
        let (status, result) = status_and_text(through_the_fake(&customer, &to_consent).await).await;
        assert_eq!(status, StatusCode::OK, "{result}");
        assert!(result.contains(&format!("Connected: <code>{DEMO_CONTOSO}</code>")) && !result.contains("evil.example"), "{result}");
    }
}

// ---------------------------------------------------------------------------------------------------
// Calls to Microsoft

/// Contoso recorded a day ago, and a staff admin's browser with the CSRF token of its session.
async fn contoso_and_an_admin(app: &TestApp) -> (reqwest::Client, String) {
    let tenant = TenantId::parse(DEMO_CONTOSO).unwrap();
    let consented = Timestamp::new(OffsetDateTime::now_utc() - time::Duration::days(1));
    db::monitoring::seed_tenants(&app.state.db, "Contoso", &[tenant], consented).await.unwrap();
    staff(app, ALEX).await
}

async fn check_now(app: &TestApp, client: &reqwest::Client, csrf: &str) -> reqwest::Response {
    client.post(app.url(&format!("/tenants/{DEMO_CONTOSO}/check"))).form(&[("csrf", csrf)]).send().await.unwrap()
}

async fn status_and_reason(app: &TestApp) -> (String, String) {
    sql(&app.db, "SELECT status, status_reason FROM tenants WHERE tenant_id = $1").bind(DEMO_CONTOSO).row().await
}

#[tokio::test]
async fn every_check_asks_for_a_fresh_token_so_a_removed_grant_shows_at_once() {
    let app = spawn_app().await;
    let grant = app.fake_url(&format!("/_fake/tenants/{DEMO_CONTOSO}/grants/{DEMO_CLIENT_ID}"));
    let roles = demo_grant();
    assert_eq!(app.client.put(&grant).json(&roles).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let (client, csrf) = contoso_and_an_admin(&app).await;
    assert_eq!(check_now(&app, &client, &csrf).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_and_reason(&app).await.0, "verified");

    // The customer's admin removes the app; the token of a minute ago would still be valid for an hour.
    assert!(app.client.delete(&grant).send().await.unwrap().status().is_success());
    assert_eq!(check_now(&app, &client, &csrf).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_and_reason(&app).await.0, "consent_removed");
    assert_eq!(token_requests(&app.fake.url, DEMO_CONTOSO).await.len(), 4, "one token request per required API per check");
}

/// Hits on a stand-in for Microsoft whose token endpoint redirects elsewhere.
#[derive(Clone, Default)]
struct RedirectingMicrosoft {
    token_requests: Arc<AtomicUsize>,
    followed: Arc<AtomicUsize>,
}

impl RedirectingMicrosoft {
    /// Serves on 127.0.0.1:0: every token endpoint answers 302 to `/elsewhere/token`, which would hand
    /// out a token to whoever came.
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (asked, followed) = (self.token_requests.clone(), self.followed.clone());
        let elsewhere = format!("{base}/elsewhere/token");
        let app = axum::Router::new()
            .route(
                "/{tenant}/oauth2/v2.0/token",
                axum::routing::post(move || {
                    asked.fetch_add(1, Ordering::SeqCst);
                    let elsewhere = elsewhere.clone();
                    async move { (axum::http::StatusCode::FOUND, [(axum::http::header::LOCATION, elsewhere)]) }
                }),
            )
            .route(
                "/elsewhere/token",
                axum::routing::any(move || {
                    followed.fetch_add(1, Ordering::SeqCst);
                    async { axum::Json(json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "handed-out-elsewhere"})) }
                }),
            );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        base
    }
}

#[tokio::test]
async fn the_client_for_microsoft_follows_no_redirect() {
    let microsoft = RedirectingMicrosoft::default();
    let base = microsoft.start().await;
    let dir = tempfile::tempdir().unwrap();
    let pool = db::open(&database_in(dir.path())).await.unwrap();
    let tenant = TenantId::new_random();
    db::monitoring::seed_tenants(&pool, "Contoso", &[tenant], Timestamp::new(OffsetDateTime::now_utc() - time::Duration::days(1)))
        .await
        .unwrap();
    pool.close().await;

    let folder = dir.path().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        command_in(&folder)
            .args(["validate", "--all"])
            .envs(serve_env(&folder, free_port()))
            .env("PORTAL_AUTHORITY_HOST", &base)
            .env("PORTAL_API_BASE", &base)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(microsoft.token_requests.load(Ordering::SeqCst) >= 1, "no token was asked for: {stdout}");
    assert_eq!(microsoft.followed.load(Ordering::SeqCst), 0, "the redirect was followed: {stdout}");
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let line = stdout.lines().find(|line| line.starts_with(&tenant.to_string())).unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains("unreachable") && line.contains("HTTP 302"), "{line}");
}

#[tokio::test]
async fn a_token_endpoint_that_never_answers_ends_the_check_as_unreachable() {
    let app = spawn_app().await;
    let roles = demo_grant();
    let tenant_url = |path: &str| app.fake_url(&format!("/_fake/tenants/{DEMO_CONTOSO}/{path}"));
    assert_eq!(app.client.put(tenant_url(&format!("grants/{DEMO_CLIENT_ID}"))).json(&roles).send().await.unwrap().status(), 204);
    let (client, csrf) = contoso_and_an_admin(&app).await;
    // Longer than the request's own timeout (30 s): without the client's, the page would be a 503.
    let hang = json!({"token_latency_ms": 120_000});
    assert_eq!(app.client.put(tenant_url("faults")).json(&hang).send().await.unwrap().status(), 204);
    // "Check now" asks once, with no deadline of its own: only the client's timeout ends the wait.
    let checked = check_now(&app, &client, &csrf).await;
    assert_eq!(checked.status(), StatusCode::SEE_OTHER, "{}", checked.text().await.unwrap());
    let (status, reason) = status_and_reason(&app).await;
    assert_eq!(status, "unreachable");
    assert!(reason.contains("timeout"), "{reason}");
}

/// A listener whose queue of connections is full: a new connection is never accepted, the way a
/// firewall that drops packets or a host that is down never answers.
async fn listener_that_never_accepts() -> (tokio::net::TcpListener, Vec<tokio::net::TcpStream>, SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let address = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    for _ in 0..8 {
        match tokio::time::timeout(Duration::from_millis(500), tokio::net::TcpStream::connect(address)).await {
            Ok(Ok(stream)) => queued.push(stream),
            _ => return (listener, queued, address),
        }
    }
    panic!("eight connections were queued and none waited: this machine's kernel does not bound the listen queue");
}

#[tokio::test]
async fn a_connection_that_never_completes_ends_at_the_connect_timeout() {
    let (_listener, _queued, address) = listener_that_never_accepts().await;
    let client = consent_portal::entra::http_client().unwrap();
    let attempt = tokio::time::timeout(NEVER, client.get(format!("http://{address}/common/discovery/v2.0/keys")).send()).await;
    let error = attempt.unwrap_or_else(|_| panic!("still connecting after {NEVER:?}")).expect_err("a connection that never completes");
    // The connect timeout's own error: the total timeout, later, would end it as a timeout of the
    // request, not of the connection.
    assert!(error.is_connect() && error.is_timeout(), "{error:?}");
}

// ---------------------------------------------------------------------------------------------------
// The database and the server

#[tokio::test]
async fn every_connection_of_the_pool_runs_in_wal_mode_with_synchronous_full() {
    if sqlite_specific("every_connection_of_the_pool_runs_in_wal_mode_with_synchronous_full") {
        return;
    }
    let app = spawn_app().await;
    let consent_portal::db::Pool::Sqlite(pool) = &app.db else { unreachable!("SQLite, as sqlite_specific says") };
    let mut connections = Vec::new();
    for _ in 0..4 {
        connections.push(pool.acquire().await.unwrap());
    }
    for connection in &mut connections {
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut **connection).await.unwrap();
        assert_eq!(synchronous, 2, "FULL: an acknowledged write survives a crash of the machine");
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut **connection).await.unwrap();
        assert_eq!(journal, "wal");
    }
}

#[tokio::test]
async fn a_request_that_outlasts_the_request_timeout_is_answered_503() {
    let app = spawn_app_configured(|config| config.request_timeout = Duration::from_secs(1)).await;
    let stream = tokio::net::TcpStream::connect(app.base_url.trim_start_matches("http://")).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(b"POST /csp-report HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/csp-report\r\nContent-Length: 4096\r\n\r\n{")
        .await
        .unwrap();
    // The body trickles in, a byte at a time, far slower than the timeout allows.
    let trickle = tokio::spawn(async move {
        while writer.write_all(b" ").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut answer = Vec::new();
    let head = tokio::time::timeout(NEVER, async {
        let mut chunk = [0u8; 1024];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let read = reader.read(&mut chunk).await.unwrap();
            if read == 0 {
                break;
            }
            answer.extend_from_slice(&chunk[..read]);
        }
    })
    .await;
    trickle.abort();
    assert!(head.is_ok(), "no answer after {NEVER:?}");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
}

/// Runs `serve` on the database in `folder`; returns its exit code and standard error, or fails when
/// it is still running after a minute.
fn serve_exits(folder: &std::path::Path) -> (Option<i32>, String) {
    let mut child = ChildGuard(
        command_in(folder).arg("serve").envs(serve_env(folder, free_port())).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap(),
    );
    let status = wait_with_limit(&mut child.0, NEVER)
        .unwrap_or_else(|| panic!("the portal started on a read-only database in {}", folder.display()));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    (status.code(), stderr)
}

#[tokio::test]
async fn a_read_only_database_stops_start_up_with_exit_2_naming_it() {
    let Some(()) = require(root()) else { return };
    // A portal's database as it is while the portal runs: the file, its write-ahead log and its
    // shared-memory index (nothing left in the log to fold in).
    let source = tempfile::tempdir().unwrap();
    let location = database_in(source.path());
    let pool = open_db(&location).await;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&pool).await.unwrap();
    let alone = SmallFilesystem::mount("8m");
    let with_index = SmallFilesystem::mount("8m");
    std::fs::copy(location.sqlite_path().unwrap(), alone.path.join("portal.db")).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        std::fs::copy(source.path().join(format!("portal.db{suffix}")), with_index.path.join(format!("portal.db{suffix}"))).unwrap();
    }
    pool.close().await;

    // The database alone on a read-only mount, and with its index beside it (a portal stopped uncleanly,
    // or a copy of a running one's files): SQLite opens, reads and begins transactions on the second.
    for (filesystem, what, why) in
        [(&alone, "the database alone", "cannot open"), (&with_index, "the database with its index", "is read-only")]
    {
        filesystem.remount_read_only();
        let folder = filesystem.path.clone();
        let (code, stderr) = tokio::task::spawn_blocking(move || serve_exits(&folder)).await.unwrap();
        assert_eq!(code, Some(2), "{what}: {stderr}");
        let named = stderr.contains("PORTAL_DATABASE_URL") && stderr.contains(&filesystem.path.join("portal.db").display().to_string());
        assert!(named && stderr.contains(why), "{what}: {stderr}");
    }
}

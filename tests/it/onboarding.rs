//! Customer onboarding over real HTTP: the portal and the built-in fake (auto mode), both flows, and
//! every bad input of the issue.

use std::collections::HashMap;
use std::time::Duration;

use crate::helpers::*;
use consent_portal::config::ConsentFlow;
use fake_entra::demo::{DEMO_CONTOSO, DEMO_NORTHWIND};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn count(app: &TestApp, table: &str) -> i64 {
    sql(&app.db, &format!("SELECT COUNT(*) FROM {table}")).scalar().await
}

/// The audit events of what the test did (not the permissions the portal started with).
async fn audit_kinds(app: &TestApp) -> Vec<String> {
    sql(&app.db, "SELECT kind FROM audit_events WHERE kind <> 'permissions.changed' ORDER BY id").scalars().await
}

#[tokio::test]
async fn the_whole_journey_records_the_proven_tenant() {
    let app = spawn_app().await;
    let (invite_id, url) = create_invite(&app, Invite::new("Contoso").email("it@contoso.example")).await;
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    let (status, html, visited) = journey(&app.client, &url).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(visited[0].starts_with(&app.fake.url) && visited[0].contains("/organizations/oauth2/v2.0/authorize"), "{visited:?}");
    assert!(visited.iter().any(|u| u.contains(&format!("/{DEMO_CONTOSO}/v2.0/adminconsent"))), "{visited:?}");
    assert!(html.contains(&format!("Connected: <code>{DEMO_CONTOSO}</code>")), "{html}");
    assert!(html.contains("Incident.Read.All") && html.contains("AdvancedHunting.Read.All"));
    assert!(html.contains(MEGAN), "the receipt names who consented");
    assert!(html.contains("Verified"));

    let row: (String, String, Option<String>, String) =
        sql(&app.db, "SELECT customer_id, status, consented_by_upn, invite_id FROM tenants WHERE tenant_id = $1")
            .bind(DEMO_CONTOSO)
            .row()
            .await;
    assert_eq!(row.1, "verified");
    assert_eq!(row.2.as_deref(), Some(MEGAN));
    assert_eq!(row.3, invite_id);
    let completed: Option<String> = sql(&app.db, "SELECT completed_at FROM invites WHERE id = $1").bind(&invite_id).scalar().await;
    assert!(completed.is_some());
    assert_eq!(audit_kinds(&app).await, ["invite.created", "invite.signed_in", "tenant.consented", "invite.verified"]);
    let check: (String, String) =
        sql(&app.db, "SELECT status, roles_present FROM checks WHERE tenant_id = $1").bind(DEMO_CONTOSO).row().await;
    assert_eq!(check.0, "verified");
    assert!(check.1.contains("Incident.Read.All"));

    // Nothing secret was stored: no token, state or code anywhere in the database.
    let dump: Vec<(String,)> =
        sql(&app.db, "SELECT COALESCE(detail, '') FROM audit_events UNION ALL SELECT state_hash FROM consent_states").rows().await;
    assert!(dump.iter().all(|(text,)| !text.contains("eyJ")), "no JWT stored");

    // The CLI lists the tenant.
    let output = command_in(app.dir.path())
        .args(["tenants", "list", "--json"])
        .env("PORTAL_DATABASE_URL", database_url(&app.state.config.database))
        .output()
        .unwrap();
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listed[0]["tenant_id"], DEMO_CONTOSO);
    assert_eq!(listed[0]["customer"], "Contoso");
    assert_eq!(listed[0]["status"], "verified");
    assert_eq!(listed[0]["consented_by"], MEGAN);
    assert!(listed[0]["consented_at"].is_string());
    assert_eq!(listed[0]["roles_present"], json!(app.state.config.required_permissions()), "every required api:Role");
    assert_eq!(listed[0]["roles_missing"], json!([]));
    assert!(listed[0]["last_checked_at"].is_string());
    assert!(listed[0]["status_reason"].is_string());
}

#[tokio::test]
async fn the_v1_flow_proves_the_tenant_by_redeeming_the_code() {
    let app = spawn_app_configured(|config| config.consent_flow = ConsentFlow::V1).await;
    let (_, url) = create_invite(&app, "Northwind").await;
    set_auto(&app, Some("lee@northwind.example"), Some("accept")).await;
    let (status, html, visited) = journey(&app.client, &url).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(visited[0].contains("/common/oauth2/authorize") && visited[0].contains("prompt=admin_consent"), "{visited:?}");
    assert!(html.contains(&format!("Connected: <code>{DEMO_NORTHWIND}</code>")), "{html}");
    let upn: Option<String> = sql(&app.db, "SELECT consented_by_upn FROM tenants WHERE tenant_id = $1").bind(DEMO_NORTHWIND).scalar().await;
    assert_eq!(upn.as_deref(), Some("lee@northwind.example"));
    let log: Value = app.client.get(app.fake_url("/_fake/log")).send().await.unwrap().json().await.unwrap();
    assert!(
        log.as_array().unwrap().iter().any(|e| e["path"] == "/common/oauth2/token" && e["grant_type"] == "authorization_code"),
        "{log}"
    );
}

#[tokio::test]
async fn the_landing_page_changes_nothing_however_often_it_is_fetched() {
    let app = spawn_app().await;
    let (_, url) = create_invite(&app, "Contoso").await;
    let tables = ["customers", "invites", "tenants", "checks", "audit_events", "consent_states", "consents", "tower_sessions"];
    let mut before = Vec::new();
    for table in tables {
        before.push(count(&app, table).await);
    }
    let scanner = http_client();
    for _ in 0..5 {
        let page = scanner.get(&url).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()["referrer-policy"], "no-referrer");
        assert_eq!(page.headers()["cache-control"], "no-store");
        let html = page.text().await.unwrap();
        assert!(
            html.contains("Continue with Microsoft")
                && html.contains("Global Administrator")
                && html.contains("Cloud Application Administrator")
        );
        assert!(html.contains("Read your security incidents"), "roles in plain words");
        assert!(html.contains("Fabrikam Partner"));
    }
    for (table, was) in tables.iter().zip(before) {
        assert_eq!(count(&app, table).await, was, "{table} changed");
    }
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    let (status, html, _) = journey(&app.client, &url).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Connected"));
}

#[tokio::test]
async fn unknown_expired_and_revoked_links() {
    let app = spawn_app().await;
    let unknown_a = app.client.get(app.url(&format!("/onboard/{}", "A".repeat(43)))).send().await.unwrap();
    let unknown_b = app.client.get(app.url("/onboard/short")).send().await.unwrap();
    assert_eq!(unknown_a.status(), StatusCode::NOT_FOUND);
    assert_eq!(unknown_b.status(), StatusCode::NOT_FOUND);
    let (a, b) = (unknown_a.text().await.unwrap(), unknown_b.text().await.unwrap());
    assert_eq!(a, b, "the same 404 page for every unknown token");

    let (id, url) = create_invite(&app, "Contoso").await;
    let revoke = command_in(app.dir.path())
        .args(["invite", "revoke", &id])
        .env("PORTAL_DATABASE_URL", database_url(&app.state.config.database))
        .output()
        .unwrap();
    assert!(revoke.status.success());
    let gone = app.client.get(&url).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::GONE);
    assert!(gone.text().await.unwrap().contains("onboarding@fabrikampartner.example"), "names the partner contact");

    let (id, url) = create_invite(&app, "Northwind").await;
    sql(&app.db, "UPDATE invites SET expires_at = '2000-01-01T00:00:00Z' WHERE id = $1").bind(&id).execute().await;
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), StatusCode::GONE);
}

#[tokio::test]
async fn guessing_tokens_is_rate_limited_per_address() {
    let app = spawn_app().await;
    let mut limited = false;
    for i in 0..80 {
        let response = app.client.get(app.url(&format!("/onboard/{:0>43}", i))).send().await.unwrap();
        match response.status() {
            StatusCode::NOT_FOUND => {}
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(response.headers().contains_key("retry-after"));
                limited = true;
                break;
            }
            other => panic!("{other}"),
        }
    }
    assert!(limited, "80 guesses a minute from one address are not all answered");
}

/// One lookup of a made-up link (well-formed, unknown) with these extra headers: 404, or 429 past the
/// quota of failed lookups.
async fn guess(app: &TestApp, headers: &[(&str, &str)]) -> StatusCode {
    let mut request = app.client.get(app.url(&format!("/onboard/{}", random_token())));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let status = request.send().await.unwrap().status();
    assert!(matches!(status, StatusCode::NOT_FOUND | StatusCode::TOO_MANY_REQUESTS), "{status}");
    status
}

fn random_token() -> String {
    consent_portal::domain::InviteToken::generate().expose().to_owned()
}

/// Guesses with these headers (made by `headers_of(n)` for the n-th guess) until the portal answers
/// 429, which must come after 60 failed lookups (and soon after: the quota refills by one a second).
async fn guess_until_limited<'a>(app: &TestApp, headers_of: impl Fn(usize) -> Vec<(&'a str, String)>) {
    for n in 0..120 {
        let headers = headers_of(n);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(name, value)| (*name, value.as_str())).collect();
        if guess(app, &headers).await == StatusCode::TOO_MANY_REQUESTS {
            assert!(n >= 60, "limited after {n} failed lookups");
            return;
        }
    }
    panic!("120 failed lookups and never limited");
}

/// The landing page and "Continue with Microsoft" of a valid link, sent with these headers: 200 and 303.
async fn open_and_continue(app: &TestApp, url: &str, headers: &[(&str, &str)]) {
    let client = http_client();
    let mut landing = client.get(url);
    for (name, value) in headers {
        landing = landing.header(*name, *value);
    }
    let landing = landing.send().await.unwrap();
    assert_eq!(landing.status(), StatusCode::OK);
    let csrf = hidden_value(&landing.text().await.unwrap(), "csrf");
    let mut start = client.post(url).header("origin", &app.base_url).form(&[("csrf", csrf.as_str())]);
    for (name, value) in headers {
        start = start.header(*name, *value);
    }
    assert_eq!(start.send().await.unwrap().status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_valid_links_own_traffic_is_never_limited_even_while_its_address_is() {
    let app = spawn_app().await;
    let (_, url) = create_invite(&app, "Contoso").await;
    for _ in 0..70 {
        open_and_continue(&app, &url, &[]).await;
    }
    // Someone else guesses from the same address (one office, one NAT): guesses get 429, the link
    // still opens and continues.
    guess_until_limited(&app, |_| Vec::new()).await;
    let malformed = app.client.get(app.url("/onboard/not-a-token")).send().await.unwrap();
    assert_eq!(malformed.status(), StatusCode::TOO_MANY_REQUESTS, "a malformed token is a failed lookup too");
    open_and_continue(&app, &url, &[]).await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_one_clients_guessing_locks_out_neither_another_client_nor_a_valid_link() {
    let app = spawn_app_trusting("127.0.0.1/32").await;
    let (_, url) = create_invite(&app, "Contoso").await;
    guess_until_limited(&app, |_| vec![("x-forwarded-for", "198.51.100.7".to_owned())]).await;
    assert_eq!(guess(&app, &[("x-forwarded-for", "198.51.100.7")]).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(guess(&app, &[("x-forwarded-for", "203.0.113.9")]).await, StatusCode::NOT_FOUND, "another client");
    assert_eq!(guess(&app, &[]).await, StatusCode::NOT_FOUND, "the proxy's own requests");
    open_and_continue(&app, &url, &[("x-forwarded-for", "198.51.100.7")]).await;
    open_and_continue(&app, &url, &[("x-forwarded-for", "203.0.113.9")]).await;
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    for trusted in ["", "10.0.0.0/8, ::1"] {
        let app = spawn_app_trusting(trusted).await;
        // Each guess claims another client: all of them are the peer's.
        guess_until_limited(&app, |n| {
            vec![
                ("x-forwarded-for", format!("198.51.100.{n}")),
                ("forwarded", format!("for=203.0.113.{n}")),
                ("x-real-ip", format!("192.0.2.{n}")),
            ]
        })
        .await;
        assert_eq!(guess(&app, &[("x-forwarded-for", "192.0.2.200")]).await, StatusCode::TOO_MANY_REQUESTS, "trusting {trusted:?}");
        assert_eq!(guess(&app, &[("forwarded", "for=192.0.2.201")]).await, StatusCode::TOO_MANY_REQUESTS, "trusting {trusted:?}");
    }
}

#[tokio::test]
async fn the_client_is_the_rightmost_address_that_is_not_a_trusted_proxy() {
    let app = spawn_app_trusting("127.0.0.1/32, 10.0.0.0/8").await;
    // What the client wrote itself (left) changes every time; what the trusted proxies appended
    // (right, in a second header) names the same client.
    guess_until_limited(&app, |n| {
        vec![("x-forwarded-for", format!("192.0.2.{n}, 198.51.100.7")), ("x-forwarded-for", "10.0.0.2, 10.0.0.3".to_owned())]
    })
    .await;
    assert_eq!(guess(&app, &[("x-forwarded-for", "198.51.100.7")]).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(guess(&app, &[("x-forwarded-for", "198.51.100.7:54012, 10.0.0.2")]).await, StatusCode::TOO_MANY_REQUESTS, "with a port");
    assert_eq!(
        guess(&app, &[("x-forwarded-for", "198.51.100.7, 198.51.100.8, 10.0.0.2")]).await,
        StatusCode::NOT_FOUND,
        "198.51.100.8 is the client: what it claims is not believed"
    );
}

#[tokio::test]
async fn a_forwarded_header_names_the_client() {
    let app = spawn_app_trusting("127.0.0.1/32").await;
    guess_until_limited(&app, |n| vec![("forwarded", format!("for=192.0.2.{n}, for=\"[2001:db8::1]:{}\";proto=https", 1000 + n))]).await;
    assert_eq!(guess(&app, &[("forwarded", "for=\"[2001:db8::1]\"")]).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(guess(&app, &[("forwarded", "for=192.0.2.1")]).await, StatusCode::NOT_FOUND, "another client");
    assert_eq!(guess(&app, &[("forwarded", "for=\"[2001:db8::2]:443\"")]).await, StatusCode::NOT_FOUND, "another client");
    // An obfuscated or unknown identifier names no client: the lookups count against the proxy.
    guess_until_limited(&app, |n| vec![("forwarded", if n % 2 == 0 { "for=unknown".to_owned() } else { format!("for=_hidden{n}") })]).await;
    assert_eq!(guess(&app, &[]).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(guess(&app, &[("forwarded", "for=203.0.113.1")]).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn continuing_needs_the_form_token_and_our_own_origin() {
    let app = spawn_app().await;
    let (_, url) = create_invite(&app, "Contoso").await;
    let html = app.client.get(&url).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_value(&html, "csrf");
    let no_token = app.client.post(&url).form(&[("csrf", "")]).send().await.unwrap();
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    let wrong = app.client.post(&url).form(&[("csrf", "x".repeat(43))]).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let cross_site = app.client.post(&url).header("sec-fetch-site", "cross-site").form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let foreign = app.client.post(&url).header("origin", "https://evil.example").form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let good = app.client.post(&url).header("origin", &app.base_url).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(good.status(), StatusCode::SEE_OTHER);
}

/// Runs the journey up to the consent redirect and returns the consent callback URL Microsoft would
/// send the browser to, without following it.
async fn consent_callback_url(app: &TestApp, client: &reqwest::Client, url: &str) -> String {
    let started = continue_from_landing(client, url).await;
    let mut response = started;
    for _ in 0..10 {
        let next = location(&response);
        if next.starts_with(&app.url("/consent/callback")) {
            return next;
        }
        response = client.get(&next).send().await.unwrap();
        assert!(response.status().is_redirection(), "{}", response.text().await.unwrap());
    }
    panic!("no consent callback");
}

fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> =
        parsed.query_pairs().map(|(k, v)| (k.to_string(), if k == name { value.to_owned() } else { v.into_owned() })).collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

fn without_param(url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> =
        parsed.query_pairs().filter(|(k, _)| k != name).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

#[tokio::test]
async fn bad_consent_callbacks_are_refused_and_store_nothing() {
    let app = spawn_app().await;
    let (_, url) = create_invite(&app, "Contoso").await;
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    let callback = consent_callback_url(&app, &app.client, &url).await;
    let state: HashMap<String, String> = url::Url::parse(&callback).unwrap().query_pairs().into_owned().collect();
    assert_eq!(state["tenant"], DEMO_CONTOSO);

    let cases: Vec<(String, StatusCode, &str)> = vec![
        (without_param(&callback, "state"), StatusCode::FORBIDDEN, "no state"),
        (with_param(&callback, "state", "never-issued"), StatusCode::FORBIDDEN, "a state never issued"),
        (with_param(&callback, "tenant", "not-a-guid"), StatusCode::BAD_REQUEST, "tenant not a GUID"),
        (format!("{callback}&tenant={DEMO_CONTOSO}"), StatusCode::BAD_REQUEST, "a repeated parameter"),
        (with_param(&callback, "tenant", DEMO_NORTHWIND), StatusCode::FORBIDDEN, "a tenant that is not the signed-in one"),
        (format!("{callback}&pad={}", "x".repeat(5000)), StatusCode::URI_TOO_LONG, "an oversized query"),
    ];
    for (bad, expected, what) in &cases {
        let response = app.client.get(bad).send().await.unwrap();
        assert_eq!(response.status(), *expected, "{what}");
    }
    let other_browser = http_client();
    assert_eq!(other_browser.get(&callback).send().await.unwrap().status(), StatusCode::FORBIDDEN, "another browser session");
    assert_eq!(count(&app, "tenants").await, 0, "nothing stored");

    sql(&app.db, "UPDATE consent_states SET expires_at = '2000-01-01T00:00:00Z'").execute().await;
    assert_eq!(app.client.get(&callback).send().await.unwrap().status(), StatusCode::FORBIDDEN, "expired");
    assert_eq!(count(&app, "tenants").await, 0, "nothing stored");
}

#[tokio::test]
async fn a_state_from_another_invite_is_refused() {
    let app = spawn_app().await;
    let (_, first) = create_invite(&app, "Contoso").await;
    let (_, second) = create_invite(&app, "Northwind").await;
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    let callback = consent_callback_url(&app, &app.client, &first).await;
    // The same browser starts the second invite: its session now belongs to that invite.
    let started = continue_from_landing(&app.client, &second).await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.client.get(&callback).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(count(&app, "tenants").await, 0);
}

#[tokio::test]
async fn error_redirects_are_explained_never_reflected() {
    let app = spawn_app().await;
    let (_, url) = create_invite(&app, "Contoso").await;
    set_auto(&app, Some(MEGAN), Some("cancel")).await;
    let (status, html, _) = journey(&app.client, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("You cancelled the approval") && html.contains("Try again"), "{html}");

    set_auto(&app, Some(MEGAN), Some("decline")).await;
    let (status, html, _) = journey(&app.client, &url).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("The approval was declined") && html.contains("AADSTS65004"), "{html}");

    let forged = app.url("/consent/callback?admin_consent=True&error=consent_required&error_description=AADSTS65004%3A+%3Cscript%3Ealert(1)%3C%2Fscript%3E+call+0800-SCAM");
    let response = app.client.get(&forged).send().await.unwrap();
    let html = response.text().await.unwrap();
    assert!(!html.contains("<script>alert") && !html.contains("0800-SCAM"), "error_description is never reflected");
    assert!(html.contains("The approval was declined"));
    assert_eq!(count(&app, "tenants").await, 0);
    let kinds = audit_kinds(&app).await;
    assert!(kinds.contains(&"invite.cancelled".to_owned()) && kinds.contains(&"invite.failed".to_owned()), "{kinds:?}");
}

#[tokio::test]
async fn a_non_admin_gets_the_explanation_and_a_retry() {
    let app = spawn_app().await;
    let (_, url) = create_invite(&app, "Contoso").await;
    set_auto(&app, Some("adele@contoso.example"), Some("accept")).await;
    let callback = {
        let started = continue_from_landing(&app.client, &url).await;
        let page = follow(&app.client, started).await;
        assert_eq!(page.status(), StatusCode::FORBIDDEN, "Microsoft's AADSTS90093 page");
        let html = page.text().await.unwrap();
        assert!(html.contains("AADSTS90093"));
        first_link(&html)
    };
    assert!(callback.starts_with(&app.url("/consent/callback")), "{callback}");
    let page = app.client.get(&callback).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let html = page.text().await.unwrap();
    assert!(html.contains("An administrator needs to approve this") && html.contains("Cloud Application Administrator"), "{html}");
    assert!(html.contains("/onboard/retry"), "a retry path");
    let csrf = hidden_value(&html, "csrf");
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    let retried = app.client.post(app.url("/onboard/retry")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(retried.status(), StatusCode::SEE_OTHER);
    assert!(location(&retried).contains("prompt=select_account"));
    let done = follow(&app.client, retried).await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("Connected"));
}

/// The "Back to the application" link of the fake's error page.
fn first_link(html: &str) -> String {
    let marker = "class=\"fake-button\" href=\"";
    let start = html.find(marker).unwrap_or_else(|| panic!("no link back in {html}")) + marker.len();
    html[start..start + html[start..].find('"').unwrap()].replace("&amp;", "&").replace("&#38;", "&")
}

/// Creates an invite with the real binary (`invite create --json`) on the app's database: for the test
/// of what only the command does (resolving `--domain` through Microsoft's discovery).
fn create_invite_with_the_command(app: &TestApp, extra: &[&str]) -> (String, String) {
    let mut command = command_in(app.dir.path());
    command
        .args(["invite", "create", "--json"])
        .args(extra)
        .env("PORTAL_PUBLIC_URL", &app.base_url)
        .env("PORTAL_DATABASE_URL", database_url(&app.state.config.database))
        .env("PORTAL_AUTHORITY_HOST", &app.fake.url);
    let output = command.output().unwrap();
    assert!(output.status.success(), "invite create: {}", String::from_utf8_lossy(&output.stderr));
    let created: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(created["expires_at"].is_string());
    (created["id"].as_str().unwrap().to_owned(), created["url"].as_str().unwrap().to_owned())
}

// Multi-threaded: `invite create --domain` (another process) asks this test's in-process fake.
#[tokio::test(flavor = "multi_thread")]
async fn a_pinned_invite_signs_in_to_its_tenant_and_explains_another_one() {
    let app = spawn_app().await;
    let (_, url) = create_invite_with_the_command(&app, &["--customer", "Contoso", "--domain", "contoso.example"]);
    let pinned: Option<String> = sql(&app.db, "SELECT pinned_tenant_id FROM invites").scalar().await;
    assert_eq!(pinned.as_deref(), Some(DEMO_CONTOSO), "the domain was resolved through discovery");
    set_auto(&app, Some("lee@northwind.example"), Some("accept")).await;
    let started = continue_from_landing(&app.client, &url).await;
    assert!(location(&started).contains(&format!("/{DEMO_CONTOSO}/oauth2/v2.0/authorize")), "sign-in against the pinned tenant");
    let page = follow(&app.client, started).await;
    let html = page.text().await.unwrap();
    assert!(html.contains("AADSTS50020"), "Microsoft refuses an account of another tenant: {html}");
    let back = app.client.get(first_link(&html)).send().await.unwrap();
    assert_eq!(back.status(), StatusCode::FORBIDDEN);
    let html = back.text().await.unwrap();
    assert!(html.contains("belongs to another organization") && html.contains("/onboard/retry"), "{html}");
    assert_eq!(count(&app, "tenants").await, 0);
}

#[tokio::test]
async fn the_portal_itself_refuses_another_tenant_than_the_pinned_one() {
    // The one-step v1 link signs in at /common, so only the portal's check stands between a pinned
    // invite and another tenant.
    let app = spawn_app_configured(|config| config.consent_flow = ConsentFlow::V1).await;
    let (_, url) = create_invite(&app, Invite::new("Contoso").pinned_to(DEMO_CONTOSO)).await;
    set_auto(&app, Some("lee@northwind.example"), Some("accept")).await;
    let (status, html, _) = journey(&app.client, &url).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        html.contains("This invitation is for another tenant") && html.contains(DEMO_NORTHWIND) && html.contains(DEMO_CONTOSO),
        "{html}"
    );
    assert!(html.contains("Sign in again"));
    assert_eq!(count(&app, "tenants").await, 0);
    assert!(audit_kinds(&app).await.contains(&"invite.wrong_tenant".to_owned()));
}

#[tokio::test]
async fn a_tenant_of_another_customer_is_refused_with_409() {
    let app = spawn_app().await;
    let (_, first) = create_invite(&app, "Contoso").await;
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    let (status, _, _) = journey(&app.client, &first).await;
    assert_eq!(status, StatusCode::OK);
    let before: (String, Option<String>, String) =
        sql(&app.db, "SELECT customer_id, consented_by_upn, consented_at FROM tenants WHERE tenant_id = $1").bind(DEMO_CONTOSO).row().await;

    let (_, second) = create_invite(&app, "Impostor Ltd").await;
    let other_browser = http_client();
    let (status, html, _) = journey(&other_browser, &second).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("already connected"));
    let after: (String, Option<String>, String) =
        sql(&app.db, "SELECT customer_id, consented_by_upn, consented_at FROM tenants WHERE tenant_id = $1").bind(DEMO_CONTOSO).row().await;
    assert_eq!(before, after, "no row of the other customer changes");
    assert!(audit_kinds(&app).await.contains(&"tenant.conflict".to_owned()));
}

#[tokio::test]
async fn a_replayed_callback_answers_the_same_page_and_fifty_copies_write_one_row() {
    let app = spawn_app().await;
    let (_, url) = create_invite(&app, "Contoso").await;
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    let callback = consent_callback_url(&app, &app.client, &url).await;
    let mut copies = Vec::new();
    for _ in 0..50 {
        let client = app.client.clone();
        let callback = callback.clone();
        copies.push(tokio::spawn(async move {
            let response = client.get(&callback).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }));
    }
    for copy in copies {
        let (status, html) = copy.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains(&format!("Connected: <code>{DEMO_CONTOSO}</code>")));
    }
    assert_eq!(count(&app, "tenants").await, 1);
    assert_eq!(count(&app, "consents").await, 1);
    let first = app.client.get(&callback).send().await.unwrap().text().await.unwrap();
    let again = app.client.get(&callback).send().await.unwrap().text().await.unwrap();
    assert_eq!(first, again, "a replay answers the same page");
    assert_eq!(count(&app, "consents").await, 1, "and changes nothing");
}

#[tokio::test]
async fn a_reconsent_by_the_same_customer_updates_and_keeps_history() {
    let app = spawn_app().await;
    let (_, first) = create_invite(&app, "Contoso").await;
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    assert_eq!(journey(&app.client, &first).await.0, StatusCode::OK);
    // Times are kept to the second: the second consent comes a second later, as a real one would.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, second) = create_invite(&app, "Contoso").await;
    assert_eq!(journey(&http_client(), &second).await.0, StatusCode::OK);
    assert_eq!(count(&app, "tenants").await, 1);
    assert_eq!(count(&app, "consents").await, 2, "history keeps both consents");
    assert!(audit_kinds(&app).await.contains(&"tenant.reconsented".to_owned()));
}

const LEE: &str = "lee@northwind.example";

async fn tenant_rows(app: &TestApp) -> Vec<(String, String)> {
    sql(&app.db, "SELECT tenant_id, customer_id FROM tenants ORDER BY tenant_id").rows().await
}

async fn consents_of(app: &TestApp, tenant: &str) -> i64 {
    sql(&app.db, "SELECT COUNT(*) FROM consents WHERE tenant_id = $1").bind(tenant).scalar().await
}

/// The refusal page of a completed invite opened by another tenant, and that nothing was recorded.
async fn assert_refused_as_already_used(app: &TestApp, status: StatusCode, html: &str) {
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("This invitation was already used") && html.contains(DEMO_CONTOSO), "{html}");
    assert!(html.contains("Ask Fabrikam Partner for a new link"), "{html}");
    assert!(html.contains(LEE) && html.contains(DEMO_NORTHWIND), "names who signed in: {html}");
    assert_eq!(consents_of(app, DEMO_NORTHWIND).await, 0, "no consent recorded");
    assert!(tenant_rows(app).await.iter().all(|(tenant, _)| tenant != DEMO_NORTHWIND), "no tenant row");
    let refused: Vec<(Option<String>, String)> =
        sql(&app.db, "SELECT tenant_id, detail FROM audit_events WHERE kind = 'invite.already_used'").rows().await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0.as_deref(), Some(DEMO_NORTHWIND));
    assert!(refused[0].1.contains(DEMO_CONTOSO), "{refused:?}");
}

#[tokio::test]
async fn a_completed_invite_onboards_no_other_tenant_but_its_own_admin_can_approve_again() {
    let app = spawn_app().await;
    let (invite_id, url) = create_invite(&app, "Contoso").await;
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    assert_eq!(journey(&app.client, &url).await.0, StatusCode::OK);
    let bound: Option<String> = sql(&app.db, "SELECT completed_tenant_id FROM invites WHERE id = $1").bind(&invite_id).scalar().await;
    assert_eq!(bound.as_deref(), Some(DEMO_CONTOSO));

    // The landing page says which tenant the link is bound to.
    let landing = http_client().get(&url).send().await.unwrap().text().await.unwrap();
    assert!(landing.contains(&format!("already connected the tenant <strong>{DEMO_CONTOSO}</strong>")), "{landing}");

    // An admin of another tenant, with the same link: refused after sign-in, before any consent.
    set_auto(&app, Some(LEE), Some("accept")).await;
    let (status, html, visited) = journey(&http_client(), &url).await;
    assert_refused_as_already_used(&app, status, &html).await;
    assert!(!visited.iter().any(|u| u.contains("adminconsent")), "refused before Microsoft's consent: {visited:?}");
    assert!(html.contains("/onboard/retry"), "another account can be chosen: {html}");

    // The admin of the bound tenant can still approve again with it.
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    let (status, html, _) = journey(&http_client(), &url).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(consents_of(&app, DEMO_CONTOSO).await, 2);
    assert!(audit_kinds(&app).await.contains(&"tenant.reconsented".to_owned()));

    // A second invite for the same customer onboards the other tenant.
    let (_, second) = create_invite(&app, "Contoso").await;
    set_auto(&app, Some(LEE), Some("accept")).await;
    let (status, html, _) = journey(&http_client(), &second).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let rows = tenant_rows(&app).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0].1, rows[1].1, "both tenants belong to the one customer: {rows:?}");
}

#[tokio::test]
async fn the_consent_transaction_refuses_a_tenant_that_signed_in_before_the_invite_completed() {
    // Two admins of two tenants open one link at the same time: both pass the sign-in, the first consent
    // binds the invite, and the second is refused where consents are recorded.
    let app = spawn_app().await;
    let (_, url) = create_invite(&app, "Contoso").await;
    set_auto(&app, Some(LEE), Some("accept")).await;
    let late = http_client();
    let late_callback = consent_callback_url(&app, &late, &url).await;
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    assert_eq!(journey(&app.client, &url).await.0, StatusCode::OK);

    let refused = late.get(&late_callback).send().await.unwrap();
    let status = refused.status();
    assert_refused_as_already_used(&app, status, &refused.text().await.unwrap()).await;
    assert_eq!(tenant_rows(&app).await.len(), 1);
}

#[tokio::test]
async fn a_completed_invite_onboards_no_other_tenant_in_the_v1_flow() {
    let app = spawn_app_configured(|config| config.consent_flow = ConsentFlow::V1).await;
    let (_, url) = create_invite(&app, "Contoso").await;
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    assert_eq!(journey(&app.client, &url).await.0, StatusCode::OK);
    let landing = http_client().get(&url).send().await.unwrap().text().await.unwrap();
    assert!(landing.contains(&format!("already connected the tenant <strong>{DEMO_CONTOSO}</strong>")), "{landing}");

    set_auto(&app, Some(LEE), Some("accept")).await;
    let (status, html, _) = journey(&http_client(), &url).await;
    assert_refused_as_already_used(&app, status, &html).await;

    set_auto(&app, Some(MEGAN), Some("accept")).await;
    assert_eq!(journey(&http_client(), &url).await.0, StatusCode::OK, "the same tenant approves again");
    assert_eq!(consents_of(&app, DEMO_CONTOSO).await, 2);

    let (_, second) = create_invite(&app, "Contoso").await;
    set_auto(&app, Some(LEE), Some("accept")).await;
    assert_eq!(journey(&http_client(), &second).await.0, StatusCode::OK);
    assert_eq!(consents_of(&app, DEMO_NORTHWIND).await, 1);
}

#[tokio::test]
async fn the_refusal_of_a_used_invite_speaks_the_invites_language() {
    let app = spawn_app().await;
    let (invite_id, url) = create_invite(&app, "Contoso").await;
    set_invite_language(&app, &invite_id, "it").await;
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    assert_eq!(journey(&app.client, &url).await.0, StatusCode::OK);
    let landing = http_client().get(&url).send().await.unwrap().text().await.unwrap();
    assert!(landing.contains(&format!("ha già collegato il tenant <strong>{DEMO_CONTOSO}</strong>")), "{landing}");
    set_auto(&app, Some(LEE), Some("accept")).await;
    let (status, html, _) = journey(&http_client(), &url).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(html_lang(&html), "it");
    assert!(html.contains("Questo invito è già stato usato") && html.contains("Chiedete a Fabrikam Partner un nuovo link"), "{html}");
}

#[tokio::test]
async fn the_check_after_a_consent_asks_no_token_before_a_stored_retry_after() {
    let app = spawn_app().await;
    let (_, url) = create_invite(&app, "Contoso").await;
    let faults = app.fake_url(&format!("/_fake/tenants/{DEMO_CONTOSO}/faults"));
    let throttle = json!({"token_status": 429, "retry_after_s": 60});
    assert_eq!(app.client.put(&faults).json(&throttle).send().await.unwrap().status(), 204);
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    assert_eq!(journey(&app.client, &url).await.0, StatusCode::OK);
    // One token per required API, each met by the 429.
    let first = token_requests(&app.fake.url, DEMO_CONTOSO).await.len();
    assert!((1..=app.state.config.required.len()).contains(&first), "the first check met the 429: {first} token requests");
    assert_eq!(app.client.delete(&faults).send().await.unwrap().status(), 204);

    // The admin approves again a moment later: the check after it waits for the Retry-After.
    assert_eq!(journey(&http_client(), &url).await.0, StatusCode::OK);
    assert_eq!(token_requests(&app.fake.url, DEMO_CONTOSO).await.len(), first, "no token asked for before the Retry-After");
    let (status, reason): (String, String) = sql(&app.db, "SELECT status, status_reason FROM tenants").row().await;
    assert_eq!(status, "throttled");
    assert!(reason.starts_with("Throttled until "), "{reason}");
}

#[tokio::test]
async fn roles_still_propagating_are_said_so() {
    let app = spawn_app().await;
    let (_, url) = create_invite(&app, "Contoso").await;
    let faults = app
        .client
        .put(app.fake_url(&format!("/_fake/tenants/{DEMO_CONTOSO}/faults")))
        .json(&json!({"roles_delay_s": 600}))
        .send()
        .await
        .unwrap();
    assert_eq!(faults.status(), 204);
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    let (status, html, _) = journey(&app.client, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Waiting for Microsoft") && html.contains("keeps checking"), "{html}");
    assert!(html.contains("Still to appear"));
}

#[tokio::test]
async fn script_in_a_customer_name_renders_escaped() {
    let app = spawn_app().await;
    let (_, url) = create_invite(&app, "<script>alert('x')</script> Ltd").await;
    let html = app.client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains("&lt;script&gt;") || html.contains("&#60;script&#62;"), "{html}");
}

#[test]
fn invite_create_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("portal.db").display());
    let cases: &[&[&str]] = &[
        &["--customer", ""],
        &["--customer", "Contoso", "--email", "not an address"],
        &["--customer", "Contoso", "--tenant-id", "contoso"],
        &["--customer", "Contoso", "--expires-in", "forever"],
    ];
    for extra in cases {
        let output = command_in(dir.path())
            .args(["invite", "create"])
            .args(*extra)
            .env("PORTAL_PUBLIC_URL", "http://127.0.0.1:8080")
            .env("PORTAL_DATABASE_URL", &database)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
}

#[test]
fn invite_create_refuses_bidi_controls_and_invisible_characters_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("portal.db").display());
    let cases: &[(&[&str], &str)] = &[
        (&["--customer", "Contoso\u{202E}gnp.exe"], "the customer's name holds U+202E"),
        (&["--customer", "\u{2066}Contoso"], "the customer's name holds U+2066"),
        (&["--customer", "Contoso\u{200D}"], "the customer's name holds U+200D"),
        (&["--customer", "Contoso", "--email", "it@contoso\u{200E}.example"], "the e-mail address holds U+200E"),
        (&["--customer", "Contoso", "--domain", "contoso\u{202B}.example"], "the domain holds U+202B"),
    ];
    for (extra, named) in cases {
        let output = command_in(dir.path())
            .args(["invite", "create"])
            .args(*extra)
            .env("PORTAL_PUBLIC_URL", "http://127.0.0.1:8080")
            .env("PORTAL_DATABASE_URL", &database)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(named) && stderr.contains("are not allowed"), "{named}: {stderr}");
        assert!(output.stdout.is_empty(), "no link printed");
    }
    assert!(!dir.path().join("portal.db").exists(), "nothing written: the database was not even opened");
}

/// Sets the language staff chose for an invite.
async fn set_invite_language(app: &TestApp, invite_id: &str, language: &str) {
    sql(&app.db, "UPDATE invites SET language = $1 WHERE id = $2").bind(language).bind(invite_id).execute().await;
}

fn html_lang(html: &str) -> &str {
    let start = html.find("<html lang=\"").expect("html lang") + "<html lang=\"".len();
    &html[start..start + html[start..].find('"').unwrap()]
}

#[tokio::test]
async fn an_italian_invite_speaks_italian_from_the_landing_page_to_the_result() {
    let app = spawn_app().await;
    let (invite_id, url) = create_invite(&app, "Contoso").await;
    set_invite_language(&app, &invite_id, "it").await;

    let landing = app.client.get(&url).header("accept-language", "en-US,en;q=0.9").send().await.unwrap();
    let html = landing.text().await.unwrap();
    assert_eq!(html_lang(&html), "it", "the invite's language wins over the browser's");
    assert!(html.contains("Collega il tuo Microsoft 365 Defender") && html.contains("Continua con Microsoft"), "{html}");
    assert!(html.contains("Leggere i vostri eventi imprevisti di sicurezza"), "roles are described in Italian");
    assert!(html.contains("Amministratore applicazioni cloud"));
    assert!(html.contains(&format!("href=\"{}?lang=en\"", url.trim_start_matches(&app.base_url))), "a switch to English: {html}");

    set_auto(&app, Some(MEGAN), Some("accept")).await;
    let (status, html, visited) = journey(&app.client, &url).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(visited[0].contains("ui_locales=it"), "Microsoft is asked for Italian pages: {visited:?}");
    assert_eq!(html_lang(&html), "it");
    assert!(html.contains(&format!("Collegato: <code>{DEMO_CONTOSO}</code>")), "{html}");
    assert!(html.contains("Ricevuta del consenso") && html.contains("Verificato"), "{html}");
    assert!(!html.contains("?lang="), "a page answering Microsoft's redirect never repeats its query in links");

    // Microsoft's errors are explained in Italian too.
    let (_, url) = create_invite(&app, "Contoso").await;
    let invite_id: String = sql(&app.db, "SELECT id FROM invites ORDER BY created_at DESC, id DESC LIMIT 1").scalar().await;
    set_invite_language(&app, &invite_id, "it").await;
    set_auto(&app, Some(MEGAN), Some("decline")).await;
    let (status, html, _) = journey(&app.client, &url).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("L&#39;approvazione è stata rifiutata") || html.contains("L'approvazione è stata rifiutata"), "{html}");
    assert!(html.contains("AADSTS65004") && html.contains("Riprova"), "{html}");
}

#[tokio::test]
async fn the_language_switch_is_remembered_and_staff_pages_stay_english() {
    let app = spawn_app().await;
    let (_, url) = create_invite(&app, "Contoso").await;
    let english = app.client.get(&url).send().await.unwrap().text().await.unwrap();
    assert_eq!(html_lang(&english), "en");
    assert!(english.contains("Connect your Microsoft 365 Defender"));

    let switched = app.client.get(format!("{url}?lang=it")).send().await.unwrap();
    let cookie =
        switched.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).find(|c| c.starts_with("portal_lang="));
    let cookie = cookie.expect("the switch is remembered");
    assert!(cookie.contains("portal_lang=it") && cookie.contains("SameSite=Lax") && cookie.contains("HttpOnly"), "{cookie}");
    assert_eq!(html_lang(&switched.text().await.unwrap()), "it");
    // The next page, without `?lang`, remembers the choice (the client keeps cookies).
    let again = app.client.get(&url).send().await.unwrap().text().await.unwrap();
    assert_eq!(html_lang(&again), "it");
    assert!(again.contains("I passaggi"));

    // Error pages follow the browser's language when nothing else is known…
    let fresh = http_client();
    let missing = fresh.get(app.url("/no/such/page")).header("accept-language", "it-IT,it;q=0.9").send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let html = missing.text().await.unwrap();
    assert_eq!(html_lang(&html), "it");
    assert!(html.contains("Pagina non trovata"), "{html}");
    let unknown = fresh.get(app.url(&format!("/onboard/{}", "B".repeat(43)))).header("accept-language", "it").send().await.unwrap();
    assert!(unknown.text().await.unwrap().contains("Questo link non è valido"));
    // …and the JSON API and the staff pages stay English.
    let api = fresh.get(app.url("/api/v1/tenants")).header("accept-language", "it").send().await.unwrap();
    let body = api.text().await.unwrap();
    assert!(!body.contains("Non consentito") && !body.contains("Accesso necessario"), "{body}");
    let staff = fresh.get(app.url("/tenants")).header("accept-language", "it").send().await.unwrap();
    assert!(staff.status().is_redirection());
    let sign_in = app.url(&location(&staff).replace(&app.base_url, ""));
    let staff_html = fresh.get(sign_in).header("accept-language", "it").send().await.unwrap().text().await.unwrap();
    assert!(staff_html.contains("<html lang=\"en\"") && staff_html.contains("Sign in"), "{staff_html}");
}

#[tokio::test]
async fn a_browser_form_post_with_origin_null_is_ours_when_sec_fetch_site_says_so() {
    // Our pages send `Referrer-Policy: no-referrer`, so browsers post their forms with `Origin: null`.
    let app = spawn_app().await;
    let (_, url) = create_invite(&app, "Contoso").await;
    let html = app.client.get(&url).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_value(&html, "csrf");
    for site in [Some("cross-site"), Some("same-site"), None] {
        let mut request = app.client.post(&url).header("origin", "null");
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        let refused = request.form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{site:?}");
    }
    let good = app
        .client
        .post(&url)
        .header("origin", "null")
        .header("sec-fetch-site", "same-origin")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn both_shapes_of_the_admins_cancel_show_the_cancel_page_and_record_nothing() {
    let app = spawn_app().await;
    let (invite_id, url) = create_invite(&app, "Contoso").await;
    set_auto(&app, Some(MEGAN), Some("cancel")).await;
    // The current shape, as the fake answers Cancel like Microsoft's v2 admin-consent endpoint.
    let current = consent_callback_url(&app, &app.client, &url).await;
    let query: HashMap<String, String> = url::Url::parse(&current).unwrap().query_pairs().into_owned().collect();
    assert_eq!(query["error"], "access_denied", "{current}");
    assert!(query["error_description"].starts_with("AADSTS65004: User declined to consent to access the app."), "{current}");
    assert_eq!(query["admin_consent"], "True");
    assert!(query.contains_key("error_uri") && !query.contains_key("error_subcode"), "{current}");
    // The older shape, for the same state.
    let mut legacy = url::Url::parse(&app.url("/consent/callback")).unwrap();
    legacy
        .query_pairs_mut()
        .append_pair("error", "access_denied")
        .append_pair("error_subcode", "cancel")
        .append_pair("state", &query["state"]);

    for callback in [current, legacy.to_string()] {
        let page = app.client.get(&callback).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{callback}");
        let html = page.text().await.unwrap();
        assert!(html.contains("You cancelled the approval") && html.contains("Try again"), "{callback}: {html}");
        assert!(!html.contains("The approval was declined") && !html.contains("AADSTS65004"), "{html}");
    }
    assert_eq!(count(&app, "tenants").await, 0);
    assert_eq!(count(&app, "consents").await, 0);
    let used: Vec<Option<String>> = sql(&app.db, "SELECT used_at FROM consent_states").scalars().await;
    assert!(used.iter().all(Option::is_none), "the state stays unused: {used:?}");
    let completed: Option<String> = sql(&app.db, "SELECT completed_at FROM invites WHERE id = $1").bind(&invite_id).scalar().await;
    assert!(completed.is_none());
    let cancelled: Vec<(String, Option<String>)> =
        sql(&app.db, "SELECT kind, invite_id FROM audit_events WHERE kind NOT IN ('invite.created', 'invite.signed_in', 'permissions.changed') ORDER BY id",)
        .rows().await;
    let expected = ("invite.cancelled".to_owned(), Some(invite_id));
    assert_eq!(cancelled, [expected.clone(), expected], "one invite.cancelled per cancel, nothing else");
}

#[tokio::test]
async fn the_landing_page_lists_the_permissions_under_each_api_in_the_invites_language() {
    let app = spawn_app().await;
    let apis: Vec<&str> = app.state.config.required.iter().map(|r| r.api.name()).collect();
    assert_eq!(apis, ["graph", "defender"], "the demo requires Graph and the Defender XDR API");
    for (language, one_approval) in [
        ("en", "One approval covers every API listed: Microsoft's page asks for all of them at once."),
        ("it", "Una sola approvazione vale per tutte le API elencate: la pagina di Microsoft le chiede tutte insieme."),
    ] {
        let (invite_id, url) = create_invite(&app, "Contoso").await;
        set_invite_language(&app, &invite_id, language).await;
        let html = http_client().get(&url).send().await.unwrap().text().await.unwrap();
        assert_eq!(html_lang(&html), language);
        for api in &apis {
            assert!(html.contains(&format!("id=\"permissions-{api}\"")), "a heading per API: {html}");
        }
        assert_grouped(&visible_text(&html), &demo_permissions_in_words(language), one_approval);
    }
}

#[tokio::test]
async fn the_result_page_says_per_api_what_was_granted_and_what_is_still_to_appear() {
    let app = spawn_app().await;
    // A tenant whose consent grants, on Graph, only SecurityIncident.Read.All (the demo app asks for
    // ThreatHunting.Read.All too); the Defender XDR API is not restricted.
    let tenant = json!({
        "display_name": "Litware",
        "domains": ["litware.example"],
        "grantable_permissions": {"graph": ["SecurityIncident.Read.All"]},
    });
    let created = app.client.post(app.fake_url("/_fake/tenants")).json(&tenant).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let litware = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let admin = json!({"upn": "kim@litware.example", "display_name": "Kim", "admin": true});
    let users = app.fake_url(&format!("/_fake/tenants/{litware}/users"));
    assert_eq!(app.client.post(users).json(&admin).send().await.unwrap().status(), StatusCode::CREATED);

    for (language, graph, defender, granted, still_to_appear, nothing) in [
        ("en", "Microsoft Graph", "Microsoft Defender XDR API", "Granted", "Still to appear", "nothing"),
        ("it", "Microsoft Graph", "API di Microsoft Defender XDR", "Concesse", "Ancora da comparire", "nessuna"),
    ] {
        let (invite_id, url) = create_invite(&app, "Litware").await;
        set_invite_language(&app, &invite_id, language).await;
        set_auto(&app, Some("kim@litware.example"), Some("accept")).await;
        let (status, html, _) = journey(&http_client(), &url).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains(&format!("<code>{litware}</code>")), "{html}");

        let granted_on = |api: &str| visible_text(element(&html, &format!("granted-roles-{api}")));
        let missing_on = |api: &str| visible_text(element(&html, &format!("missing-roles-{api}")));
        assert_eq!(granted_on("graph"), format!("{graph}: SecurityIncident.Read.All"));
        assert_eq!(missing_on("graph"), format!("{graph}: ThreatHunting.Read.All"));
        assert_eq!(granted_on("defender"), format!("{defender}: Incident.Read.All, AdvancedHunting.Read.All"));
        assert_eq!(missing_on("defender"), format!("{defender}: {nothing}"));
        // The ids of the whole lists hold every API's part.
        let all_granted = visible_text(element(&html, "granted-roles"));
        assert!(all_granted.contains("SecurityIncident.Read.All") && all_granted.contains("AdvancedHunting.Read.All"), "{all_granted}");
        assert!(!all_granted.contains("ThreatHunting.Read.All"), "{all_granted}");
        assert!(visible_text(element(&html, "missing-roles")).contains("ThreatHunting.Read.All"));
        let text = visible_text(&html);
        assert!(text.contains(granted) && text.contains(still_to_appear), "{text}");
        // The receipt lists what was asked for, under each API.
        let receipt = &text[text.find(if language == "en" { "Consent receipt" } else { "Ricevuta del consenso" }).unwrap()..];
        assert_grouped(receipt, &demo_permissions_in_words(language), if language == "en" { "How to revoke it" } else { "Come revocarlo" });
    }
    let (status, missing): (String, String) =
        sql(&app.db, "SELECT status, roles_missing FROM checks WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1").bind(&litware).row().await;
    assert_eq!((status.as_str(), missing.as_str()), ("propagating", "[\"graph:ThreatHunting.Read.All\"]"));
}

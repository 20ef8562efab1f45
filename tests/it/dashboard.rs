//! The partner staff dashboard over real HTTP against the built-in fake: staff sign-in (partner tenant
//! only, allow-list, levels), the guard of every page, export and POST, the tenants list (search, filter,
//! sort, pagination), a tenant's page and actions, invites, exports and the JSON API.

use std::time::{Duration, Instant};

use crate::helpers::*;
use consent_portal::domain::{Secret, TenantId};
use fake_entra::demo::{DEMO_CLIENT_ID, DEMO_CONTOSO, DEMO_PARTNER_TENANT_ID, DEMO_WOODGROVE};
use reqwest::StatusCode;
use serde_json::{Value, json};

const GUEST: &str = "guest@fabrikampartner.example";

/// The session id the response sets, if it sets one.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("portal_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

struct Seed<'a> {
    customer: &'a str,
    tenant_id: String,
    status: &'a str,
    consented_at: &'a str,
    consented_by: &'a str,
    last_checked_at: Option<&'a str>,
    present: &'a [&'a str],
    missing: &'a [&'a str],
}

impl Default for Seed<'_> {
    fn default() -> Self {
        Self {
            customer: "Seeded",
            tenant_id: TenantId::new_random().to_string(),
            status: "verified",
            consented_at: "2026-11-01T10:00:00Z",
            consented_by: "admin@seeded.example",
            last_checked_at: Some("2026-11-20T10:00:00Z"),
            present: &["Incident.Read.All", "AdvancedHunting.Read.All"],
            missing: &[],
        }
    }
}

/// Puts a customer, its tenant and (with a last check) a check row straight into the database.
async fn seed(executor: &mut consent_portal::db::WriteTransaction, seed: Seed<'_>) -> String {
    let customer_id = uuid::Uuid::now_v7().to_string();
    sql(&mut *executor, "INSERT INTO customers (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&customer_id)
        .bind(seed.customer)
        .bind(seed.consented_at)
        .execute()
        .await;
    sql(&mut *executor, "INSERT INTO tenants (tenant_id, customer_id, consented_by_upn, consented_at, status, status_reason, last_checked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",)
        .bind(&seed.tenant_id)
        .bind(&customer_id)
        .bind(seed.consented_by)
        .bind(seed.consented_at)
        .bind(seed.status)
        .bind(format!("Reason for {}.", seed.status))
        .bind(seed.last_checked_at)
        .execute().await;
    if let Some(at) = seed.last_checked_at {
        sql(
            &mut *executor,
            "INSERT INTO checks (tenant_id, started_at, finished_at, status, roles_present, roles_missing) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&seed.tenant_id)
        .bind(at)
        .bind(at)
        .bind(seed.status)
        .bind(serde_json::to_string(seed.present).unwrap())
        .bind(serde_json::to_string(seed.missing).unwrap())
        .execute()
        .await;
    }
    seed.tenant_id
}

async fn seed_one(app: &TestApp, one: Seed<'_>) -> String {
    let mut transaction = consent_portal::db::begin_write(&app.db).await.unwrap();
    let tenant_id = seed(&mut transaction, one).await;
    transaction.commit().await.unwrap();
    tenant_id
}

/// How many tenant rows a list page shows.
fn rows_on(html: &str) -> usize {
    html.matches("<td data-label=\"Customer\"><a href=\"/tenants/").count()
}

async fn audit(app: &TestApp, kind: &str) -> Vec<(Option<String>, Option<String>, Option<String>)> {
    sql(&app.db, "SELECT actor, tenant_id, invite_id FROM audit_events WHERE kind = $1 ORDER BY id").bind(kind).rows().await
}

// ---------------------------------------------------------------------------------------------------
// Sign-in

#[tokio::test]
async fn partner_staff_sign_in_with_their_level_and_a_new_session_id() {
    let app = spawn_app().await;
    set_auto(&app, Some(ALEX), None).await;
    let client = http_client();
    let started = press_sign_in(&app, &client).await;
    let before = session_cookie(&started).expect("the sign-in starts a session");
    let authorize = location(&started);
    assert!(
        authorize.starts_with(&format!("{}/{DEMO_PARTNER_TENANT_ID}/oauth2/v2.0/authorize?", app.fake.url)),
        "the partner's tenant only: {authorize}"
    );
    assert!(authorize.contains("code_challenge_method=S256") && authorize.contains("nonce="), "{authorize}");
    let back = client.get(&authorize).send().await.unwrap();
    let callback = location(&back);
    assert!(callback.starts_with(&app.url("/auth/callback?")), "{callback}");
    let signed_in = client.get(&callback).send().await.unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed_in), "/", "staff land on the fleet overview");
    let after = session_cookie(&signed_in).expect("a new session id at sign-in");
    assert_ne!(before, after);

    let page = client.get(app.url("/tenants")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains(ALEX) && html.contains("(admin)"), "{html}");
    assert!(html.contains("Sign out"));
    // `/` is the staff's home: the fleet overview.
    let home = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.text().await.unwrap().contains("Fleet overview"));
    // The old session id is worth nothing.
    let stale = http_client();
    let old = stale.get(app.url("/tenants")).header("cookie", format!("portal_session={before}")).send().await.unwrap();
    assert_eq!(old.status(), StatusCode::SEE_OTHER);
    assert_eq!(audit(&app, "staff.signed_in").await[0].0.as_deref(), Some(ALEX));

    // Anonymous visitors keep the welcome page, with a quiet way in for staff.
    let anonymous = http_client().get(app.url("/")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::OK);
    let welcome = anonymous.text().await.unwrap();
    assert!(welcome.contains(r#"href="/staff/sign-in""#) && welcome.contains("Partner staff: sign in"), "{welcome}");

    let (_, status, html) = sign_in_as(&app, SAM).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(SAM) && html.contains("(viewer)"), "{html}");
}

#[tokio::test]
async fn an_account_of_another_tenant_is_refused() {
    // The portal's partner is Contoso; Alex belongs to Fabrikam. Microsoft (the fake) refuses him at
    // Contoso's sign-in: the error is explained, never reflected, and no staff session starts.
    let contoso = TenantId::parse(DEMO_CONTOSO).unwrap();
    let app = spawn_app_configured(|config| config.partner_tenant_id = contoso).await;
    set_auto(&app, Some(ALEX), None).await;
    let client = http_client();
    let started = press_sign_in(&app, &client).await;
    let authorize = location(&started);
    assert!(authorize.contains(&format!("/{DEMO_CONTOSO}/oauth2/v2.0/authorize")), "{authorize}");
    let page = client.get(&authorize).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.text().await.unwrap().contains("50020"));
    assert_eq!(client.get(app.url("/tenants")).send().await.unwrap().status(), StatusCode::SEE_OTHER, "no staff session");

    // A browser that swaps the tenant in the sign-in URL gets a code for Fabrikam; the portal redeems it
    // at Contoso only, so it is refused and no session starts either. (The portal's own `tid` check
    // behind this is unit-tested in web::staff_auth: the fake never issues a token of another tenant.)
    let client = http_client();
    let started = press_sign_in(&app, &client).await;
    let elsewhere = location(&started).replace(&format!("/{DEMO_CONTOSO}/"), &format!("/{DEMO_PARTNER_TENANT_ID}/"));
    let back = client.get(&elsewhere).send().await.unwrap();
    assert!(location(&back).starts_with(&app.url("/auth/callback?code=")), "the fake signed Alex in at Fabrikam");
    let done = follow(&client, back).await;
    assert!(done.status().is_client_error() || done.status().is_server_error(), "{}", done.status());
    assert!(!done.text().await.unwrap().contains("eyJ"));
    assert_eq!(client.get(app.url("/tenants")).send().await.unwrap().status(), StatusCode::SEE_OTHER, "no staff session");
    assert!(audit(&app, "staff.signed_in").await.is_empty());
}

#[tokio::test]
async fn a_partner_user_outside_the_allow_list_is_refused() {
    let app = spawn_app().await;
    let (client, status, html) = sign_in_as(&app, GUEST).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("Ask a partner administrator") && html.contains("role"), "{html}");
    let page = client.get(app.url("/tenants")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);

    // The allow-list by address, and an open dashboard.
    let app = spawn_app_configured(|config| config.staff.admins = vec![GUEST.to_owned()]).await;
    let (_, status, html) = sign_in_as(&app, GUEST).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("(admin)"));
    let app = spawn_app_configured(|config| config.staff.open = true).await;
    let (_, status, html) = sign_in_as(&app, GUEST).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("(viewer)"));
}

#[tokio::test]
async fn a_callback_without_a_pending_staff_sign_in_or_with_another_state_is_refused() {
    let app = spawn_app().await;
    set_auto(&app, Some(ALEX), None).await;
    let client = http_client();
    let started = press_sign_in(&app, &client).await;
    let back = client.get(location(&started)).send().await.unwrap();
    let callback = location(&back);
    let forged = callback.split("&state=").next().unwrap().to_owned() + "&state=forged";
    let refused = client.get(&forged).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // The pending sign-in was single use: the genuine answer now finds nothing pending.
    let replay = client.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::FORBIDDEN);
    assert_eq!(client.get(app.url("/tenants")).send().await.unwrap().status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sign_out_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    let (client, csrf) = staff(&app, ALEX).await;
    let refused = client.post(app.url("/staff/sign-out")).form(&[("csrf", "wrong")]).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let sessions_before: i64 = sql(&app.db, "SELECT COUNT(*) FROM tower_sessions").scalar().await;
    let out = client.post(app.url("/staff/sign-out")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&out), "/staff/sign-in");
    let sessions_after: i64 = sql(&app.db, "SELECT COUNT(*) FROM tower_sessions").scalar().await;
    assert_eq!(sessions_after, sessions_before - 1, "the session is deleted from the store");
    let page = client.get(app.url("/tenants")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
}

// ---------------------------------------------------------------------------------------------------
// The guard

#[tokio::test]
async fn staff_pages_exports_and_posts_refuse_anonymous_requests() {
    let app = spawn_app().await;
    let tid = seed_one(&app, Seed { customer: "Secret Customer Ltd", ..Seed::default() }).await;
    let anonymous = http_client();
    for path in ["/tenants", "/tenants.csv", "/tenants.json", &format!("/tenants/{tid}"), "/invites", "/tenants?q=Secret"] {
        let response = anonymous.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&response), "/staff/sign-in", "{path}");
        let body = response.text().await.unwrap();
        assert!(!body.contains("Secret Customer") && !body.contains(&tid), "{path}: {body}");
    }
    for path in [
        "/invites".to_owned(),
        "/invites/0193-x/revoke".to_owned(),
        format!("/tenants/{tid}/check"),
        format!("/tenants/{tid}/reconsent"),
        format!("/tenants/{tid}/remove"),
        "/staff/sign-out".to_owned(),
    ] {
        let response = anonymous.post(app.url(&path)).form(&[("csrf", "x"), ("confirm", "yes")]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(!response.text().await.unwrap().contains("Secret Customer"));
    }
    let removed: Option<String> = sql(&app.db, "SELECT removed_at FROM tenants WHERE tenant_id = $1").bind(&tid).scalar().await;
    assert!(removed.is_none());
}

#[tokio::test]
async fn a_viewer_reads_but_cannot_post_admin_actions() {
    let app = spawn_app().await;
    let tid = seed_one(&app, Seed { customer: "Viewer Check", missing: &["AdvancedHunting.Read.All"], ..Seed::default() }).await;
    let (client, csrf) = staff(&app, SAM).await;
    let detail = client.get(app.url(&format!("/tenants/{tid}"))).send().await.unwrap();
    assert_eq!(detail.status(), StatusCode::OK);
    let html = detail.text().await.unwrap();
    assert!(html.contains("Viewer Check") && !html.contains("Check now") && !html.contains("Remove tenant"), "{html}");
    let invites = client.get(app.url("/invites")).send().await.unwrap().text().await.unwrap();
    assert!(!invites.contains("Create invite"));
    let invite_form = [("csrf", csrf.as_str()), ("customer", "X"), ("expires_days", "7"), ("language", "en")];
    assert_eq!(client.post(app.url("/invites")).form(&invite_form).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    for action in ["check", "reconsent", "remove"] {
        let response = client
            .post(app.url(&format!("/tenants/{tid}/{action}")))
            .form(&[("csrf", csrf.as_str()), ("confirm", "yes")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{action}");
    }
    let checks: i64 = sql(&app.db, "SELECT COUNT(*) FROM checks").scalar().await;
    assert_eq!(checks, 1);
    assert_eq!(sql(&app.db, "SELECT COUNT(*) FROM invites").scalar::<i64>().await, 0);
}

#[tokio::test]
async fn admin_posts_need_the_session_csrf_token_and_our_origin() {
    let app = spawn_app().await;
    let tid = seed_one(&app, Seed::default()).await;
    let (client, csrf) = staff(&app, ALEX).await;
    let url = app.url(&format!("/tenants/{tid}/remove"));
    let missing = client.post(&url).form(&[("confirm", "yes")]).send().await.unwrap();
    assert!(missing.status().is_client_error());
    let wrong = client.post(&url).form(&[("csrf", "not-the-token"), ("confirm", "yes")]).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let cross_site =
        client.post(&url).header("sec-fetch-site", "cross-site").form(&[("csrf", csrf.as_str()), ("confirm", "yes")]).send().await.unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let foreign = client
        .post(&url)
        .header("origin", "https://evil.example")
        .form(&[("csrf", csrf.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let removed: Option<String> = sql(&app.db, "SELECT removed_at FROM tenants WHERE tenant_id = $1").bind(&tid).scalar().await;
    assert!(removed.is_none());
}

// ---------------------------------------------------------------------------------------------------
// The tenants list

#[tokio::test]
async fn search_filter_sort_and_pagination() {
    let app = spawn_app().await;
    let mut tx = consent_portal::db::begin_write(&app.db).await.unwrap();
    for i in 0..120 {
        let customer = format!("Customer {i:03}");
        let status = if i % 3 == 0 { "missing_roles" } else { "verified" };
        let consented_at = format!("2026-10-{:02}T10:00:00Z", 1 + i % 28);
        let consented_by = format!("admin{i}@customer{i}.example");
        let checked = format!("2026-11-{:02}T{:02}:00:00Z", 1 + i % 28, i % 24);
        seed(
            &mut tx,
            Seed {
                customer: &customer,
                status,
                consented_at: &consented_at,
                consented_by: &consented_by,
                last_checked_at: Some(&checked),
                missing: if status == "verified" { &[] } else { &["AdvancedHunting.Read.All"] },
                present: if status == "verified" { &["Incident.Read.All", "AdvancedHunting.Read.All"] } else { &["Incident.Read.All"] },
                ..Seed::default()
            },
        )
        .await;
    }
    tx.commit().await.unwrap();
    let (client, _) = staff(&app, SAM).await;
    let get = |path: &str| {
        let request = client.get(app.url(path));
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.text().await.unwrap()
        }
    };

    let first = get("/tenants").await;
    assert_eq!(rows_on(&first), 50);
    assert!(first.contains("120 tenants") && first.contains("page 1 of 3"), "{first}");
    assert!(first.find("Customer 000").unwrap() < first.find("Customer 001").unwrap());
    assert!(first.contains("missing roles") && first.contains("✗ AdvancedHunting.Read.All"));
    assert!(first.contains("dir=asc") && first.contains("page=2\" rel=\"next\""), "a link to the next page");
    let last = get("/tenants?page=3").await;
    assert_eq!(rows_on(&last), 20);
    assert!(last.contains("Customer 119"));
    assert_eq!(rows_on(&get("/tenants?page=99").await), 20, "past the end: the last page");

    let found = get("/tenants?q=customer+007").await;
    assert_eq!(rows_on(&found), 1);
    assert!(found.contains("Customer 007"));
    assert_eq!(rows_on(&get("/tenants?q=admin42%40").await), 1, "by who consented");
    assert_eq!(rows_on(&get("/tenants?q=%25").await), 0, "LIKE's wildcards are literal");
    let tenant_id: String =
        sql(&app.db, "SELECT t.tenant_id FROM tenants t JOIN customers c ON c.id = t.customer_id WHERE c.name = 'Customer 042'")
            .scalar()
            .await;
    let by_id = get(&format!("/tenants?q={}", &tenant_id[..13])).await;
    assert!(by_id.contains("Customer 042"), "by tenant id");

    let filtered = get("/tenants?status=missing_roles").await;
    assert!(filtered.contains("40 tenants"), "{filtered}");
    assert!(!filtered.contains(">verified<"));
    let combined = get("/tenants?status=missing_roles&q=Customer+00").await;
    assert_eq!(rows_on(&combined), 4, "000, 003, 006, 009");
    assert!(get("/tenants?status=bogus").await.contains("120 tenants"), "an unknown status filters nothing");

    let descending = get("/tenants?sort=customer&dir=desc").await;
    assert!(descending.find("Customer 119").unwrap() < descending.find("Customer 118").unwrap());
    let by_status = get("/tenants?sort=status").await;
    let (missing, verified) = (by_status.find("missing roles</span>").unwrap(), by_status.find(">verified</span>").unwrap());
    assert!(missing < verified, "missing_roles sorts before verified");
    let by_check = get("/tenants?sort=last_check&dir=desc").await;
    let latest = by_check.find("2026-11-28T").unwrap();
    assert!(latest < by_check.find("2026-11-27T").unwrap_or(usize::MAX));
    let by_consent = get("/tenants?sort=consented_at&dir=asc").await;
    assert!(by_consent.find("2026-10-01T").unwrap() < by_consent.find("2026-10-02T").unwrap());
}

#[tokio::test]
async fn ten_thousand_tenants_list_quickly() {
    let app = spawn_app().await;
    let mut tx = consent_portal::db::begin_write(&app.db).await.unwrap();
    for i in 0..10_000 {
        let customer = format!("Bulk {i:05}");
        seed(&mut tx, Seed { customer: &customer, ..Seed::default() }).await;
    }
    tx.commit().await.unwrap();
    let (client, _) = staff(&app, SAM).await;
    let mut timings = Vec::new();
    for path in ["/tenants", "/tenants?sort=last_check&dir=desc&page=150", "/tenants?q=Bulk+0999", "/tenants?status=verified&sort=status"] {
        let started = Instant::now();
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let html = response.text().await.unwrap();
        timings.push(started.elapsed());
        assert!(rows_on(&html) > 0, "{path}");
    }
    timings.sort();
    eprintln!("tenants page over 10,000 tenants: {timings:?}");
    assert!(timings[timings.len() / 2] < Duration::from_secs(2), "{timings:?}");
}

#[tokio::test]
async fn a_banner_names_tenants_that_went_from_verified_to_worse() {
    let app = spawn_app().await;
    let tid = seed_one(&app, Seed { customer: "Degraded Co", status: "consent_removed", ..Seed::default() }).await;
    let old = seed_one(&app, Seed { customer: "Long Ago", status: "unreachable", ..Seed::default() }).await;
    let now = consent_portal::db::now_text();
    let long_ago = consent_portal::db::timestamp_text(time::OffsetDateTime::now_utc() - time::Duration::days(8));
    for (tenant, at) in [(&tid, &now), (&old, &long_ago)] {
        sql(&app.db, "INSERT INTO audit_events (at, kind, actor, tenant_id, detail) VALUES ($1, 'tenant.degraded', 'system', $2, $3)")
            .bind(at)
            .bind(tenant)
            .bind(json!({"from": "verified", "to": "consent_removed"}).to_string())
            .execute()
            .await;
    }
    let (client, _) = staff(&app, SAM).await;
    let html = client.get(app.url("/tenants")).send().await.unwrap().text().await.unwrap();
    let banner = &html[..html.find("<h1>Tenants</h1>").unwrap()];
    assert!(banner.contains("1 tenant got worse than verified"), "{banner}");
    assert!(banner.contains(&format!("href=\"/tenants/{tid}\"")) && banner.contains("consent removed"));
    assert!(!banner.contains(&old), "older than 7 days");
}

// ---------------------------------------------------------------------------------------------------
// One tenant

#[tokio::test]
async fn check_now_records_a_check_and_the_page_shows_the_timeline_and_the_error_explained() {
    let app = spawn_app().await;
    let contoso = seed_one(&app, Seed { customer: "Contoso", tenant_id: DEMO_CONTOSO.to_owned(), ..Seed::default() }).await;
    // Contoso never consented in the fake: Microsoft answers AADSTS700016.
    let (client, csrf) = staff(&app, ALEX).await;
    let checked = client.post(app.url(&format!("/tenants/{contoso}/check"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(checked.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&checked), format!("/tenants/{contoso}?checked=1"));
    let html = client.get(app.url(&location(&checked))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Checked just now"));
    assert!(html.contains("consent removed"), "{html}");
    assert!(html.contains("The application is not in your tenant") && html.contains("AADSTS700016"), "{html}");
    assert!(html.contains("Trace ID"));
    assert_eq!(html.matches("class=\"badge").count(), 5, "status, one per API in the matrix, and two checks on the timeline");
    assert_eq!(audit(&app, "tenant.checked").await[0].0.as_deref(), Some(ALEX));
    // It was verified: the monitor records the degradation and the list shows the banner.
    let list = client.get(app.url("/tenants")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("1 tenant got worse than verified") && list.contains(&format!("href=\"/tenants/{contoso}\"")), "{list}");

    // Now the admin consents (in the fake): the next check verifies it.
    let grant = demo_grant();
    let response =
        app.client.put(app.fake_url(&format!("/_fake/tenants/{DEMO_CONTOSO}/grants/{DEMO_CLIENT_ID}"))).json(&grant).send().await.unwrap();
    assert_eq!(response.status(), 204);
    client.post(app.url(&format!("/tenants/{contoso}/check"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    let html = client.get(app.url(&format!("/tenants/{contoso}"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("badge ok\">verified"), "{html}");
    assert!(!html.contains("eyJ"), "never a raw token");
}

#[tokio::test]
async fn after_a_429_check_now_and_check_all_ask_no_token_before_its_retry_after() {
    let app = spawn_app().await;
    let contoso = seed_one(&app, Seed { customer: "Contoso", tenant_id: DEMO_CONTOSO.to_owned(), ..Seed::default() }).await;
    let grant = demo_grant();
    let fake = |path: &str| app.fake_url(&format!("/_fake/tenants/{DEMO_CONTOSO}/{path}"));
    assert_eq!(app.client.put(fake(&format!("grants/{DEMO_CLIENT_ID}"))).json(&grant).send().await.unwrap().status(), 204);
    let throttle = json!({"token_status": 429, "retry_after_s": 60});
    assert_eq!(app.client.put(fake("faults")).json(&throttle).send().await.unwrap().status(), 204);
    let (client, csrf) = staff(&app, ALEX).await;
    let check_now = || client.post(app.url(&format!("/tenants/{contoso}/check"))).form(&[("csrf", csrf.as_str())]).send();

    assert_eq!(check_now().await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(token_requests(&app.fake.url, DEMO_CONTOSO).await.len(), 2, "one token per required API, both refused");
    let (status, not_before, next_check): (String, String, String) =
        sql(&app.db, "SELECT status, not_before, next_check_at FROM tenants WHERE tenant_id = $1").bind(DEMO_CONTOSO).row().await;
    assert_eq!(status, "throttled");
    let until = time::OffsetDateTime::parse(&not_before, &time::format_description::well_known::Rfc3339).unwrap();
    let ahead = (until - time::OffsetDateTime::now_utc()).whole_seconds();
    assert!((50..=61).contains(&ahead), "kept for the Retry-After of 60 s: {not_before} is {ahead} s ahead");
    assert!(next_check >= not_before, "the schedule waits too: {next_check} < {not_before}");

    // Microsoft would answer now, but was asked to be left alone: neither button asks it.
    assert_eq!(app.client.delete(fake("faults")).send().await.unwrap().status(), 204);
    assert_eq!(check_now().await.unwrap().status(), StatusCode::SEE_OTHER);
    let page = client.get(app.url(&format!("/tenants/{contoso}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("Throttled until {not_before}")), "{page}");
    let started = client.post(app.url("/tenants/check-all")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    eventually("the sweep to finish", async || {
        let progress: Value = client.get(app.url("/tenants/sweep")).send().await.unwrap().json().await.unwrap();
        (progress["running"] == false && progress["done"] == 1).then_some(())
    })
    .await;
    assert_eq!(token_requests(&app.fake.url, DEMO_CONTOSO).await.len(), 2, "no token asked for before the Retry-After");
    let checks: Vec<(String, String)> =
        sql(&app.db, "SELECT status, COALESCE(detail, '') FROM checks WHERE tenant_id = $1 ORDER BY id").bind(DEMO_CONTOSO).rows().await;
    assert_eq!(checks.len(), 4, "the seeded check, the 429, and an answer for each press: {checks:?}");
    assert!(checks[1].1.contains(&format!("No token is asked for before {not_before}")), "{checks:?}");
    assert!(checks[2..].iter().all(|(status, detail)| status == "throttled" && detail.contains(&format!("Throttled until {not_before}"))));

    // Once the time has passed (moved back here instead of waiting a minute), a check goes through.
    sql(&app.db, "UPDATE tenants SET not_before = '2000-01-01T00:00:00Z'").execute().await;
    check_now().await.unwrap();
    assert_eq!(token_requests(&app.fake.url, DEMO_CONTOSO).await.len(), 4);
    let status: String = sql(&app.db, "SELECT status FROM tenants").scalar().await;
    assert_eq!(status, "verified");
}

#[tokio::test]
async fn the_decoded_token_is_shown_like_jwt_ms_without_the_token_or_its_signature() {
    let app = spawn_app().await;
    let tid = seed_one(&app, Seed { customer: "Token Co", ..Seed::default() }).await;
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": "key-1", "signature": "c2lnbmF0dXJl"});
    let claims = json!({"aud": "https://api.security.microsoft.com", "tid": tid, "roles": ["Incident.Read.All"], "exp": 1798761600,
        "leak": "eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2ln"});
    sql(&app.db, "UPDATE checks SET token_header = $1, token_claims = $2 WHERE tenant_id = $3")
        .bind(header.to_string())
        .bind(claims.to_string())
        .bind(&tid)
        .execute()
        .await;
    let (client, _) = staff(&app, SAM).await;
    let html = client.get(app.url(&format!("/tenants/{tid}"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<code>roles</code>") && html.contains("Application permissions granted"), "{html}");
    assert!(html.contains("RS256") && html.contains("key-1"));
    assert!(html.contains("1798761600 (2027-01-01T00:00:00Z)"), "{html}");
    assert!(!html.contains("c2lnbmF0dXJl") && !html.contains("eyJhbGci"), "no signature, no raw token");
    assert!(client.get(app.url("/tenants/not-a-guid")).send().await.unwrap().status() == StatusCode::NOT_FOUND);
    let unknown = TenantId::new_random();
    assert_eq!(client.get(app.url(&format!("/tenants/{unknown}"))).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_re_consent_link_for_missing_roles_and_removal_with_the_customers_steps() {
    let app = spawn_app().await;
    let tid = seed_one(
        &app,
        Seed {
            customer: "Woodgrove",
            tenant_id: DEMO_WOODGROVE.to_owned(),
            status: "missing_roles",
            present: &["Incident.Read.All"],
            missing: &["AdvancedHunting.Read.All"],
            ..Seed::default()
        },
    )
    .await;
    let (client, csrf) = staff(&app, ALEX).await;
    let page = client.get(app.url(&format!("/tenants/{tid}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Create a re-consent link"), "{page}");
    let created = client.post(app.url(&format!("/tenants/{tid}/reconsent"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    let html = created.text().await.unwrap();
    let link = hidden_value(&html.replace("type=\"text\" value=", "name=\"link\" value="), "link");
    assert!(link.starts_with(&app.url("/onboard/")), "{link}");
    assert!(html.contains("shown <strong>once</strong>"));
    let (customer_of_tenant, customer_of_invite, pinned, created_by): (String, String, Option<String>, Option<String>) = sql(
        &app.db,
        "SELECT t.customer_id, i.customer_id, i.pinned_tenant_id, (SELECT actor FROM audit_events WHERE invite_id = i.id) \
         FROM tenants t, invites i WHERE t.tenant_id = $1",
    )
    .bind(&tid)
    .row()
    .await;
    assert_eq!(customer_of_tenant, customer_of_invite, "the same customer");
    assert_eq!(pinned.as_deref(), Some(tid.as_str()));
    assert_eq!(created_by.as_deref(), Some(ALEX));
    let landing = http_client().get(&link).send().await.unwrap();
    assert_eq!(landing.status(), StatusCode::OK);
    assert!(landing.text().await.unwrap().contains("Woodgrove"));

    // Removal needs the confirmation.
    let unconfirmed = client.post(app.url(&format!("/tenants/{tid}/remove"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(unconfirmed.status(), StatusCode::BAD_REQUEST);
    let removed =
        client.post(app.url(&format!("/tenants/{tid}/remove"))).form(&[("csrf", csrf.as_str()), ("confirm", "yes")]).send().await.unwrap();
    assert_eq!(removed.status(), StatusCode::OK);
    let html = removed.text().await.unwrap();
    assert!(html.contains("Enterprise applications") && html.contains(DEMO_CLIENT_ID) && html.contains("Delete"), "{html}");
    let removed_at: Option<String> = sql(&app.db, "SELECT removed_at FROM tenants WHERE tenant_id = $1").bind(&tid).scalar().await;
    assert!(removed_at.is_some());
    let events = audit(&app, "tenant.removed").await;
    assert_eq!(events, [(Some(ALEX.to_owned()), Some(tid.clone()), None)]);
    let list = client.get(app.url("/tenants")).send().await.unwrap().text().await.unwrap();
    assert_eq!(rows_on(&list), 0, "removed tenants leave the list");
    let csv = client.get(app.url("/tenants.csv")).send().await.unwrap().text().await.unwrap();
    assert!(!csv.contains(&tid));
}

// ---------------------------------------------------------------------------------------------------
// Invites

#[tokio::test]
async fn invites_are_created_shown_once_listed_with_a_timeline_and_revoked() {
    let app = spawn_app().await;
    let (client, csrf) = staff(&app, ALEX).await;
    let form = [
        ("csrf", csrf.as_str()),
        ("customer", "Contoso <Ltd>"),
        ("email", "it@contoso.example"),
        ("pin", "contoso.example"),
        ("expires_days", "7"),
        ("language", "it"),
    ];
    let created = client.post(app.url("/invites")).form(&form).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    let html = created.text().await.unwrap();
    assert!(html.contains("Contoso &#60;Ltd&#62;") || html.contains("Contoso &lt;Ltd&gt;"), "escaped: {html}");
    assert!(html.contains("data-copy=\"invite-link\"") && html.contains("/static/staff.js"));
    let start = html.find(&app.url("/onboard/")).unwrap();
    let link = html[start..start + html[start..].find('"').unwrap()].to_owned();
    let (id, language, pinned, domain): (String, String, Option<String>, Option<String>) =
        sql(&app.db, "SELECT id, language, pinned_tenant_id, pinned_domain FROM invites").row().await;
    assert_eq!(language, "it");
    assert_eq!(pinned.as_deref(), Some(DEMO_CONTOSO), "the domain was resolved to its tenant");
    assert_eq!(domain.as_deref(), Some("contoso.example"));
    assert_eq!(http_client().get(&link).send().await.unwrap().status(), StatusCode::OK);

    // The list shows it open, without its link, with its timeline.
    let list = client.get(app.url("/invites")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("badge info\">open") && list.contains("invite.created") && list.contains(&format!("by {ALEX}")), "{list}");
    assert!(!list.contains(&link), "the link is shown once");

    // Bad input is refused with the reason, and nothing is written.
    let bad = [("csrf", csrf.as_str()), ("customer", "X"), ("pin", "unknown-domain.example"), ("expires_days", "7"), ("language", "en")];
    let refused = client.post(app.url("/invites")).form(&bad).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("could not be found"));
    let bad = [("csrf", csrf.as_str()), ("customer", "X"), ("expires_days", "365"), ("language", "en")];
    assert_eq!(client.post(app.url("/invites")).form(&bad).send().await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad = [("csrf", csrf.as_str()), ("customer", "X"), ("expires_days", "7"), ("language", "fr")];
    assert_eq!(client.post(app.url("/invites")).form(&bad).send().await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(sql(&app.db, "SELECT COUNT(*) FROM invites").scalar::<i64>().await, 1);

    let revoked = client.post(app.url(&format!("/invites/{id}/revoke"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let list = client.get(app.url("/invites")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("badge neutral\">revoked") && list.contains("invite.revoked"), "{list}");
    assert_eq!(audit(&app, "invite.revoked").await, [(Some(ALEX.to_owned()), Some(DEMO_CONTOSO.to_owned()), Some(id))]);
    assert_eq!(http_client().get(&link).send().await.unwrap().status(), StatusCode::GONE);
}

#[tokio::test]
async fn the_invites_page_names_the_tenant_a_completed_invite_is_bound_to() {
    let app = spawn_app().await;
    let (client, _) = staff(&app, SAM).await;
    let (invite_id, _) = create_invite(&app, Invite::new("Contoso").expires_in(time::Duration::days(1))).await;
    let list = client.get(app.url("/invites")).send().await.unwrap().text().await.unwrap();
    assert!(!list.contains("data-connected-tenant"), "an open invite is bound to nothing: {list}");
    let mut tx = consent_portal::db::begin_write(&app.state.db).await.unwrap();
    let (contoso, woodgrove) = (TenantId::parse(DEMO_CONTOSO).unwrap(), TenantId::parse(DEMO_WOODGROVE).unwrap());
    let now = consent_portal::domain::clock::now(app.state.clock.as_ref());
    let bound = consent_portal::db::invites::complete_for_tenant(&mut tx, &invite_id, contoso, now).await.unwrap();
    assert_eq!(bound, consent_portal::db::invites::Binding::ThisTenant);
    let other = consent_portal::db::invites::complete_for_tenant(&mut tx, &invite_id, woodgrove, now).await.unwrap();
    assert_eq!(other, consent_portal::db::invites::Binding::OtherTenant { tenant_id: contoso });
    tx.commit().await.unwrap();
    let list = client.get(app.url("/invites")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("badge ok\">completed"), "{list}");
    assert!(list.contains(&format!("connected: <code>{DEMO_CONTOSO}</code>")), "{list}");
}

// ---------------------------------------------------------------------------------------------------
// Exports and the API

/// The columns of every export, then one per permission the demo requires.
const CSV_HEADER: &str = "tenant_id,customer,status,status_reason,consented_at,consented_by,roles_present,roles_missing,last_checked_at,\
                          graph:SecurityIncident.Read.All,graph:ThreatHunting.Read.All,defender:Incident.Read.All,defender:AdvancedHunting.Read.All";

#[tokio::test]
async fn csv_and_json_exports_hold_every_tenant_and_neutralise_formulas() {
    let app = spawn_app().await;
    let tid = seed_one(
        &app,
        Seed {
            customer: "=HYPERLINK(\"http://evil.example\",\"x\")",
            status: "missing_roles",
            consented_by: "@admin@evil.example",
            present: &["defender:Incident.Read.All"],
            missing: &["defender:AdvancedHunting.Read.All", "graph:ThreatHunting.Read.All"],
            ..Seed::default()
        },
    )
    .await;
    let never = seed_one(&app, Seed { customer: "Plain, Inc.", status: "never_checked", last_checked_at: None, ..Seed::default() }).await;
    let (client, _) = staff(&app, SAM).await;

    let csv = client.get(app.url("/tenants.csv")).send().await.unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(csv.headers()["content-disposition"].to_str().unwrap().contains("tenants.csv"));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines[0], CSV_HEADER);
    assert_eq!(lines.len(), 4, "header, two tenants, and the final line break: {text}");
    assert_eq!(
        lines[1],
        format!(
            "{tid},\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",missing_roles,Reason for missing_roles.,2026-11-01T10:00:00Z,\
             '@admin@evil.example,defender:Incident.Read.All,defender:AdvancedHunting.Read.All graph:ThreatHunting.Read.All,\
             2026-11-20T10:00:00Z,,missing,present,missing"
        )
    );
    assert_eq!(
        lines[2],
        format!("{never},\"Plain, Inc.\",never_checked,Reason for never_checked.,2026-11-01T10:00:00Z,admin@seeded.example,,,,,,,")
    );

    let json: Value = client.get(app.url("/tenants.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert_eq!(
        json[0],
        json!({
            "tenant_id": tid,
            "customer": "=HYPERLINK(\"http://evil.example\",\"x\")",
            "status": "missing_roles",
            "status_reason": "Reason for missing_roles.",
            "consented_at": "2026-11-01T10:00:00Z",
            "consented_by": "@admin@evil.example",
            "roles_present": ["defender:Incident.Read.All"],
            "roles_missing": ["defender:AdvancedHunting.Read.All", "graph:ThreatHunting.Read.All"],
            "last_checked_at": "2026-11-20T10:00:00Z",
            "apis": [],
        })
    );
    assert_eq!(json[1]["roles_present"], json!([]));
    assert_eq!(json[1]["last_checked_at"], Value::Null);
}

#[tokio::test]
async fn the_api_needs_the_configured_bearer_token_and_is_off_without_one() {
    let off = spawn_app().await;
    let response = off.client.get(off.url("/api/v1/tenants")).bearer_auth(API_TOKEN).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["status"], 404);

    let app = spawn_app_configured(|config| config.api_token = Some(Secret::new(API_TOKEN))).await;
    let tid = seed_one(&app, Seed { customer: "Api Customer", ..Seed::default() }).await;
    let anonymous = app.client.get(app.url("/api/v1/tenants")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    for wrong in ["wrong", &API_TOKEN[..API_TOKEN.len() - 1], &format!("{API_TOKEN}x")] {
        let response = app.client.get(app.url("/api/v1/tenants")).bearer_auth(wrong).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{wrong}");
    }
    // A staff session is no API credential.
    let (browser, _) = staff(&app, ALEX).await;
    assert_eq!(browser.get(app.url("/api/v1/tenants")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);

    let listed = app.client.get(app.url("/api/v1/tenants")).bearer_auth(API_TOKEN).send().await.unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let listed: Value = listed.json().await.unwrap();
    assert_eq!(listed[0]["tenant_id"], tid.as_str());
    assert_eq!(listed[0]["customer"], "Api Customer");
    assert_eq!(listed[0]["roles_missing"], json!([]));
    let one: Value =
        app.client.get(app.url(&format!("/api/v1/tenants/{tid}"))).bearer_auth(API_TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(one, listed[0]);
    let unknown = TenantId::new_random();
    let missing = app.client.get(app.url(&format!("/api/v1/tenants/{unknown}"))).bearer_auth(API_TOKEN).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.json::<Value>().await.unwrap()["error"]["code"], "not_found");
    let unauthorized_unknown = app.client.get(app.url(&format!("/api/v1/tenants/{unknown}"))).send().await.unwrap();
    assert_eq!(unauthorized_unknown.status(), StatusCode::UNAUTHORIZED, "no answer about existence without the token");
    let write = app.client.post(app.url("/api/v1/tenants")).bearer_auth(API_TOKEN).send().await.unwrap();
    assert_eq!(write.status(), StatusCode::METHOD_NOT_ALLOWED, "read-only");
}

#[tokio::test]
async fn the_api_takes_the_bearer_scheme_in_any_case() {
    let app = spawn_app_configured(|config| config.api_token = Some(Secret::new(API_TOKEN))).await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response =
            app.client.get(app.url("/api/v1/tenants")).header("authorization", format!("{scheme} {API_TOKEN}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{scheme}");
    }
    for refused in [format!("Basic {API_TOKEN}"), format!("Bearer{API_TOKEN}"), API_TOKEN.to_owned()] {
        let response = app.client.get(app.url("/api/v1/tenants")).header("authorization", &refused).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{refused}");
    }
}

// ---------------------------------------------------------------------------------------------------
// The shared sign-in callback

#[tokio::test]
async fn onboarding_still_works_in_a_browser_where_staff_are_signed_in_or_signing_in() {
    let app = spawn_app().await;
    let (signed_in, _) = staff(&app, ALEX).await;
    // A staff sign-in left pending (the button pressed, Microsoft never answered).
    let pending = http_client();
    press_sign_in(&app, &pending).await;
    for client in [signed_in, pending] {
        let (_, url) = create_invite(&app, Invite::new("Contoso").expires_in(time::Duration::days(1))).await;
        let landing = client.get(&url).send().await.unwrap().text().await.unwrap();
        let csrf = hidden_value(&landing, "csrf");
        set_auto(&app, Some(MEGAN), Some("accept")).await;
        let started = client.post(&url).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        let done = follow(&client, started).await;
        assert_eq!(done.status(), StatusCode::OK);
        assert!(done.text().await.unwrap().contains(&format!("Connected: <code>{DEMO_CONTOSO}</code>")));
    }
}

#[tokio::test]
async fn check_all_sweeps_every_tenant_with_live_progress_for_admins_only() {
    let app = spawn_app().await;
    let grant = app
        .client
        .put(app.fake_url(&format!("/_fake/tenants/{DEMO_CONTOSO}/grants/{}", fake_entra::demo::DEMO_CLIENT_ID)))
        .json(&demo_grant())
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), 204);
    seed_one(
        &app,
        Seed { customer: "Contoso", tenant_id: DEMO_CONTOSO.to_owned(), status: "never_checked", last_checked_at: None, ..Seed::default() },
    )
    .await;
    let other = seed_one(&app, Seed { customer: "Other", status: "never_checked", last_checked_at: None, ..Seed::default() }).await;

    let (viewer, viewer_csrf) = staff(&app, SAM).await;
    let refused = viewer.post(app.url("/tenants/check-all")).form(&[("csrf", viewer_csrf.as_str())]).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(!viewer.get(app.url("/tenants")).send().await.unwrap().text().await.unwrap().contains("Check all tenants now"));
    assert_eq!(http_client().get(app.url("/tenants/sweep")).send().await.unwrap().status(), StatusCode::SEE_OTHER, "anonymous");

    let (admin, csrf) = staff(&app, ALEX).await;
    let page = admin.get(app.url("/tenants")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Check all tenants now") && page.contains("/static/sweep.js?v="));
    let started = admin.post(app.url("/tenants/check-all")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let progress = eventually("the sweep to finish", async || {
        let progress: Value = admin.get(app.url("/tenants/sweep")).send().await.unwrap().json().await.unwrap();
        (progress["running"] == false && progress["done"] == 2).then_some(progress)
    })
    .await;
    assert_eq!(progress["total"], 2, "{progress}");
    assert_eq!(progress["done"], 2, "{progress}");
    assert_eq!(progress["verified"], 1, "{progress}");
    assert_eq!(progress["problems"], 1, "{progress}");
    let statuses: Vec<(String, String)> = sql(&app.db, "SELECT tenant_id, status FROM tenants ORDER BY tenant_id").rows().await;
    assert!(statuses.contains(&(DEMO_CONTOSO.to_owned(), "verified".to_owned())), "{statuses:?}");
    assert!(statuses.contains(&(other, "tenant_not_found".to_owned())), "{statuses:?}");
}

// ---------------------------------------------------------------------------------------------------
// Invisible characters in free text

/// Text that reads "Contosoexe.png" on screen but is stored as "Contoso", U+202E, "gnp.exe".
const REVERSED: &str = "Contoso\u{202E}gnp.exe";

#[tokio::test]
async fn the_invite_form_refuses_bidi_controls_and_invisible_characters_with_422() {
    let app = spawn_app().await;
    let (client, csrf) = staff(&app, ALEX).await;
    let isolate = "\u{2067}Contoso\u{2069}";
    let cases = [
        (("customer", REVERSED), "the customer&#39;s name holds U+202E", "changes the direction"),
        (("customer", isolate), "holds U+2067", "changes the direction"),
        (("customer", "Con\u{200B}toso"), "holds U+200B", "invisible formatting characters are not allowed"),
        (("email", "it@contoso\u{200F}.example"), "the e-mail address holds U+200F", "changes the direction"),
        (("pin", "contoso\u{202E}.example"), "to pin holds U+202E", "changes the direction"),
    ];
    for ((field, value), named, why) in cases {
        let mut form = vec![("csrf", csrf.as_str()), ("customer", "Contoso"), ("expires_days", "7"), ("language", "en")];
        form.retain(|(name, _)| *name != field);
        form.push((field, value));
        let refused = client.post(app.url("/invites")).form(&form).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field} {value:?}");
        let html = refused.text().await.unwrap();
        let named_plain = named.replace("&#39;", "'");
        assert!(html.contains(named) || html.contains(&named_plain), "{named}: {html}");
        assert!(html.contains(why), "{why}: {html}");
    }
    assert_eq!(sql(&app.db, "SELECT COUNT(*) FROM invites").scalar::<i64>().await, 0);
    assert_eq!(sql(&app.db, "SELECT COUNT(*) FROM customers").scalar::<i64>().await, 0);

    // Names in any script, with accents and punctuation, are welcome.
    let form = [("csrf", csrf.as_str()), ("customer", "Società Rossi – شركة"), ("expires_days", "7"), ("language", "it")];
    assert_eq!(client.post(app.url("/invites")).form(&form).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn the_api_creates_invites_and_refuses_bidi_controls_with_422() {
    let app = spawn_app_configured(|config| config.api_token = Some(Secret::new(API_TOKEN))).await;
    let post = |body: Value| app.client.post(app.url("/api/v1/invites")).bearer_auth(API_TOKEN).json(&body).send();

    for body in [
        json!({"customer": REVERSED}),
        json!({"customer": "Contoso", "email": "it\u{2066}@contoso.example"}),
        json!({"customer": "Contoso", "pin": "\u{061C}contoso.example"}),
        json!({"customer": "Contoso\u{E0041}"}),
    ] {
        let refused = post(body.clone()).await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let error: Value = refused.json().await.unwrap();
        assert_eq!(error["error"]["code"], "unprocessable", "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(" holds U+") && message.contains("are not allowed"), "{message}");
        assert!(!message.contains(['\u{202E}', '\u{2066}', '\u{061C}', '\u{E0041}']), "the message never repeats the character: {message}");
    }
    let not_json = app.client.post(app.url("/api/v1/invites")).bearer_auth(API_TOKEN).body("customer=Contoso").send().await.unwrap();
    assert_eq!(not_json.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(sql(&app.db, "SELECT COUNT(*) FROM invites").scalar::<i64>().await, 0);

    // Without the token nothing is created, whatever the body.
    let anonymous = app.client.post(app.url("/api/v1/invites")).json(&json!({"customer": "Contoso"})).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let created = post(json!({"customer": "Contoso", "pin": DEMO_CONTOSO, "expires_days": 3, "language": "it"})).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let url = created["url"].as_str().unwrap();
    assert!(url.starts_with(&app.url("/onboard/")), "{created}");
    let landing = http_client().get(url).send().await.unwrap();
    assert_eq!(landing.status(), StatusCode::OK);
    assert!(landing.text().await.unwrap().contains("Contoso"));
    let row: (String, Option<String>, String) = sql(&app.db, "SELECT id, pinned_tenant_id, language FROM invites").row().await;
    assert_eq!(row, (created["id"].as_str().unwrap().to_owned(), Some(DEMO_CONTOSO.to_owned()), "it".to_owned()));
    let actor: Option<String> = sql(&app.db, "SELECT actor FROM audit_events WHERE kind = 'invite.created'").scalar().await;
    assert_eq!(actor.as_deref(), Some("api"));
}

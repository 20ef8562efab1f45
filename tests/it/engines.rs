//! The same portal on both engines: one scenario through the real router — every staff page, the
//! tenants list in each order and with each filter, a customer's consent, check now, a campaign, the
//! e-mail worker, re-consent, removal, revocation, the exports and the JSON API — run once on SQLite and
//! once on PostgreSQL. Every request must succeed on both, and what the pages list, in their order, must
//! be the same on both: the statements of `db/` written for both engines are exercised on each.

use std::sync::Arc;

use consent_portal::app::AppState;
use consent_portal::config::DatabaseLocation;
use consent_portal::domain::api::{Cloud, group_by_api, parse_permission_list};
use consent_portal::domain::{Secret, SystemClock, TenantId, Timestamp};
use fake_entra::demo::DEMO_CONTOSO;
use reqwest::StatusCode;
use time::OffsetDateTime;
use tokio::net::TcpListener;

use crate::helpers::*;

const API_TOKEN: &str = "engines-test-api-token-0123456789abcdef";

/// The tenants of the scenario, the same on both engines: customers whose names differ only in case
/// (the lists order names without case), some checked and some not.
fn seeded_tenants() -> Vec<(&'static str, Vec<TenantId>)> {
    let ids: Vec<TenantId> = (0..12).map(|i| TenantId::parse(&format!("00000000-0000-4000-8000-{:012}", i + 1)).unwrap()).collect();
    vec![("acme", ids[0..3].to_vec()), ("Beta", ids[3..6].to_vec()), ("ACME", ids[6..9].to_vec()), ("Acme", ids[9..12].to_vec())]
}

/// A portal on `database` (its router in this process) and the fake it signs in at.
struct EnginePortal {
    portal: PortalAt,
    state: AppState,
    _fake: fake_entra::server::FakeServer,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for EnginePortal {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn portal_on(database: DatabaseLocation) -> EnginePortal {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let fake = spawn_fake(&format!("http://{address}")).await;
    let mut config = consent_portal::config::demo_config(address, &fake.url, database.clone()).unwrap();
    config.api_token = Some(Secret::new(API_TOKEN));
    let pool = consent_portal::db::open(&database).await.unwrap();
    // The portal ran with the Defender XDR API's permissions only, 200 days ago: the tenants that
    // consented then need re-consent now that the demo's (Microsoft Graph's too) are required.
    let earlier = group_by_api(&parse_permission_list(DEFENDER_ONLY).unwrap(), Cloud::Global).unwrap();
    let long_ago = Timestamp::new(OffsetDateTime::now_utc() - time::Duration::days(200));
    consent_portal::campaigns::requirements::record_at_start(&pool, &earlier, long_ago).await.unwrap();
    let consented = Timestamp::new(OffsetDateTime::now_utc() - time::Duration::days(300));
    for (customer, tenants) in seeded_tenants() {
        consent_portal::db::monitoring::seed_tenants(&pool, customer, &tenants, consented).await.unwrap();
    }
    let state = AppState::with_clock(config, pool, Arc::new(SystemClock)).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(consent_portal::server::serve(listener, consent_portal::web::router(state.clone()), async move {
        let _ = stopped.await;
    }));
    let portal = PortalAt { base_url: format!("http://{address}"), fake_url: fake.url.clone() };
    EnginePortal { portal, state, _fake: fake, stop: Some(stop) }
}

/// The tenant ids a page links to, in the page's order.
fn tenant_links(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in html.match_indices("href=\"/tenants/") {
        let rest = &html[at + "href=\"/tenants/".len()..];
        let id: String = rest.chars().take_while(|c| c.is_ascii_hexdigit() || *c == '-').collect();
        if id.len() == 36 && found.last() != Some(&id) {
            found.push(id);
        }
    }
    found
}

/// Runs the scenario; returns what the lists showed, in order, to compare between engines.
async fn scenario(engine: &EnginePortal) -> Vec<(String, Vec<String>)> {
    let portal = &engine.portal;
    let (client, csrf) = staff(portal, ALEX).await;
    let get = async |path: &str| {
        let response = client.get(portal.url(path)).send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    };
    let post = async |path: &str, fields: &[(&str, &str)]| {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        let response = client.post(portal.url(path)).form(&form).send().await.unwrap();
        let status = response.status();
        let answer = (status, location_of(&response), response.text().await.unwrap());
        assert!(status.is_success() || status.is_redirection(), "POST {path}: {status} {}", answer.2);
        answer
    };

    let mut seen = Vec::new();
    let mut lists =
        vec!["/tenants".to_owned(), "/tenants?q=acm".to_owned(), "/tenants?q=ACME".to_owned(), "/tenants?q=0000-4000".to_owned()];
    lists.push("/tenants?status=needs_reconsent".to_owned());
    lists.push("/tenants?status=never_checked".to_owned());
    for sort in ["customer", "status", "last_check", "consented_at"] {
        for dir in ["asc", "desc"] {
            lists.push(format!("/tenants?sort={sort}&dir={dir}"));
        }
    }
    // Checks of three tenants at distinct, fixed times (so their order by last check is the same on
    // both engines whenever the test runs); the other tenants stay never checked.
    let check_some = async || {
        use consent_portal::db::monitoring::CheckResult;
        use consent_portal::domain::{ApiResults, RoleList, TenantStatus};
        let base = OffsetDateTime::now_utc() - time::Duration::hours(5);
        let results: Vec<CheckResult> = seeded_tenants()
            .iter()
            .skip(1)
            .enumerate()
            .map(|(hour, (_, tenants))| {
                let at = Timestamp::new(base + time::Duration::hours(hour as i64));
                CheckResult {
                    tenant_id: tenants[0],
                    started_at: at,
                    finished_at: at,
                    status: TenantStatus::MissingRoles,
                    reason: "Seeded.".into(),
                    roles_present: RoleList(Vec::new()),
                    roles_missing: RoleList(vec!["graph:SecurityIncident.Read.All".into()]),
                    error_code: None,
                    trace_id: None,
                    token_header: None,
                    token_claims: None,
                    api_status: None,
                    apis: ApiResults::default(),
                    next_check_at: Timestamp::new(base + time::Duration::days(1)),
                    not_before: None,
                }
            })
            .collect();
        consent_portal::db::monitoring::record_results(&engine.state.db, &results, &[]).await.unwrap();
    };
    check_some().await;
    for path in &lists {
        seen.push((path.clone(), tenant_links(&get(path).await)));
    }
    for path in ["/invites", "/outbox", "/campaigns", "/webhooks", "/tenants.csv"] {
        get(path).await;
    }
    let export = get("/tenants.json").await;
    let exported: serde_json::Value = serde_json::from_str(&export).unwrap();
    let exported = exported.as_array().cloned().or_else(|| exported["tenants"].as_array().cloned()).unwrap_or_default();
    seen.push(("/tenants.json".into(), exported.iter().map(|t| t["tenant_id"].as_str().unwrap_or_default().to_owned()).collect()));
    let first = &seeded_tenants()[0].1[0];
    get(&format!("/tenants/{first}")).await;

    // A customer's consent, from an invite made on the staff page.
    let created = post_invite(portal, &client, &csrf, &[("customer", "Contoso")]).await;
    assert_eq!(created.status(), StatusCode::OK);
    let page = created.text().await.unwrap();
    let link_at = page.find(&format!("{}/onboard/", portal.base_url)).unwrap();
    let link = page[link_at..link_at + page[link_at..].find('"').unwrap()].to_owned();
    set_auto(portal, Some(MEGAN), Some("accept")).await;
    let (status, html, _) = journey(&http_client(), &link).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(DEMO_CONTOSO), "{html}");
    post(&format!("/tenants/{DEMO_CONTOSO}/check"), &[]).await;
    get(&format!("/tenants/{DEMO_CONTOSO}")).await;

    // A campaign over the tenants that need re-consent, its page and export; the e-mail worker's pass.
    let (_, campaign, _) = post("/campaigns", &[("selection", "all"), ("language_default", "en")]).await;
    let campaign = campaign.unwrap();
    get(&campaign).await;
    get(&format!("{campaign}/export.csv")).await;
    consent_portal::email::worker::run_once(&engine.state, OffsetDateTime::now_utc()).await.unwrap();
    get("/outbox").await;

    // Re-consent, removal, "check all", revocation; the JSON API.
    let second = &seeded_tenants()[1].1[1];
    post(&format!("/tenants/{second}/reconsent"), &[]).await;
    post(&format!("/tenants/{second}/remove"), &[("confirm", "yes")]).await;
    post("/tenants/check-all", &[]).await;
    let invites = get("/invites").await;
    let revoke_at = invites.find("/revoke\"").expect("an invite to revoke");
    let action_start = invites[..revoke_at].rfind("\"/invites/").unwrap() + 1;
    post(&invites[action_start..revoke_at + "/revoke".len()], &[]).await;
    let api = http_client().get(portal.url("/api/v1/tenants")).bearer_auth(API_TOKEN).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::OK);
    seen.push(("after removal".into(), tenant_links(&get("/tenants?sort=customer&dir=asc").await)));
    seen
}

fn location_of(response: &reqwest::Response) -> Option<String> {
    response.headers().get("location").map(|l| l.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn the_portal_does_the_same_on_sqlite_and_on_postgresql() {
    let Some(bin) = require(postgres_programs()) else { return };
    let cluster = PgCluster::start(bin);
    let dir = tempfile::tempdir().unwrap();

    let on_sqlite = portal_on(DatabaseLocation::sqlite_file(dir.path().join("portal.db"))).await;
    let sqlite_lists = scenario(&on_sqlite).await;
    drop(on_sqlite);

    let url = cluster.create_database("portal").await;
    let on_postgres = portal_on(DatabaseLocation::Postgres { url: Secret::new(url) }).await;
    let postgres_lists = scenario(&on_postgres).await;

    assert_eq!(sqlite_lists[0].1.len(), 12, "the tenants page lists every seeded tenant: {sqlite_lists:?}");
    assert_eq!(sqlite_lists.len(), postgres_lists.len());
    for (sqlite, postgres) in sqlite_lists.iter().zip(&postgres_lists) {
        assert_eq!(sqlite, postgres, "the engines list differently");
    }
}

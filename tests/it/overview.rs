//! The fleet overview, the staff's home at `/`: counts per status with a stacked bar, the 30-day
//! trend as inline SVG with a table beside it, and the tenants that got worse in the last 7 days.

use consent_portal::db::monitoring::{CheckResult, record_results, seed_tenants};
use consent_portal::domain::{ApiResults, RoleList, TenantId, TenantStatus, Timestamp};
use reqwest::StatusCode;
use time::{Duration, OffsetDateTime};

use crate::helpers::*;

fn result(tenant_id: TenantId, status: TenantStatus, at: OffsetDateTime, reason: &str) -> CheckResult {
    let at = Timestamp::new(at);
    CheckResult {
        tenant_id,
        started_at: at,
        finished_at: at,
        status,
        reason: reason.to_owned(),
        roles_present: RoleList(Vec::new()),
        roles_missing: RoleList(Vec::new()),
        error_code: None,
        trace_id: None,
        token_header: None,
        token_claims: None,
        api_status: None,
        apis: ApiResults::default(),
        next_check_at: at,
        not_before: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_overview_counts_the_fleet_draws_its_trend_and_lists_the_tenants_that_got_worse() {
    let app = spawn_app().await;
    let now = OffsetDateTime::now_utc();
    let days_ago = |days: i64| now - Duration::days(days);
    let [steady, lost, stuck, throttled, fresh] = std::array::from_fn(|_| TenantId::new_random());
    seed_tenants(&app.state.db, "Steady Ltd", &[steady], Timestamp::new(days_ago(40))).await.unwrap();
    seed_tenants(&app.state.db, "Lost Consent Inc", &[lost], Timestamp::new(days_ago(40))).await.unwrap();
    seed_tenants(&app.state.db, "Stuck Co", &[stuck], Timestamp::new(days_ago(40))).await.unwrap();
    seed_tenants(&app.state.db, "Throttled GmbH", &[throttled], Timestamp::new(days_ago(40))).await.unwrap();
    seed_tenants(&app.state.db, "Fresh Srl", &[fresh], Timestamp::new(now)).await.unwrap();
    use TenantStatus::*;
    let history = [
        vec![
            result(steady, Verified, days_ago(10), "Every role."),
            result(lost, Verified, days_ago(10), "Every role."),
            result(stuck, MissingRoles, days_ago(20), "Missing Incident.Read.All."),
            result(throttled, Verified, days_ago(10), "Every role."),
        ],
        vec![result(stuck, MissingRoles, days_ago(4), "Missing Incident.Read.All.")],
        vec![result(lost, ConsentRemoved, days_ago(3), "The admin removed the app (AADSTS7000229).\nSecond line.")],
        vec![result(steady, Verified, days_ago(1), "Every role."), result(throttled, Throttled, days_ago(1), "Microsoft asked to wait.")],
    ];
    for (index, batch) in history.iter().enumerate() {
        record_results(&app.state.db, batch, &[]).await.unwrap();
        if index == 0 {
            // Two earlier days of the trend, as the hourly task recorded them then; the days between
            // stay empty.
            for days in [12, 11] {
                consent_portal::fleet::record_today(&app.state.db, days_ago(days)).await.unwrap();
            }
        }
    }

    let (client, _) = staff(&app, ALEX).await;
    let response = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("style-src 'self';") && !csp.contains("unsafe-inline"), "the CSP is unchanged: {csp}");
    let page = response.text().await.unwrap();
    assert!(!page.contains(" style=") && !page.contains("<script"), "no inline style or script");

    // The counts match the seeded tenants.
    let count = |id: &str| -> String { attribute_of(&page, id, "data-count") };
    assert_eq!(count("fleet-total"), "5");
    assert_eq!(count("fleet-verified"), "1");
    assert_eq!(count("fleet-attention"), "3", "consent removed, missing roles, throttled");
    assert_eq!(
        (count("status-verified"), count("status-consent_removed"), count("status-missing_roles")),
        ("1".into(), "1".into(), "1".into())
    );
    assert_eq!((count("status-throttled"), count("status-never_checked")), ("1".into(), "1".into()));
    assert!(page.contains("href=\"/tenants?status=consent_removed\""), "each status links to its tenants");

    // The bar and the trend are inline SVG, each with a text alternative.
    assert_eq!((attribute_of(&page, "fleet-bar", "role"), attribute_of(&page, "fleet-trend", "role")), ("img".into(), "img".into()));
    let bar = element(&page, "fleet-bar");
    assert!(bar.contains("<title id=\"fleet-bar-title\">Tenants per status: verified: 1;"), "{bar}");
    let trend = element(&page, "fleet-trend");
    assert!(
        trend.contains("<desc id=\"fleet-trend-desc\">Verified went from 3 on")
            && trend.contains("class=\"trend-line trend-verified\" d=\"M"),
        "{trend}"
    );
    let table = visible_text(element(&page, "fleet-trend-table"));
    let today = now.date().to_string();
    let twelve = days_ago(12).date().to_string();
    assert!(table.contains(&format!("{today} 1 3")), "today's counts are live: {table}");
    assert!(table.contains(&format!("{twelve} 3 1")), "as recorded 12 days ago: {table}");
    assert!(table.contains(&format!("{} — —", days_ago(5).date())), "a day without a record: {table}");

    // The tenants that got worse in the last 7 days, oldest problem first, each with its reason and a link.
    let list = element(&page, "needs-attention");
    let (at_lost, at_throttled) = (list.find(&format!("worse-{lost}")).unwrap(), list.find(&format!("worse-{throttled}")).unwrap());
    assert!(at_lost < at_throttled, "the oldest problem first: {list}");
    assert!(list.contains(&format!("href=\"/tenants/{lost}\"")) && list.contains(&format!("href=\"/tenants/{throttled}\"")));
    assert!(list.contains("The admin removed the app (AADSTS7000229).") && !list.contains("Second line"), "{list}");
    assert!(list.contains("(was verified)"), "{list}");
    assert!(!list.contains(&stuck.to_string()), "missing roles for weeks did not get worse: {list}");
    assert!(!list.contains(&steady.to_string()) && !list.contains(&fresh.to_string()));

    // The old entry points still work: the tenants page, and the brand link is the overview.
    let tenants = client.get(app.url("/tenants")).send().await.unwrap();
    assert_eq!(tenants.status(), StatusCode::OK);
    assert!(page.contains("<a href=\"/\" aria-current=\"page\">Overview</a>"));
    // Anyone else still gets the portal's front page at `/`.
    let anonymous = http_client().get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(!anonymous.contains("Fleet overview"));
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_tenant_the_overview_says_so() {
    let app = spawn_app().await;
    let (client, _) = staff(&app, ALEX).await;
    let page = client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("No tenant got worse in the last 7 days."), "{page}");
    assert_eq!(attribute_of(&page, "fleet-total", "data-count"), "0");
    assert!(element(&page, "fleet-bar").contains("No tenant yet"));
}

/// The value of `attribute` on the element with id `id`.
fn attribute_of(html: &str, id: &str, attribute: &str) -> String {
    let start = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id}"));
    let tag_start = html[..start].rfind('<').unwrap();
    let tag = &html[tag_start..start + html[start..].find('>').unwrap()];
    let value = tag.split(&format!("{attribute}=\"")).nth(1).unwrap_or_else(|| panic!("no {attribute} on #{id}: {tag}"));
    value.split('"').next().unwrap().to_owned()
}

#[test]
fn the_overview_benchmark_runs_and_prints_its_figures() {
    let dir = tempfile::tempdir().unwrap();
    let output =
        command_in(dir.path()).args(["bench", "overview", "--tenants", "200", "--days", "10", "--requests", "10"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    for figure in ["tenants=200", "days=10", "checks=8000", "requests=10", "median_ms=", "p95_ms=", "peak_rss_mb="] {
        assert!(stdout.contains(figure), "{figure} in {stdout}");
    }
}

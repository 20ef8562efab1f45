//! The retirement of the Defender XDR API (1 February 2027) over real HTTP: the banner of every staff
//! page on a portal whose clock the test sets, and the warning `serve` logs at start.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use crate::helpers::*;
use consent_portal::domain::ManualClock;
use consent_portal::domain::api::{Cloud, group_by_api, parse_permission_list};
use consent_portal::domain::retirement::retirement_warnings;
use reqwest::StatusCode;
use time::macros::{date, time};
use time::{Date, OffsetDateTime};

const RETIREMENT: Date = date!(2027 - 02 - 01);

/// Noon, `days` before the retirement (negative: after it).
fn days_before(days: i64) -> OffsetDateTime {
    (RETIREMENT - time::Duration::days(days)).with_time(time!(12:00)).assume_utc()
}

/// The staff pages every signed-in member can open, as ALEX sees them on the app's clock now.
async fn staff_pages(app: &TestApp) -> Vec<(&'static str, String)> {
    let (client, _) = staff(app, ALEX).await;
    let mut pages = Vec::new();
    for path in ["/tenants", "/invites", "/outbox"] {
        let (status, html) = status_and_text(client.get(app.url(path)).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{path}: {html}");
        pages.push((path, html));
    }
    pages
}

const DEMO_WITH_REPLACEMENTS: &str = "PORTAL_REQUIRED_PERMISSIONS=graph:SecurityIncident.Read.All,graph:ThreatHunting.Read.All,\
                                      defender:Incident.Read.All,defender:AdvancedHunting.Read.All";

#[tokio::test]
async fn every_staff_page_warns_from_120_days_before_the_defender_xdr_api_retires() {
    let clock = Arc::new(ManualClock::at(days_before(100)));
    let app = spawn_app_on_clock(clock.clone()).await;
    let required: Vec<String> = app.state.config.required_permissions();
    assert!(required.iter().any(|p| p.starts_with("defender:")), "the demo requires the Defender XDR API: {required:?}");

    for (path, html) in staff_pages(&app).await {
        let banner = visible_text(element(&html, "retirement"));
        assert!(html.contains("class=\"notice warn retirement\""), "{path}: {html}");
        assert!(
            banner.contains("The Microsoft Threat Protection (Defender XDR API) stops working in 100 days, on 1 February 2027."),
            "{path}: {banner}"
        );
        for (retiring, replacement) in [
            ("defender:Incident.Read.All", "graph:SecurityIncident.Read.All (already required)"),
            ("defender:AdvancedHunting.Read.All", "graph:ThreatHunting.Read.All (already required)"),
        ] {
            assert!(banner.contains(&format!("{retiring} → {replacement}")), "{path}: {banner}");
        }
        assert!(banner.contains("API permissions → Add a permission → Microsoft Graph → Application permissions"), "{banner}");
        assert!(banner.contains("add SecurityIncident.Read.All, ThreatHunting.Read.All"), "{banner}");
        assert_eq!(visible_text(element(&html, "retirement-required-permissions")), DEMO_WITH_REPLACEMENTS, "{path}");
        assert!(banner.contains("Create a re-consent link"), "{banner}");
    }

    // The day before, one day is left; 120 days before, the warning starts; a day earlier there is none.
    for (days, shown) in [(1, Some("stops working in 1 day,")), (120, Some("stops working in 120 days,")), (121, None), (200, None)] {
        clock.set(days_before(days));
        for (path, html) in staff_pages(&app).await {
            match shown {
                Some(words) => assert!(visible_text(element(&html, "retirement")).contains(words), "{days} days before, {path}"),
                None => {
                    assert!(!html.contains("id=\"retirement\"") && !html.contains("stops working"), "{days} days before, {path}: {html}")
                }
            }
        }
    }

    // Customers never see it.
    clock.set(days_before(100));
    let (_, url) = create_invite(&app, "Contoso").await;
    let landing = http_client().get(&url).send().await.unwrap().text().await.unwrap();
    assert!(!landing.contains("retirement") && !landing.contains("stops working"), "{landing}");
}

#[tokio::test]
async fn from_the_day_itself_the_banner_says_the_api_has_stopped_and_leaves_it_out_of_the_value() {
    let clock = Arc::new(ManualClock::at(days_before(0)));
    let app = spawn_app_on_clock(clock.clone()).await;
    for at in [days_before(0), days_before(-30)] {
        clock.set(at);
        for (path, html) in staff_pages(&app).await {
            let banner = visible_text(element(&html, "retirement"));
            assert!(html.contains("class=\"notice bad retirement\""), "{path}: {html}");
            assert!(
                banner.contains(
                    "The Microsoft Threat Protection (Defender XDR API) has stopped working: Microsoft retired it on 1 February 2027."
                ),
                "{at}, {path}: {banner}"
            );
            assert!(banner.contains("defender:AdvancedHunting.Read.All → graph:ThreatHunting.Read.All"), "{banner}");
            assert_eq!(
                visible_text(element(&html, "retirement-required-permissions")),
                "PORTAL_REQUIRED_PERMISSIONS=graph:SecurityIncident.Read.All,graph:ThreatHunting.Read.All",
                "{path}"
            );
            assert!(banner.contains("The retired API's permissions are left out"), "{banner}");
        }
    }
}

#[tokio::test]
async fn a_portal_that_requires_only_microsoft_graph_shows_no_banner() {
    let clock = Arc::new(ManualClock::at(days_before(100)));
    let graph_only =
        group_by_api(&parse_permission_list("graph:SecurityIncident.Read.All,graph:ThreatHunting.Read.All").unwrap(), Cloud::Global)
            .unwrap();
    let app = spawn_app_on_clock_configured(clock.clone(), move |config| config.required = graph_only).await;
    for at in [days_before(100), days_before(0), days_before(-30)] {
        clock.set(at);
        for (path, html) in staff_pages(&app).await {
            assert!(
                !html.contains("id=\"retirement\"") && !html.contains("stops working") && !html.contains("stopped working"),
                "{at}, {path}"
            );
        }
    }
}

#[test]
fn serve_logs_the_warning_at_start_on_the_real_clock() {
    // The default configuration requires the Defender XDR API's Incident.Read.All and AdvancedHunting.Read.All.
    let default =
        group_by_api(&parse_permission_list("defender:Incident.Read.All,defender:AdvancedHunting.Read.All").unwrap(), Cloud::Global)
            .unwrap();
    let before = retirement_warnings(&default, OffsetDateTime::now_utc().date());
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = start_binary(dir.path(), port, &[]);
    terminate(&child.0);
    wait_with_limit(&mut child.0, Duration::from_secs(10)).expect("the portal stops");
    let after = retirement_warnings(&default, OffsetDateTime::now_utc().date());
    let mut logs = String::new();
    child.0.stderr.take().unwrap().read_to_string(&mut logs).unwrap();

    let lines: Vec<&str> = logs.lines().filter(|line| line.contains("WARN") && line.contains("Defender XDR API")).collect();
    if before.is_empty() && after.is_empty() {
        assert!(lines.is_empty(), "more than 120 days before the date, nothing to say: {logs}");
        return;
    }
    assert_eq!(lines.len(), 1, "one line per retiring API: {logs}");
    let line = lines[0];
    // Around midnight the day may change between the two readings: either count is right.
    let said = [&before, &after].iter().filter_map(|w| w.first()).any(|w| {
        if w.has_stopped() {
            line.contains("has stopped working (2027-02-01)")
        } else {
            line.contains(&format!("stops working in {} days (2027-02-01)", w.days_left))
        }
    });
    assert!(said, "{line}");
    assert!(line.contains("graph:SecurityIncident.Read.All,graph:ThreatHunting.Read.All"), "the replacements: {line}");
    assert!(line.contains("days_left=") || line.contains("days_since="), "{line}");
}

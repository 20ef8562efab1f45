//! Re-consent campaigns over real HTTP against the fake: a change of the required permissions marks the
//! tenants that consented before as "needs re-consent" (and only those); a campaign pins an invite to
//! each, e-mails it in the customer's language, refuses another tenant's admin, and follows the tenant
//! until a check shows every role — through the campaign's link or any other way; resend; an expired
//! campaign link; staff told at half way and at completion; the command line.

use std::sync::Arc;

use crate::helpers::*;
use consent_portal::domain::{Clock, ManualClock, SharedClock, TenantId, Timestamp};
use consent_portal::email::worker;
use consent_portal::monitor::sweep::Target;
use fake_entra::demo::{DEMO_CLIENT_ID, DEMO_CONTOSO, DEMO_FOURTH_COFFEE, DEMO_NORTHWIND};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

const LIDIA: &str = "lidia@fourthcoffee.example";

/// A portal whose required permissions grew: it ran with the Defender XDR API's permissions from 200
/// days ago, and starts now with the demo's (Microsoft Graph's as well).
async fn migrating_app(clock: SharedClock, notify: &[&str]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let (database, db) = fresh_database(dir.path()).await;
    record_history(&db, &[(DEFENDER_ONLY, 200)], clock.now()).await;
    let notify: Vec<lettre::Address> = notify.iter().map(|a| a.parse().unwrap()).collect();
    spawn_app_on(dir, database, db, clock, move |config| {
        config.email.notify = notify;
        // Events are queued (no webhook worker runs here): a campaign's completion queues one.
        config.webhooks = consent_portal::config::WebhookSettings {
            endpoints: vec![consent_portal::config::WebhookEndpoint::parse("https://hooks.fabrikam.example/portal").unwrap()],
            secret: Some(consent_portal::config::WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()),
            ..Default::default()
        };
    })
    .await
}

async fn grant(app: &TestApp, tenant: &str, permissions: Value) {
    let url = app.fake_url(&format!("/_fake/tenants/{tenant}/grants/{DEMO_CLIENT_ID}"));
    let response = app.client.put(url).json(&json!({ "permissions": permissions })).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

fn defender_only() -> Value {
    json!({"defender": ["Incident.Read.All", "AdvancedHunting.Read.All"]})
}

/// Records `tenant` for `customer`, consented `days_ago`, with an invite in `language` sent to `admin`
/// (so a campaign knows where and how to ask), and checks it once; returns its status.
async fn onboarded(app: &TestApp, customer: &str, tenant: &str, days_ago: i64, admin: &str, language: &str) -> String {
    let id = TenantId::parse(tenant).unwrap();
    let consented = app.state.clock.now() - time::Duration::days(days_ago);
    consent_portal::db::monitoring::seed_tenants(&app.state.db, customer, &[id], Timestamp::new(consented)).await.unwrap();
    Invite::new(customer).send_to(admin).language(language).create(&app.db).await;
    worker::run_once(&app.state, app.state.clock.now()).await.unwrap();
    app.state.sweeper.check_now(Target::new(id, Some(consented))).await.unwrap().status.as_str().to_owned()
}

/// Starts a campaign from the tenants page's form, as an admin; the campaign's id.
async fn start_campaign(app: &TestApp, client: &reqwest::Client, csrf: &str, fields: &[(&str, &str)]) -> String {
    let mut form = vec![("csrf", csrf), ("selection", "needs_reconsent"), ("language_default", "en")];
    form.extend_from_slice(fields);
    let response = client.post(app.url("/campaigns")).form(&form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", response.text().await.unwrap());
    location(&response).trim_start_matches("/campaigns/").to_owned()
}

/// The campaign page's counts: (re-consented, total), from its summary's attributes.
async fn progress_of(app: &TestApp, client: &reqwest::Client, id: &str) -> (String, String) {
    let page = client.get(app.url(&format!("/campaigns/{id}"))).send().await.unwrap().text().await.unwrap();
    let summary = opening_tag(&page, "campaign-summary");
    let attribute = |name: &str| {
        let at = summary.find(&format!("{name}=\"")).unwrap_or_else(|| panic!("{summary}")) + name.len() + 2;
        summary[at..summary[at..].find('"').unwrap() + at].to_owned()
    };
    (attribute("data-reconsented"), attribute("data-total"))
}

/// The opening tag of the element whose id is `id`, with its attributes.
fn opening_tag<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html.find(&format!(" id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {html}"));
    let open = html[..at].rfind('<').unwrap();
    &html[open..at + html[at..].find('>').unwrap() + 1]
}

fn link_in(text: &str, app: &TestApp) -> String {
    let start = text.find(&format!("{}/onboard/", app.base_url)).unwrap_or_else(|| panic!("no link in {text}"));
    text[start..].split_whitespace().next().unwrap().to_owned()
}

/// The newest e-mail to `to` in the in-memory mailbox.
fn mail_to(app: &TestApp, to: &str) -> consent_portal::email::DeliveredMessage {
    let messages = app.state.mailer.memory().unwrap().messages();
    messages.into_iter().find(|m| m.to == to).unwrap_or_else(|| panic!("no e-mail to {to}"))
}

#[tokio::test]
async fn a_permission_set_change_marks_only_the_tenants_that_consented_before_it() {
    let clock = Arc::new(ManualClock::at(OffsetDateTime::now_utc()));
    let app = migrating_app(clock.clone(), &[]).await;
    clock.advance(time::Duration::days(1));
    // Consented before Graph was required: never asked for it.
    grant(&app, DEMO_CONTOSO, defender_only()).await;
    assert_eq!(onboarded(&app, "Contoso", DEMO_CONTOSO, 100, MEGAN, "en").await, "needs_reconsent");
    // Consented since, but granted less than asked (the app registration lacked a permission then).
    grant(
        &app,
        DEMO_NORTHWIND,
        json!({"graph": ["SecurityIncident.Read.All"], "defender": ["Incident.Read.All", "AdvancedHunting.Read.All"]}),
    )
    .await;
    let id = TenantId::parse(DEMO_NORTHWIND).unwrap();
    let consented = app.state.clock.now() - time::Duration::hours(3);
    consent_portal::db::monitoring::seed_tenants(&app.state.db, "Northwind", &[id], Timestamp::new(consented)).await.unwrap();
    let outcome = app.state.sweeper.check_now(Target::new(id, Some(consented))).await.unwrap();
    assert_eq!(outcome.status.as_str(), "missing_roles", "{}", outcome.reason);

    // The change is an audited event, named on the dashboard with the tenants it concerns.
    let changed: Vec<(String, String)> =
        sql(&app.db, "SELECT actor, detail FROM audit_events WHERE kind = 'permissions.changed' ORDER BY id").rows().await;
    assert_eq!(changed.len(), 2, "the first set, then the change: {changed:?}");
    let detail: Value = serde_json::from_str(&changed[1].1).unwrap();
    assert_eq!(detail["added"], json!(["graph:SecurityIncident.Read.All", "graph:ThreatHunting.Read.All"]));
    let (client, _) = staff(&app, ALEX).await;
    let list = client.get(app.url("/tenants")).send().await.unwrap().text().await.unwrap();
    let panel = visible_text(element(&list, "reconsent-panel"));
    assert!(panel.contains("The required permissions changed on"), "{panel}");
    assert!(panel.contains("graph:ThreatHunting.Read.All") && panel.contains("1 tenant needs re-consent"), "{panel}");
    assert!(panel.contains("Ask 1 customer to approve the new permissions"), "{panel}");
    // The tenant's status names the new permissions; a viewer sees the panel without the button.
    let contoso = client.get(app.url(&format!("/tenants/{DEMO_CONTOSO}"))).send().await.unwrap().text().await.unwrap();
    assert!(contoso.contains("needs re-consent") && contoso.contains("now also requires graph:SecurityIncident.Read.All"), "{contoso}");
    let (viewer, _) = staff(&app, SAM).await;
    let list = viewer.get(app.url("/tenants")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("id=\"reconsent-panel\"") && !list.contains("id=\"start-campaign\""));
    // A viewer cannot start a campaign.
    let csrf = hidden_value(&list, "csrf");
    let refused = viewer.post(app.url("/campaigns")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_campaign_pins_an_invite_emails_it_in_italian_refuses_another_tenant_and_completes_on_re_consent() {
    let app = migrating_app(Arc::new(ManualClock::at(OffsetDateTime::now_utc())), &["ops@fabrikam.example"]).await;
    grant(&app, DEMO_CONTOSO, defender_only()).await;
    assert_eq!(onboarded(&app, "Contoso", DEMO_CONTOSO, 100, MEGAN, "it").await, "needs_reconsent");
    let (client, csrf) = staff(&app, ALEX).await;
    let id = start_campaign(&app, &client, &csrf, &[("send", "yes")]).await;
    assert_eq!(progress_of(&app, &client, &id).await, ("0".into(), "1".into()));
    let page = client.get(app.url(&format!("/campaigns/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(opening_tag(&page, &format!("tenant-{DEMO_CONTOSO}")).contains("data-state=\"waiting\""), "{page}");
    // Starting again asks nobody twice: the tenant is already asked by a running campaign.
    let again = client.post(app.url("/campaigns")).form(&[("csrf", csrf.as_str()), ("send", "yes")]).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // The e-mail: Italian, what is new and what stays, a working link.
    let pass = worker::run_once(&app.state, app.state.clock.now()).await.unwrap();
    assert_eq!(pass.sent, 1, "{pass:?}");
    let mail = mail_to(&app, MEGAN);
    assert!(mail.subject.contains("chiede a Contoso di approvare nuove autorizzazioni"), "{}", mail.subject);
    let text = &mail.text;
    let (new, kept) = (text.find("ora chiede anche:").unwrap(), text.find("Già concesse").unwrap());
    let hunting = text.find("(ThreatHunting.Read.All)").unwrap();
    let incidents = text.find("(Incident.Read.All)").unwrap();
    assert!(new < hunting && hunting < kept && kept < incidents, "new permissions first, then those kept: {text}");
    assert!(visible_text(&mail.html).contains("ora chiede anche:"));
    let link = link_in(text, &app);
    let landing = app.client.get(&link).send().await.unwrap().text().await.unwrap();
    let asked = visible_text(element(&landing, "permissions"));
    assert!(asked.find("ora chiede anche").unwrap() < asked.find("Già concesse").unwrap(), "{asked}");
    assert!(asked.contains("ThreatHunting.Read.All"));

    // The invite is pinned: another tenant's admin is refused, and nothing changes.
    set_auto(&app, Some("lee@northwind.example"), Some("accept")).await;
    let other = http_client();
    let started = continue_from_landing(&other, &link).await;
    assert!(location(&started).contains(&format!("/{DEMO_CONTOSO}/oauth2/v2.0/authorize")), "sign-in against the pinned tenant");
    let refused = follow(&other, started).await.text().await.unwrap();
    assert!(refused.contains("AADSTS50020"), "{refused}");
    assert_eq!(progress_of(&app, &client, &id).await, ("0".into(), "1".into()));

    // Contoso's admin approves in the fake (which grants everything the app configures, Graph too).
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    let (status, result, _) = journey(&http_client(), &link).await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(progress_of(&app, &client, &id).await, ("1".into(), "1".into()));
    // The next pass of the worker completes the campaign and tells staff, once.
    worker::run_once(&app.state, app.state.clock.now()).await.unwrap();
    worker::run_once(&app.state, app.state.clock.now()).await.unwrap();
    let notices: Vec<_> = app.state.mailer.memory().unwrap().messages().into_iter().filter(|m| m.subject.contains("campaign")).collect();
    assert_eq!(notices.len(), 1, "{:?}", notices.iter().map(|m| &m.subject).collect::<Vec<_>>());
    assert!(notices[0].subject.contains("completed") && notices[0].to == "ops@fabrikam.example");
    assert!(notices[0].text.contains(&format!("/campaigns/{id}")));
    let completed: i64 = sql(&app.db, "SELECT COUNT(*) FROM audit_events WHERE kind = 'campaign.completed'").scalar().await;
    assert_eq!(completed, 1);
    let events: Vec<String> = sql(&app.db, "SELECT body FROM webhook_deliveries WHERE event_type = 'campaign.completed'").scalars().await;
    assert_eq!(events.len(), 1, "one campaign.completed event, queued with the completion");
    let event: Value = serde_json::from_str(&events[0]).unwrap();
    assert_eq!((event["data"]["campaign_id"].as_str(), event["data"]["created_by"].as_str()), (Some(id.as_str()), Some(ALEX)));
    assert_eq!(event["data"]["progress"]["reconsented"], 1);
    let list = client.get(app.url("/campaigns")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("completed"), "{list}");
}

#[tokio::test]
async fn resend_an_expired_link_and_a_tenant_re_consented_outside_the_campaign() {
    let clock = Arc::new(ManualClock::at(OffsetDateTime::now_utc()));
    let app = migrating_app(clock.clone(), &["ops@fabrikam.example"]).await;
    grant(&app, DEMO_CONTOSO, defender_only()).await;
    grant(&app, DEMO_FOURTH_COFFEE, defender_only()).await;
    assert_eq!(onboarded(&app, "Contoso", DEMO_CONTOSO, 100, MEGAN, "en").await, "needs_reconsent");
    assert_eq!(onboarded(&app, "Fourth Coffee", DEMO_FOURTH_COFFEE, 150, LIDIA, "en").await, "needs_reconsent");
    let (client, csrf) = staff(&app, ALEX).await;
    // Without "send": nothing queued until staff ask.
    let id = start_campaign(&app, &client, &csrf, &[]).await;
    assert_eq!(worker::run_once(&app.state, clock.now()).await.unwrap().sent, 0);
    let page = client.get(app.url(&format!("/campaigns/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("not sent yet") && page.contains("Ask again every tenant not re-consented (2)"), "{page}");
    let resent = client
        .post(app.url(&format!("/campaigns/{id}/tenants/{DEMO_CONTOSO}/resend")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resent.status(), StatusCode::SEE_OTHER);
    assert_eq!(worker::run_once(&app.state, clock.now()).await.unwrap().sent, 1);
    let first_link = link_in(&mail_to(&app, MEGAN).text, &app);

    // Fourth Coffee's admin approves in Entra directly (no link of the campaign): it counts as done.
    grant(&app, DEMO_FOURTH_COFFEE, demo_grant()["permissions"].clone()).await;
    let fourth = TenantId::parse(DEMO_FOURTH_COFFEE).unwrap();
    app.state.sweeper.check_now(Target::new(fourth, None)).await.unwrap();
    assert_eq!(progress_of(&app, &client, &id).await, ("1".into(), "2".into()));
    worker::run_once(&app.state, clock.now()).await.unwrap();
    let half: Vec<_> = app.state.mailer.memory().unwrap().messages().into_iter().filter(|m| m.subject.contains("half way")).collect();
    assert_eq!(half.len(), 1, "staff are told once the campaign passes 50 %");

    // A month later the link has expired: the campaign says so, the link is gone, and asking again
    // makes a new one that works.
    clock.advance(time::Duration::days(31));
    let (staff_again, csrf) = staff(&app, ALEX).await;
    let page = staff_again.get(app.url(&format!("/campaigns/{id}?state=link_expired"))).send().await.unwrap().text().await.unwrap();
    assert!(opening_tag(&page, &format!("tenant-{DEMO_CONTOSO}")).contains("data-state=\"link_expired\""), "{page}");
    assert_eq!(app.client.get(&first_link).send().await.unwrap().status(), StatusCode::GONE);
    // The weekly digest went out meanwhile (the campaign still waits for Contoso).
    worker::run_once(&app.state, clock.now()).await.unwrap();
    let digests = app.state.mailer.memory().unwrap().messages().into_iter().filter(|m| m.subject.contains("weekly digest")).count();
    assert_eq!(digests, 1);
    let resent = staff_again.post(app.url(&format!("/campaigns/{id}/resend"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(location(&resent), format!("/campaigns/{id}?resent=1"), "only the tenant not re-consented");
    assert_eq!(worker::run_once(&app.state, clock.now()).await.unwrap().sent, 1);
    let new_link = link_in(&mail_to(&app, MEGAN).text, &app);
    assert_ne!(new_link, first_link);
    assert_eq!(app.client.get(&new_link).send().await.unwrap().status(), StatusCode::OK);
    let page = staff_again.get(app.url(&format!("/campaigns/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(opening_tag(&page, &format!("tenant-{DEMO_CONTOSO}")).contains("data-state=\"waiting\""), "{page}");

    // The export: one row per tenant, with its state.
    let csv = staff_again.get(app.url(&format!("/campaigns/{id}/export.csv"))).send().await.unwrap().text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("tenant_id,customer,state,"));
    assert!(csv.contains(&format!("{DEMO_CONTOSO},Contoso,waiting,needs_reconsent,{MEGAN},en,")), "{csv}");
    assert!(csv.contains(&format!("{DEMO_FOURTH_COFFEE},Fourth Coffee,reconsented,verified,")), "{csv}");
}

#[tokio::test]
async fn the_command_line_creates_lists_and_shows_a_campaign() {
    let app = migrating_app(Arc::new(consent_portal::domain::SystemClock), &[]).await;
    grant(&app, DEMO_CONTOSO, defender_only()).await;
    assert_eq!(onboarded(&app, "Contoso", DEMO_CONTOSO, 100, MEGAN, "it").await, "needs_reconsent");
    let database = database_url(&app.state.config.database);
    let run = |args: &[&str]| {
        let output = command_in(app.dir.path())
            .args(args)
            .envs(serve_env(app.dir.path(), free_port()))
            .env("PORTAL_DATABASE_URL", &database)
            .env("PORTAL_REQUIRED_PERMISSIONS", consent_portal::config::DEMO_REQUIRED_PERMISSIONS)
            .output()
            .unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (code, _, stderr) = run(&["campaign", "create", "--all", "--needs-reconsent"]);
    assert_eq!(code, Some(2), "--all and --needs-reconsent conflict: {stderr}");
    let (code, _, stderr) = run(&["campaign", "create", "--language-default", "fr"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--language-default"), "{stderr}");
    let (code, stdout, stderr) = run(&["campaign", "create", "--needs-reconsent", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let created: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((created["tenants"].as_u64(), created["emails_queued"].as_u64()), (Some(1), Some(0)), "{created}");
    let id = created["id"].as_str().unwrap();
    let (code, _, stderr) = run(&["campaign", "create", "--needs-reconsent"]);
    assert_eq!(code, Some(1), "nobody left to ask");
    assert!(stderr.contains("No tenant to ask"), "{stderr}");
    let (code, stdout, _) = run(&["campaign", "list", "--json"]);
    assert_eq!(code, Some(0));
    let listed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[0]["progress"]["waiting"], 1);
    let (code, stdout, _) = run(&["campaign", "show", id, "--json"]);
    assert_eq!(code, Some(0));
    let shown: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(shown["tenants"][0]["tenant_id"], DEMO_CONTOSO);
    assert_eq!(shown["tenants"][0]["state"], "waiting");
    assert_eq!(shown["tenants"][0]["language"], "it");
    assert_eq!(shown["tenants"][0]["recipient"], MEGAN);
    let (code, _, _) = run(&["campaign", "show", "not-an-id"]);
    assert_eq!(code, Some(2));
}

#[tokio::test]
async fn the_campaign_follows_its_emails_and_links_wherever_they_change() {
    let app = migrating_app(Arc::new(ManualClock::at(OffsetDateTime::now_utc())), &[]).await;
    grant(&app, DEMO_CONTOSO, defender_only()).await;
    assert_eq!(onboarded(&app, "Contoso", DEMO_CONTOSO, 100, MEGAN, "en").await, "needs_reconsent");
    let (client, csrf) = staff(&app, ALEX).await;
    let id = start_campaign(&app, &client, &csrf, &[("send", "yes")]).await;
    let state = async || {
        let page = client.get(app.url(&format!("/campaigns/{id}"))).send().await.unwrap().text().await.unwrap();
        let row = opening_tag(&page, &format!("tenant-{DEMO_CONTOSO}")).to_owned();
        row[row.find("data-state=\"").unwrap() + 12..].split('"').next().unwrap().to_owned()
    };
    assert_eq!(state().await, "waiting");
    // The SMTP server refused the e-mail (as the worker records it): "e-mail failed"; staff resend it
    // from the Outbox page, and the campaign follows the copy.
    let (outbox_id, invite_id): (String, String) = sql(&app.db, "SELECT outbox_id, invite_id FROM campaign_tenants").row().await;
    sql(&app.db, "UPDATE outbox SET status = 'failed', last_reply = '550 no such mailbox' WHERE id = $1").bind(&outbox_id).execute().await;
    assert_eq!(state().await, "email_failed");
    let resent = client.post(app.url(&format!("/outbox/{outbox_id}/resend"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert!(resent.status().is_redirection(), "{}", resent.status());
    assert_eq!(state().await, "waiting");
    let followed: String = sql(&app.db, "SELECT outbox_id FROM campaign_tenants").scalar().await;
    assert_ne!(followed, outbox_id, "the copy");
    // Revoking the campaign's invite (from the Invites page) ends its link.
    let revoked = client.post(app.url(&format!("/invites/{invite_id}/revoke"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert!(revoked.status().is_redirection() || revoked.status().is_success(), "{}", revoked.status());
    assert_eq!(state().await, "link_expired");
}

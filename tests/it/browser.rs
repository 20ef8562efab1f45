//! The whole journey in a real browser: Debian's headless Chromium, driven through chromedriver,
//! against the demo setup (the portal and the built-in fake Microsoft, in this process over real HTTP)
//! using the fake's interactive pages — never its auto mode.
//!
//! Every page of every journey is checked (`harness::Browser::page`): a full-page screenshot at desktop
//! width and at 390 px (`target/screenshots/<journey>-<step>-{desktop,phone}.png`), no wider than the
//! phone, axe-core with no serious or critical violation (at both widths and in the dark theme), no
//! console error, and nothing loaded from an origin other than the portal's and the fake's. Journey 2 is
//! also completed with the keyboard alone.
//!
//! Needs `chromium`, `chromium-driver` and `npm ci --prefix tests/browser` (axe-core); without them
//! these tests are skipped with a line saying what to install, or fail in CI (`helpers::require`).

mod harness;

use std::panic::AssertUnwindSafe;

use crate::helpers::*;
use consent_portal::domain::{TenantId, Timestamp};
use fake_entra::demo::{DEMO_CLIENT_ID, DEMO_CONTOSO, DEMO_WOODGROVE};
use futures::FutureExt;
use harness::Browser;
use serde_json::json;
use thirtyfour::Key;
use time::OffsetDateTime;

const ADELE: &str = "adele@contoso.example";
const DIEGO: &str = "diego@woodgrove.example";

/// Runs `journey` against the portal (demo configuration, fresh database) and its fake, in a browser
/// allowed to load from both; the browser quits whatever happens.
async fn run(journey: &str, body: impl AsyncFnOnce(&TestApp, &mut Browser)) {
    run_on(journey, spawn_app, body).await;
}

/// `run` against the portal that `start` sets up and starts (a database with a history, say).
async fn run_on(journey: &str, start: impl AsyncFnOnce() -> TestApp, body: impl AsyncFnOnce(&TestApp, &mut Browser)) {
    let Some(tools) = require(harness::tools()) else { return };
    let app = start().await;
    let mut browser = harness::start(tools, journey, &[&app.base_url, &app.fake.url]).await;
    let outcome = AssertUnwindSafe(body(&app, &mut browser)).catch_unwind().await;
    browser.quit().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

fn account(upn: &str) -> String {
    format!("button[data-upn='{upn}']")
}

const CONTINUE: &str = "form[action^='/onboard/'] button[type=submit]";
const PICKER: &str = "form[action='/_fake/ui/login']";
const ACCEPT: &str = "form[action='/_fake/ui/consent'] button[name=decision][value=accept]";
const CANCEL: &str = "form[action='/_fake/ui/consent'] button[name=decision][value=cancel]";
const CONNECTED: &str = "[data-outcome=connected]";
const RETRY: &str = "form[action='/onboard/retry'] button[type=submit]";

/// Staff: the sign-in page, Microsoft's account picker, the tenants list.
async fn staff_sign_in(app: &TestApp, browser: &mut Browser, upn: &str) {
    browser.goto(&app.url("/staff/sign-in")).await;
    browser.page("staff-sign-in", "form[action='/staff/sign-in'] button[type=submit]").await.click().await.unwrap();
    browser.page("staff-pick-account", PICKER).await;
    browser.click(&account(upn)).await;
    // Staff land on the fleet overview (checked with axe like every page), then open the tenants.
    browser.page("overview", "#fleet-bar").await;
    assert!(browser.text(".site-nav").await.contains(upn));
    browser.click(".site-nav a[href='/tenants']").await;
    browser.page("tenants", "table.tenants").await;
}

/// Staff: a new invite for `customer` in `language` from the invites page; returns the link shown.
async fn staff_create_invite(browser: &mut Browser, customer: &str, pin: &str, language: &str) -> String {
    browser.click(".site-nav a[href='/invites']").await;
    browser.page("invites", "form[action='/invites']").await;
    browser.find("#customer").await.send_keys(customer).await.unwrap();
    browser.find("#email").await.send_keys("it@contoso.example").await.unwrap();
    browser.find("#pin").await.send_keys(pin).await.unwrap();
    browser.click(&format!("#language option[value='{language}']")).await;
    browser.click("form[action='/invites'] button[type=submit]").await;
    let link = browser.page("invite-created", "#invite-link").await;
    link.prop("value").await.unwrap().expect("the link is in the field")
}

/// The customer: from the landing page through Microsoft's picker and consent page to "Connected".
async fn connect(browser: &mut Browser, upn: &str) {
    browser.page("landing", CONTINUE).await.click().await.unwrap();
    browser.page("pick-account", PICKER).await;
    browser.click(&account(upn)).await;
    browser.page("consent", ACCEPT).await.click().await.unwrap();
    browser.page("connected", CONNECTED).await;
}

// ---------------------------------------------------------------------------------------------------
// Journeys 1, 2 and 5: staff invite, the customer's admin connects, staff see the tenant verified.

#[tokio::test]
async fn staff_invite_the_customer_connects_and_staff_see_the_tenant_verified() {
    run("j1-2-5", async |app: &TestApp, browser: &mut Browser| {
        // 1. Staff sign in, create an invite and copy its link.
        staff_sign_in(app, browser, ALEX).await;
        let shown = staff_create_invite(browser, "Contoso", "contoso.example", "en").await;
        assert!(shown.starts_with(&app.url("/onboard/")), "{shown}");
        let clipboard = json!({"origin": app.base_url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]});
        browser.cdp("Browser.grantPermissions", clipboard).await;
        browser.click("button[data-copy='invite-link']").await;
        browser.wait_until("the \"Copied.\" note", "return !document.querySelector('[data-copied-for=invite-link]').hidden", vec![]).await;
        let copied = browser
            .driver
            .execute_async("const done = arguments[0]; navigator.clipboard.readText().then(done, e => done('error: ' + e));", vec![])
            .await
            .unwrap();
        let link = copied.json().as_str().unwrap().to_owned();
        assert_eq!(link, shown, "the clipboard holds the link");

        // 2. The customer's admin, in their own browser, opens the link and connects.
        browser.forget_everyone().await;
        browser.goto(&link).await;
        connect(browser, MEGAN).await;
        let heading = browser.text(CONNECTED).await;
        assert!(heading.contains("Connected") && heading.contains(DEMO_CONTOSO), "{heading}");
        let page = browser.body_text().await;
        assert!(page.contains("Incident.Read.All") && page.contains("AdvancedHunting.Read.All"), "the granted roles: {page}");
        assert!(page.contains("Verified") && page.contains(MEGAN), "{page}");
        assert_eq!(browser.lang().await, "en");

        // 5. Staff see the tenant verified, open it, read the decoded token and check it now.
        browser.forget_everyone().await;
        staff_sign_in(app, browser, ALEX).await;
        let row = browser.text(&format!("table.tenants tr:has(a[href='/tenants/{DEMO_CONTOSO}'])")).await;
        assert!(row.contains("Contoso") && row.contains("verified"), "{row}");
        browser.click(&format!("table.tenants a[href='/tenants/{DEMO_CONTOSO}']")).await;
        browser.page("tenant", &format!("form[action='/tenants/{DEMO_CONTOSO}/check']")).await;
        assert!(browser.text("h1").await.contains("verified"));
        let matrix = browser.text("#api-matrix table").await;
        assert!(matrix.to_lowercase().contains("microsoft graph") && matrix.contains("✓ ThreatHunting.Read.All"), "the matrix: {matrix}");
        let token = browser.text("#token-defender table").await;
        assert!(token.contains("roles") && token.contains("Incident.Read.All") && token.contains("tid"), "the decoded token: {token}");
        assert!(!browser.driver.source().await.unwrap().contains("eyJ"), "never the raw token");
        let checks_before = browser.driver.find_all(thirtyfour::By::Css(".timeline .badge")).await.unwrap().len();
        browser.click(&format!("form[action='/tenants/{DEMO_CONTOSO}/check'] button[type=submit]")).await;
        browser.page("tenant-checked", "p.notice[role=status]").await;
        assert!(browser.text("p.notice[role=status]").await.contains("Checked just now"));
        let checks_after = browser.driver.find_all(thirtyfour::By::Css(".timeline .badge")).await.unwrap().len();
        assert_eq!(checks_after, checks_before + 1, "the new check is on the timeline");
    })
    .await;
}

// ---------------------------------------------------------------------------------------------------
// Journey 2, in Italian.

#[tokio::test]
async fn the_customer_connects_in_italian() {
    run("j2-it", async |app: &TestApp, browser: &mut Browser| {
        staff_sign_in(app, browser, ALEX).await;
        let link = staff_create_invite(browser, "Contoso", "", "it").await;
        browser.forget_everyone().await;

        browser.goto(&link).await;
        browser.page("landing", CONTINUE).await;
        assert_eq!(browser.lang().await, "it", "an Italian invite opens in Italian");
        assert!(browser.text(CONTINUE).await.contains("Continua con Microsoft"));
        // The switch in the page's header, both ways; the choice is remembered for the pages after.
        browser.click(".language-switch a[lang='en']").await;
        browser.page("landing-en", CONTINUE).await;
        assert_eq!(browser.lang().await, "en", "the switch changes to English");
        browser.click(".language-switch a[lang='it']").await;
        browser.find(CONTINUE).await;
        assert_eq!(browser.lang().await, "it");
        browser.goto(&link).await;
        browser.page("landing-again", CONTINUE).await.click().await.unwrap();
        // Microsoft is asked for Italian pages too (`ui_locales`), and the built-in fake obliges.
        browser.page("pick-account", PICKER).await;
        assert_eq!(browser.lang().await, "it");
        assert!(browser.body_text().await.contains("Scegli un account"));
        browser.click(&account(MEGAN)).await;
        browser.page("consent", ACCEPT).await;
        assert_eq!(browser.text(ACCEPT).await, "Accetta");
        browser.click(ACCEPT).await;
        browser.page("connected", CONNECTED).await;
        assert_eq!(browser.lang().await, "it");
        let heading = browser.text(CONNECTED).await;
        assert!(heading.contains("Collegato") && heading.contains(DEMO_CONTOSO), "{heading}");
        let page = browser.body_text().await;
        assert!(page.contains("Verificato") && page.contains("Ricevuta del consenso"), "{page}");
    })
    .await;
}

// ---------------------------------------------------------------------------------------------------
// Journey 2, with the keyboard alone.

#[tokio::test]
async fn the_customer_connects_with_the_keyboard_alone() {
    run("j2-keyboard", async |app: &TestApp, browser: &mut Browser| {
        let (_, link) = create_invite(app, "Contoso").await;
        browser.goto(&link).await;
        browser.find(CONTINUE).await;
        browser.tab_to(CONTINUE).await;
        browser.press(Key::Enter).await;
        browser.find(PICKER).await;
        browser.tab_to(&account(MEGAN)).await;
        browser.press(Key::Enter).await;
        browser.find(ACCEPT).await;
        // Past Accept and back with Shift+Tab, then Space: buttons answer both keys.
        browser.tab_to(ACCEPT).await;
        browser.press(Key::Tab).await;
        browser.shift_tab().await;
        browser.press(Key::Space).await;
        let heading = browser.text(CONNECTED).await;
        assert!(heading.contains("Connected") && heading.contains(DEMO_CONTOSO), "{heading}");
    })
    .await;
}

// ---------------------------------------------------------------------------------------------------
// Journey 3: a user who is not an administrator.

#[tokio::test]
async fn a_non_admin_is_told_why_and_can_try_again_with_an_admin() {
    run("j3-non-admin", async |app: &TestApp, browser: &mut Browser| {
        let (_, link) = create_invite(app, "Contoso").await;
        browser.goto(&link).await;
        browser.page("landing", CONTINUE).await.click().await.unwrap();
        browser.page("pick-account", PICKER).await;
        browser.click(&account(ADELE)).await;

        // Microsoft's page (the fake's): AADSTS90093, and a link back to the application.
        browser.error_page("microsoft-not-admin", "a.fake-button", 403).await;
        assert!(browser.body_text().await.contains("AADSTS90093"));
        browser.click("a.fake-button").await;

        // The portal explains it and offers to try again.
        browser.error_page("not-admin", RETRY, 403).await;
        let explanation = browser.text("main").await;
        assert!(explanation.contains("An administrator needs to approve this"), "{explanation}");
        assert!(explanation.contains("Global Administrator") && explanation.contains("AADSTS90093"), "{explanation}");
        browser.click(RETRY).await;

        // The retry asks which account: an administrator this time.
        browser.page("retry-pick-account", PICKER).await;
        browser.click(&account(MEGAN)).await;
        browser.page("retry-consent", ACCEPT).await.click().await.unwrap();
        browser.page("retry-connected", CONNECTED).await;
        assert!(browser.body_text().await.contains(MEGAN));
    })
    .await;
}

// ---------------------------------------------------------------------------------------------------
// Journey 4: the admin cancels.

#[tokio::test]
async fn the_admin_cancels_and_sees_the_cancel_page() {
    run("j4-cancel", async |app: &TestApp, browser: &mut Browser| {
        let (_, link) = create_invite(app, "Contoso").await;
        browser.goto(&link).await;
        browser.page("landing", CONTINUE).await.click().await.unwrap();
        browser.page("pick-account", PICKER).await;
        browser.click(&account(MEGAN)).await;
        browser.page("consent", CANCEL).await.click().await.unwrap();
        browser.page("cancelled", RETRY).await;
        let page = browser.text("main").await;
        assert!(page.contains("You cancelled the approval") && page.contains("Nothing was connected"), "{page}");
        let tenants: i64 = sql(&app.db, "SELECT COUNT(*) FROM tenants").scalar().await;
        assert_eq!(tenants, 0, "nothing recorded");
    })
    .await;
}

// ---------------------------------------------------------------------------------------------------
// Journey 6: a tenant with missing roles, and a re-consent link that works.

#[tokio::test]
async fn missing_roles_show_on_the_dashboard_and_the_re_consent_link_works() {
    run("j6-missing-roles", async |app: &TestApp, browser: &mut Browser| {
        // Woodgrove's admin consents, but the tenant's policy grants only Incident.Read.All.
        let (_, link) = create_invite(app, "Woodgrove").await;
        browser.goto(&link).await;
        connect(browser, DIEGO).await;
        let facts = browser.text("dl.facts").await;
        assert!(facts.contains("AdvancedHunting.Read.All"), "still to appear: {facts}");

        // Set-up: that was over an hour ago, so the role is missing, not propagating.
        let earlier = consent_portal::db::timestamp_text(OffsetDateTime::now_utc() - time::Duration::hours(2));
        for table in ["tenants", "consents"] {
            sql(&app.db, &format!("UPDATE {table} SET consented_at = $1 WHERE tenant_id = $2"))
                .bind(&earlier)
                .bind(DEMO_WOODGROVE)
                .execute()
                .await;
        }

        browser.forget_everyone().await;
        staff_sign_in(app, browser, ALEX).await;
        let tenant_link = format!("table.tenants a[href='/tenants/{DEMO_WOODGROVE}']");
        browser.click(&tenant_link).await;
        browser.click(&format!("form[action='/tenants/{DEMO_WOODGROVE}/check'] button[type=submit]")).await;
        browser.page("tenant-missing-roles", "p.notice[role=status]").await;
        assert!(browser.text("h1").await.contains("missing roles"));
        let facts = browser.text("dl.facts").await;
        // The page names each role with its API (`defender:`), or bare as before the portal knew several.
        let shown =
            |mark: &str, role: &str| [format!("{mark} {role}"), format!("{mark} defender:{role}")].iter().any(|s| facts.contains(s));
        assert!(shown("✗", "AdvancedHunting.Read.All") && shown("✓", "Incident.Read.All"), "{facts}");
        browser.click("a[href='/tenants']").await;
        browser.page("tenants-missing-roles", &tenant_link).await;
        let row = browser.text(&format!("table.tenants tr:has(a[href='/tenants/{DEMO_WOODGROVE}'])")).await;
        assert!(row.contains("missing roles") && row.contains("AdvancedHunting.Read.All"), "{row}");

        // The re-consent link.
        browser.click(&tenant_link).await;
        browser.click(&format!("form[action='/tenants/{DEMO_WOODGROVE}/reconsent'] button[type=submit]")).await;
        let shown = browser.page("re-consent-link", "#invite-link").await.prop("value").await.unwrap().unwrap();
        assert!(shown.starts_with(&app.url("/onboard/")), "{shown}");

        // Set-up: Woodgrove's admin lifts the policy that held the role back.
        app.fake.fake.update_directory(|directory| {
            let woodgrove = directory.tenants.iter_mut().find(|t| t.id.to_string() == DEMO_WOODGROVE).unwrap();
            woodgrove.grantable_permissions = Default::default();
        });
        browser.forget_everyone().await;
        browser.goto(&shown).await;
        browser.page("re-consent-landing", CONTINUE).await;
        let landing = browser.text("main").await;
        assert!(landing.contains("Woodgrove") && landing.contains(DEMO_WOODGROVE), "pinned to the tenant: {landing}");
        browser.click(CONTINUE).await;
        browser.page("re-consent-pick-account", PICKER).await;
        browser.click(&account(DIEGO)).await;
        browser.page("re-consent-consent", ACCEPT).await.click().await.unwrap();
        browser.page("re-consent-connected", CONNECTED).await;
        let page = browser.body_text().await;
        assert!(page.contains("Verified") && page.contains(DEMO_WOODGROVE), "{page}");
        let consents: i64 = sql(&app.db, "SELECT COUNT(*) FROM consents WHERE tenant_id = $1").bind(DEMO_WOODGROVE).scalar().await;
        assert_eq!(consents, 2, "both consents kept");
    })
    .await;
}

// ---------------------------------------------------------------------------------------------------
// Journey 7: the required permissions grew; staff start a re-consent campaign, a customer re-consents
// from its e-mail, in Italian, and the campaign's progress moves.

/// The portal started after the required permissions grew: 200 days ago it ran with the Defender XDR
/// API's roles only (recorded as that start recorded them), and now it requires Microsoft Graph's too.
async fn spawn_app_after_permissions_grew() -> TestApp {
    spawn_app_with_history(&[(DEFENDER_ONLY, 200)]).await
}

/// Contoso, consented 100 days ago (after the old set, before Microsoft Graph's roles were required),
/// invited in Italian at Megan's address, granted only the Defender XDR API's roles in the fake, and
/// checked once: it needs re-consent.
async fn contoso_needs_re_consent(app: &TestApp) {
    let tenant = TenantId::parse(DEMO_CONTOSO).unwrap();
    let consented_at = OffsetDateTime::now_utc() - time::Duration::days(100);
    consent_portal::db::monitoring::seed_tenants(&app.state.db, "Contoso", &[tenant], Timestamp::new(consented_at)).await.unwrap();
    Invite::new("Contoso").send_to(MEGAN).language("it").create(&app.db).await;
    consent_portal::email::worker::run_once(&app.state, OffsetDateTime::now_utc()).await.unwrap();
    let grant = json!({"permissions": {"defender": ["Incident.Read.All", "AdvancedHunting.Read.All"]}});
    let url = app.fake_url(&format!("/_fake/tenants/{DEMO_CONTOSO}/grants/{DEMO_CLIENT_ID}"));
    let response = app.client.put(url).json(&grant).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT);
    let target = consent_portal::monitor::sweep::Target::new(tenant, Some(consented_at));
    let outcome = app.state.sweeper.check_now(target).await.unwrap();
    assert_eq!(outcome.status.as_str(), "needs_reconsent", "{}", outcome.reason);
}

/// The onboarding link in an e-mail's text.
fn link_in(text: &str, app: &TestApp) -> String {
    let start = text.find(&format!("{}/onboard/", app.base_url)).unwrap_or_else(|| panic!("no link in {text}"));
    text[start..].split_whitespace().next().unwrap().to_owned()
}

/// The text of every element matching `css`, one per line.
async fn texts(browser: &Browser, css: &str) -> String {
    let script = "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText).join('\\n')";
    browser.js(script, vec![json!(css)]).await.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn staff_start_a_campaign_a_customer_re_consents_in_italian_and_the_progress_moves() {
    run_on("j7-campaign", spawn_app_after_permissions_grew, async |app: &TestApp, browser: &mut Browser| {
        contoso_needs_re_consent(app).await;

        // Staff see the panel and ask the customers that need re-consent.
        staff_sign_in(app, browser, ALEX).await;
        browser.page("campaign-panel", "#reconsent-panel").await;
        let panel = browser.text("#reconsent-panel").await;
        assert!(panel.contains("graph:SecurityIncident.Read.All") && panel.contains("1 tenant needs re-consent"), "{panel}");
        assert!(browser.find("#reconsent-panel input[name=send]").await.is_selected().await.unwrap(), "e-mails are on");
        assert_eq!(browser.text("#start-campaign").await, "Ask 1 customer to approve the new permissions");
        browser.click("#start-campaign").await;
        browser.page("campaign-started", "#campaign-summary").await;
        let campaign = browser.url().await;
        assert!(campaign.starts_with(&app.url("/campaigns/")), "{campaign}");
        let summary = browser.find("#campaign-summary").await;
        assert_eq!(summary.attr("data-reconsented").await.unwrap().as_deref(), Some("0"));
        assert_eq!(summary.attr("data-total").await.unwrap().as_deref(), Some("1"));
        assert!(summary.text().await.unwrap().contains("0 of 1 tenant re-consented"));
        browser.find("#campaign-bar").await;
        let waiting = browser.find("#count-waiting").await;
        assert_eq!(waiting.attr("data-count").await.unwrap().as_deref(), Some("1"));
        let row = format!("table.campaign-tenants tr#tenant-{DEMO_CONTOSO}");
        assert_eq!(browser.find(&row).await.attr("data-state").await.unwrap().as_deref(), Some("waiting"));

        // The e-mail goes, in the customer's language.
        consent_portal::email::worker::run_once(&app.state, OffsetDateTime::now_utc()).await.unwrap();
        let messages = app.state.mailer.memory().unwrap().messages();
        let email = messages.iter().find(|m| m.to.contains(MEGAN)).expect("an e-mail to Megan");
        assert!(email.subject.contains("nuove autorizzazioni"), "{}", email.subject);
        let link = link_in(&email.text, app);

        // Megan, in her own browser, sees what is new and what stays, and approves.
        browser.forget_everyone().await;
        browser.goto(&link).await;
        browser.page("campaign-landing-it", "#permissions-asked").await;
        assert_eq!(browser.lang().await, "it");
        assert!(browser.text("#permissions-asked").await.contains("ora chiede anche"));
        assert!(browser.text("#permissions-kept").await.contains("Già concesse"));
        let asked = texts(browser, "ul.roles:not(.kept)").await;
        let kept = texts(browser, "ul.roles.kept").await;
        assert!(asked.contains("(SecurityIncident.Read.All)") && asked.contains("(ThreatHunting.Read.All)"), "{asked}");
        assert!(!asked.contains("(Incident.Read.All)") && !asked.contains("(AdvancedHunting.Read.All)"), "{asked}");
        assert!(kept.contains("(Incident.Read.All)") && kept.contains("(AdvancedHunting.Read.All)"), "{kept}");
        browser.click(CONTINUE).await;
        browser.page("campaign-pick-account", PICKER).await;
        browser.click(&account(MEGAN)).await;
        browser.page("campaign-consent", ACCEPT).await.click().await.unwrap();
        browser.page("campaign-connected", CONNECTED).await;
        let heading = browser.text(CONNECTED).await;
        assert!(heading.contains("Collegato") && heading.contains(DEMO_CONTOSO), "{heading}");

        // Staff follow the campaign: the tenant re-consented.
        browser.forget_everyone().await;
        staff_sign_in(app, browser, ALEX).await;
        browser.goto(&campaign).await;
        browser.page("campaign-progress", "#campaign-summary").await;
        let summary = browser.find("#campaign-summary").await;
        assert_eq!(summary.attr("data-reconsented").await.unwrap().as_deref(), Some("1"));
        assert!(summary.text().await.unwrap().contains("1 of 1 tenant re-consented"));
        let reconsented = browser.find("#count-reconsented").await;
        assert_eq!(reconsented.attr("data-count").await.unwrap().as_deref(), Some("1"));
        assert_eq!(browser.find(&row).await.attr("data-state").await.unwrap().as_deref(), Some("reconsented"));
    })
    .await;
}

// ---------------------------------------------------------------------------------------------------
// The checks themselves catch what they are for.

#[tokio::test]
async fn the_page_checks_catch_violations_console_errors_and_foreign_requests() {
    run("self-test", async |_: &TestApp, browser: &mut Browser| {
        // A page that breaks every rule: no language, an unnamed button, a console error, and a request
        // to another origin (which the browser cannot even resolve).
        let bad = "<!doctype html><html><head><title>bad</title></head><body><main>\
                   <button></button><img alt='' src='http://elsewhere.example/pixel.png'></main></body></html>";
        browser.goto(&format!("data:text/html,{bad}")).await;
        browser.find("button").await;
        browser.js("console.error('on purpose')", vec![]).await;
        let violations = browser.serious_violations().await;
        let ids: Vec<&str> = violations.iter().filter_map(|v| v["id"].as_str()).collect();
        assert!(ids.contains(&"button-name") && ids.contains(&"html-has-lang"), "{ids:?}");
        let errors = browser.console_errors().await;
        assert!(errors.iter().any(|e| e.contains("on purpose")), "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("elsewhere.example")), "{errors:?}");
        let foreign = browser.foreign_requests().await;
        assert!(foreign.iter().any(|u| u.contains("elsewhere.example")), "{foreign:?}");
    })
    .await;
}

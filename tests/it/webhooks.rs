//! Signed webhooks over real components: the portal's router and its webhook worker, the built-in
//! fake identity platform, and a receiver (`tests/webhook_receiver.py`) that verifies every signature
//! with the Standard Webhooks reference library for Python — an implementation independent of the
//! portal's. Without python3 and its `standardwebhooks` package the tests that need it are skipped,
//! saying so (in CI they fail: `helpers::require`).

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::helpers::*;
use consent_portal::config::{WebhookEndpoint, WebhookSecret, WebhookSettings};
use consent_portal::db;
use consent_portal::domain::{TenantId, Timestamp};
use consent_portal::webhooks::{self, Event, worker};
use fake_entra::demo::{DEMO_CLIENT_ID, DEMO_CONTOSO};
use reqwest::StatusCode;
use serde_json::Value;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// ---------------------------------------------------------------------------------------------------
// The receiver

/// `tests/webhook_receiver.py` on 127.0.0.1:`port`; what it received is read from its output.
struct Receiver {
    child: Child,
    port: u16,
    seen: Arc<Mutex<Vec<Value>>>,
}

fn python() -> Option<PathBuf> {
    require(python_with(&["standardwebhooks"], "pip install standardwebhooks"))
}

impl Receiver {
    fn start(python: &PathBuf) -> Self {
        let port = free_port();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/webhook_receiver.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .arg(SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the webhook receiver");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let ready: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        assert_eq!(ready["ready"], true, "the webhook receiver did not start");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(serde_json::from_str(&line).unwrap());
            }
        });
        Self { child, port, seen }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks?token=receiver-secret-token", self.port)
    }

    /// Every request received, oldest first.
    fn seen(&self) -> Vec<Value> {
        self.seen.lock().unwrap().clone()
    }

    /// The events answered 204, oldest first.
    fn accepted(&self) -> Vec<Value> {
        self.seen().into_iter().filter(|e| e["answered"] == 204).collect()
    }

    /// Makes the next `count` deliveries answer 500.
    async fn fail_next(&self, count: usize) {
        let url = format!("http://127.0.0.1:{}/_fail?count={count}", self.port);
        assert_eq!(http_client().post(url).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    }

    /// Waits until `count` requests were reported (the receiver reports each before it answers, but
    /// its report is read in the background).
    async fn wait_for_seen(&self, count: usize) -> Vec<Value> {
        eventually(&format!("{count} requests at the receiver"), async || {
            let seen = self.seen();
            (seen.len() >= count).then_some(seen)
        })
        .await
    }

    async fn wait_for_accepted(&self, count: usize) -> Vec<Value> {
        eventually(&format!("{count} events accepted by the receiver"), async || {
            let accepted = self.accepted();
            (accepted.len() >= count).then_some(accepted)
        })
        .await
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Webhooks to `receiver`, retried after a second (the shortest wait the stored times can say).
fn webhook_settings(receiver: &Receiver) -> WebhookSettings {
    WebhookSettings {
        endpoints: vec![WebhookEndpoint::parse(&receiver.url()).unwrap()],
        secret: Some(WebhookSecret::parse(SECRET).unwrap()),
        retry_base: Duration::from_secs(1),
        ..WebhookSettings::default()
    }
}

/// Webhooks to `receiver`, retried after 2 s at least (1.6 with the jitter): stored to the second, a
/// retry after 1 s could be due again within the pass that scheduled it.
fn slow_retry_settings(receiver: &Receiver) -> WebhookSettings {
    WebhookSettings { retry_base: Duration::from_secs(2), ..webhook_settings(receiver) }
}

async fn hooked_app(receiver: &Receiver) -> TestApp {
    let settings = webhook_settings(receiver);
    spawn_app_configured(move |config| config.webhooks = settings).await
}

fn types(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["event"]["type"].as_str().unwrap().to_owned()).collect()
}

/// Every request the receiver got verified with the reference library.
fn assert_all_verified(receiver: &Receiver) {
    for entry in receiver.seen() {
        assert_eq!(entry["verified"], true, "{entry}");
    }
}

// ---------------------------------------------------------------------------------------------------
// Tests

/// A tenant's life, through the portal's pages and checks: connected, degraded (its consent removed),
/// connected again and recovered, removed — each event signed, in order, and the first one retried
/// after the receiver's 500 under the same webhook-id.
#[tokio::test]
async fn a_tenants_events_are_signed_retried_and_in_order() {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(&python);
    let app = hooked_app(&receiver).await;
    let _worker = worker::spawn((&app.state).into());
    receiver.fail_next(1).await;

    let (_, url) = create_invite(&app, Invite::new("Contoso")).await;
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    let (status, html, _) = journey(&app.client, &url).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let accepted = receiver.wait_for_accepted(1).await;
    let seen = receiver.seen();
    assert_eq!(seen[0]["answered"], 500);
    assert_eq!(seen[0]["webhook_id"], accepted[0]["webhook_id"], "the retry carries the same webhook-id");
    let connected = &accepted[0]["event"];
    assert_eq!(connected["type"], "tenant.connected");
    assert_eq!(connected["data"]["tenant_id"], DEMO_CONTOSO);
    assert_eq!(connected["data"]["customer"], "Contoso");
    assert!(connected["data"]["status"].is_string() && connected["data"]["roles_missing"].is_array(), "{connected}");
    assert!(connected["timestamp"].is_string());

    // The admin removes the consent in their tenant; the next check finds it.
    let tenant = TenantId::parse(DEMO_CONTOSO).unwrap();
    app.client.delete(app.fake_url(&format!("/_fake/tenants/{DEMO_CONTOSO}/grants/{DEMO_CLIENT_ID}"))).send().await.unwrap();
    consent_portal::tenants::check_now(&app.state.db, &app.state.sweeper, tenant, "test").await.unwrap();
    // They consent again through a re-consent link: connected, and its first check is a recovery.
    let (_, created) = consent_portal::tenants::reconsent(&app.state.db, &*app.state.clock, tenant, "test").await.unwrap();
    let (status, html, _) = journey(&app.client, &created.url(&app.base_url)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    // Staff remove the tenant from the dashboard.
    let (staff_client, csrf) = staff(&app, ALEX).await;
    let removed = staff_client
        .post(app.url(&format!("/tenants/{DEMO_CONTOSO}/remove")))
        .form(&[("csrf", csrf.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::OK);

    let accepted = receiver.wait_for_accepted(5).await;
    assert_eq!(types(&accepted), ["tenant.connected", "tenant.degraded", "tenant.connected", "tenant.recovered", "tenant.removed"]);
    let degraded = &accepted[1]["event"]["data"];
    assert_eq!(degraded["previous_status"], "verified");
    assert_eq!(degraded["status"], "consent_removed");
    let recovered = &accepted[3]["event"]["data"];
    assert_eq!((recovered["status"].as_str(), recovered["roles_missing"].as_array().map(Vec::len)), (Some("verified"), Some(0)));
    assert_eq!(accepted[4]["event"]["data"]["customer"], "Contoso");
    let mut ids: Vec<&str> = accepted.iter().map(|e| e["webhook_id"].as_str().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 5, "one webhook-id per event");
    assert_all_verified(&receiver);

    // Staff see each delivery; no page or row holds the receiver's URL (its token).
    let page = staff_client.get(app.url("/webhooks")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("tenant.recovered") && page.contains("delivered") && page.contains("HTTP 204"), "{page}");
    assert!(!page.contains("receiver-secret-token"), "the URL's token is never shown");
    let stored: Vec<(String, String)> = sql(&app.db, "SELECT endpoint, endpoint_origin FROM webhook_deliveries").rows().await;
    assert!(stored.iter().all(|(key, origin)| !key.contains("token") && !origin.contains("token")));
}

/// A tenant's later event waits while its earlier one is retried; another tenant's does not.
#[tokio::test]
async fn a_tenants_later_event_waits_for_its_earlier_one() {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(&python);
    let settings = slow_retry_settings(&receiver);
    let app = spawn_app_configured(move |config| config.webhooks = settings).await;
    let settings = app.state.webhooks.settings().clone();
    let (a, b) = (TenantId::parse(DEMO_CONTOSO).unwrap(), TenantId::parse("22222222-2222-2222-2222-222222222222").unwrap());
    let now = Timestamp::new(time::OffsetDateTime::now_utc());
    let event = |tenant: TenantId, n: i64| Event {
        event_type: webhooks::EventType::TenantDegraded,
        tenant_id: Some(tenant),
        data: serde_json::json!({ "tenant_id": tenant, "n": n }),
        at: now,
    };
    let mut tx = db::begin_write(&app.state.db).await.unwrap();
    for (tenant, n) in [(a, 1), (a, 2), (b, 1)] {
        webhooks::enqueue(&mut tx, &settings, &event(tenant, n), None).await.unwrap();
    }
    tx.commit().await.unwrap();

    receiver.fail_next(1).await;
    let context: worker::Context = (&app.state).into();
    let pass = worker::run_once(&context).await.unwrap();
    assert_eq!((pass.delivered, pass.retried), (1, 1));
    let order = |events: &[Value]| -> Vec<(String, i64)> {
        events
            .iter()
            .map(|e| (e["event"]["data"]["tenant_id"].as_str().unwrap().to_owned(), e["event"]["data"]["n"].as_i64().unwrap()))
            .collect()
    };
    assert_eq!(order(&receiver.wait_for_seen(2).await), [(a.to_string(), 1), (b.to_string(), 1)], "a's second event waits for its first");
    // The worker sleeps until a's retry, not on a's second event (due, but held back).
    let keys = vec![settings.endpoints[0].key.clone()];
    let next = db::webhooks::next_due(&app.db, &keys).await.unwrap().unwrap();
    assert!(next > now, "{next} is the retry's time");

    // After the wait, a's first event, then its second.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    worker::run_once(&context).await.unwrap();
    assert_eq!(order(&receiver.wait_for_accepted(3).await), [(b.to_string(), 1), (a.to_string(), 1), (a.to_string(), 2)]);
    assert_all_verified(&receiver);
}

/// An event not accepted by the end of its retry window is given up (failed), and the tenant's next
/// event goes on.
#[tokio::test]
async fn an_event_is_given_up_after_its_window_and_the_next_one_goes_on() {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(&python);
    // A window of nothing: the first failure is the last (the default is 24 hours).
    let settings = WebhookSettings { give_up_after: Duration::ZERO, ..webhook_settings(&receiver) };
    let app = spawn_app_configured(move |config| config.webhooks = settings).await;
    let tenant = TenantId::parse(DEMO_CONTOSO).unwrap();
    let now = Timestamp::new(time::OffsetDateTime::now_utc());
    let mut tx = db::begin_write(&app.state.db).await.unwrap();
    for n in [1, 2] {
        let event = Event {
            event_type: webhooks::EventType::TenantDegraded,
            tenant_id: Some(tenant),
            data: serde_json::json!({ "n": n }),
            at: now,
        };
        webhooks::enqueue(&mut tx, app.state.webhooks.settings(), &event, None).await.unwrap();
    }
    tx.commit().await.unwrap();
    receiver.fail_next(1).await;
    let pass = worker::run_once(&(&app.state).into()).await.unwrap();
    assert_eq!((pass.failed, pass.delivered), (1, 1));
    let rows = db::webhooks::list_recent(&app.db, 10).await.unwrap();
    let first = rows.iter().find(|row| row.body.contains(r#""n":1"#)).unwrap();
    assert_eq!(first.status, "failed");
    assert_eq!(first.last_http_status, Some(500));
    assert!(first.last_error.as_deref().unwrap_or_default().starts_with("given up after 1 attempts"), "{first:?}");
    assert_eq!(receiver.wait_for_accepted(1).await[0]["event"]["data"]["n"], 2);
}

/// A restart (a new application on the same database) sends nothing delivered again, retries what
/// was waiting and what a crash left half-sent, each under the webhook-id it had.
#[tokio::test]
async fn a_restart_sends_no_event_twice_and_keeps_the_webhook_ids() {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(&python);
    let first_settings = slow_retry_settings(&receiver);
    let mut first = spawn_app_configured(move |config| config.webhooks = first_settings).await;
    let settings = first.state.webhooks.settings().clone();
    let now = || Timestamp::new(time::OffsetDateTime::now_utc());
    let queue = async |db: &db::Pool, name: &str| {
        let mut tx = db::begin_write(db).await.unwrap();
        let id = webhooks::enqueue(&mut tx, &settings, &Event::test(name, now()), None).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        id
    };
    let retried = queue(&first.state.db, "retried").await;
    let delivered = queue(&first.state.db, "delivered").await;
    receiver.fail_next(1).await;
    worker::run_once(&(&first.state).into()).await.unwrap();
    assert_eq!(receiver.wait_for_seen(2).await.len(), 2);
    assert_eq!(receiver.accepted().len(), 1);
    // A crash while posting: claimed, never answered.
    let half_sent = queue(&first.state.db, "half-sent").await;
    // (The retry is claimed too: it was being posted again as well.)
    let keys = vec![settings.endpoints[0].key.clone()];
    let mut claimed = Vec::new();
    for _ in 0..2 {
        let mut tx = db::begin_write(&first.state.db).await.unwrap();
        claimed.push(db::webhooks::claim_next(&mut tx, &keys, now() + time::Duration::hours(1)).await.unwrap().unwrap().message_id);
        tx.commit().await.unwrap();
    }
    // The crash was a while ago: replicas sharing PostgreSQL take over a claim only once it is old.
    let an_hour_ago = (now() - time::Duration::hours(1)).to_string();
    sql(&first.db, "UPDATE webhook_deliveries SET last_attempt_at = $1 WHERE status = 'sending'").bind(an_hour_ago).execute().await;
    claimed.sort();
    let mut expected = vec![retried.clone(), half_sent.clone()];
    expected.sort();
    assert_eq!(claimed, expected);

    // The restart: the first application stops, a second opens the same database.
    let dir = std::mem::replace(&mut first.dir, tempfile::tempdir().unwrap());
    let database = first.state.config.database.clone();
    first.db.close().await;
    drop(first);
    let pool = consent_portal::db::open(&database).await.unwrap();
    let settings_again = webhook_settings(&receiver);
    let second = spawn_app_full(dir, database, pool, move |config| config.webhooks = settings_again).await;
    let _worker = worker::spawn((&second.state).into());
    let accepted = receiver.wait_for_accepted(3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let accepted_ids: Vec<String> = receiver.accepted().iter().map(|e| e["webhook_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(accepted.len(), 3);
    let mut sorted = accepted_ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 3, "no webhook-id accepted twice: {accepted_ids:?}");
    assert_eq!(accepted_ids[0], delivered);
    assert!(accepted_ids.contains(&retried) && accepted_ids.contains(&half_sent), "{accepted_ids:?}");
    assert_all_verified(&receiver);
    let statuses: Vec<String> = sql(&second.db, "SELECT status FROM webhook_deliveries").scalars().await;
    assert!(statuses.iter().all(|s| s == "delivered"), "{statuses:?}");
}

/// Staff send a test event and resend a delivered one (the same webhook-id), with the form's token.
#[tokio::test]
async fn staff_send_a_test_event_and_resend_one() {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(&python);
    let app = hooked_app(&receiver).await;
    let _worker = worker::spawn((&app.state).into());
    let (client, csrf) = staff(&app, ALEX).await;
    let forged = client.post(app.url("/webhooks/test")).form(&[("csrf", "forged")]).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let sent = client.post(app.url("/webhooks/test")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let accepted = receiver.wait_for_accepted(1).await;
    assert_eq!(accepted[0]["event"]["type"], "webhook.test");
    assert_eq!(accepted[0]["event"]["data"]["requested_by"], ALEX);

    let id: i64 = sql(&app.db, "SELECT id FROM webhook_deliveries").scalar().await;
    eventually("the delivery recorded", async || {
        let row = db::webhooks::find(&app.db, id).await.unwrap().unwrap();
        (row.status == "delivered").then_some(())
    })
    .await;
    let page = client.get(app.url("/webhooks")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("webhook.test") && page.contains("delivered") && page.contains(&format!("/webhooks/{id}/resend")), "{page}");
    let resent = client.post(app.url(&format!("/webhooks/{id}/resend"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(resent.status(), StatusCode::SEE_OTHER);
    let accepted = receiver.wait_for_accepted(2).await;
    assert_eq!(accepted[1]["webhook_id"], accepted[0]["webhook_id"], "a resend is the same event");
    assert_all_verified(&receiver);
}

/// The credential-expiry check's event: which credential, when it expires, the days left.
#[tokio::test]
async fn a_credential_expiring_event_names_the_credential_and_its_days_left() {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(&python);
    let app = hooked_app(&receiver).await;
    let now = Timestamp::new(time::OffsetDateTime::now_utc());
    let expires_at = now + time::Duration::days(7);
    let mut tx = db::begin_write(&app.state.db).await.unwrap();
    webhooks::enqueue_credential_expiring(&mut tx, app.state.webhooks.settings(), "client secret (2026)", "secret", expires_at, 7, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    worker::run_once(&(&app.state).into()).await.unwrap();
    let accepted = receiver.wait_for_accepted(1).await;
    assert_eq!(accepted.len(), 1);
    let event = &accepted[0]["event"];
    assert_eq!(event["type"], "credential.expiring");
    assert_eq!(event["data"]["label"], "client secret (2026)");
    assert_eq!(event["data"]["kind"], "secret");
    assert_eq!(event["data"]["days_left"], 7);
    assert_eq!(event["data"]["expires_at"], expires_at.to_string());
    assert_all_verified(&receiver);
}

/// The real binary refuses to start with a plain-http receiver that is not on loopback, naming the
/// variable, without repeating the URL's token.
#[test]
fn a_non_loopback_http_receiver_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let output = command_in(dir.path())
        .arg("serve")
        .envs(serve_env(dir.path(), free_port()))
        .env("PORTAL_WEBHOOK_URLS", "https://hooks.example.com/a, http://hooks.example.com/b?token=s3cret-token")
        .env("PORTAL_WEBHOOK_SECRET", SECRET)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PORTAL_WEBHOOK_URLS") && stderr.contains("https"), "{stderr}");
    assert!(!stderr.contains("s3cret-token"), "{stderr}");
}

//! Several replicas on one PostgreSQL database: two real `serve` processes of the binary, on two ports,
//! sharing a PostgreSQL server the test starts, a fake identity platform and a real SMTP server. What a
//! load balancer in front of them would do, the test does by hand: it sends each request to one replica
//! or the other. Both replicas are configured with the same public URL (the first one's), as replicas
//! behind a load balancer share one.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use consent_portal::config::DatabaseLocation;
use consent_portal::db;
use consent_portal::domain::{Secret, TenantId, Timestamp};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::helpers::*;

const API_TOKEN: &str = "replica-test-api-token-0123456789abcdef";
const NOTIFY: &str = "ops@fabrikampartner.example";

/// The PostgreSQL server, the fake and the SMTP server the replicas share.
struct Shared {
    /// Stopped when dropped.
    cluster: PgCluster,
    database_url: String,
    fake: fake_entra::server::FakeServer,
    smtp: SmtpSink,
    smtp_port: u16,
    /// The public URL of every replica (the first replica's address).
    public_url: String,
    public_port: u16,
    logs: tempfile::TempDir,
}

impl Shared {
    /// Everything but the replicas; `None` (the test skips) without PostgreSQL or aiosmtpd.
    async fn start() -> Option<Shared> {
        let bin = require(postgres_programs())?;
        let smtp_server = require(aiosmtpd())?;
        let cluster = PgCluster::start(bin);
        let database_url = cluster.create_database("portal").await;
        let public_port = free_port();
        let public_url = format!("http://127.0.0.1:{public_port}");
        let fake = spawn_fake(&public_url).await;
        let smtp_port = free_port();
        let smtp = smtp_server.start(smtp_port);
        Some(Shared { cluster, database_url, fake, smtp, smtp_port, public_url, public_port, logs: tempfile::tempdir().unwrap() })
    }

    /// The real binary's `serve` on `port` (the first replica on the public port), on the shared database.
    fn replica(&self, name: &str, port: u16, extra: &[(&str, &str)]) -> ChildGuard {
        let data = self.logs.path().join(name);
        std::fs::create_dir_all(&data).unwrap();
        let log = std::fs::File::create(self.log_path(name)).unwrap();
        let mut command = command_in(&data);
        command
            .arg("serve")
            .envs(serve_env(&data, port))
            .env("PORTAL_PUBLIC_URL", &self.public_url)
            .env("PORTAL_DATABASE_URL", &self.database_url)
            .env("PORTAL_CLIENT_ID", fake_entra::demo::DEMO_CLIENT_ID)
            .env("PORTAL_CLIENT_SECRET", fake_entra::demo::DEMO_CLIENT_SECRET)
            .env("PORTAL_PARTNER_TENANT_ID", fake_entra::demo::DEMO_PARTNER_TENANT_ID)
            .env("PORTAL_AUTHORITY_HOST", &self.fake.url)
            .env("PORTAL_API_BASE", &self.fake.url)
            .env("PORTAL_API_TOKEN", API_TOKEN)
            .env("PORTAL_SMTP_URL", format!("smtp://127.0.0.1:{}", self.smtp_port))
            .env("PORTAL_MAIL_FROM", "Fabrikam <portal@fabrikampartner.example>")
            .env("PORTAL_NOTIFY_EMAILS", NOTIFY)
            .envs(extra.iter().copied())
            .stdout(Stdio::null())
            .stderr(log);
        let child = ChildGuard(command.spawn().unwrap());
        wait_for_health(port);
        child
    }

    fn log_path(&self, name: &str) -> std::path::PathBuf {
        self.logs.path().join(format!("{name}.log"))
    }

    fn logs(&self) -> String {
        ["a", "b"].iter().map(|name| format!("--- {name}:\n{}", std::fs::read_to_string(self.log_path(name)).unwrap_or_default())).collect()
    }

    /// Two replicas, A on the public port and B on another, with customers' consents accepted at
    /// Microsoft without a page; their base URLs, and the guards that stop them.
    async fn two_replicas(&self) -> (String, String, [ChildGuard; 2]) {
        set_auto(&self.portal_at(&self.public_url), None, Some("accept")).await;
        let b_port = free_port();
        let (a, b) = (self.public_url.clone(), format!("http://127.0.0.1:{b_port}"));
        let replicas = [self.replica("a", self.public_port, &[]), self.replica("b", b_port, &[])];
        (a, b, replicas)
    }

    /// The replica at `base`, for the helpers that drive a portal.
    fn portal_at(&self, base: &str) -> PortalAt {
        PortalAt { base_url: base.to_owned(), fake_url: self.fake.url.clone() }
    }

    /// The shared database, as the portal opens it.
    async fn db(&self) -> db::Pool {
        db::open(&DatabaseLocation::Postgres { url: Secret::new(&self.database_url) }).await.unwrap()
    }

    /// A customer tenant in the fake with one global admin; returns the tenant and the admin's user id.
    async fn customer_tenant(&self, name: &str) -> (TenantId, String) {
        let client = http_client();
        let tenant = TenantId::new_random();
        let created = client
            .post(format!("{}/_fake/tenants", self.fake.url))
            .json(&json!({"id": tenant, "display_name": name, "domains": [format!("{tenant}.example")]}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let user: Value = client
            .post(format!("{}/_fake/tenants/{tenant}/users", self.fake.url))
            .json(&json!({"upn": format!("admin@{tenant}.example"), "display_name": "Admin", "admin": true}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (tenant, user["id"].as_str().unwrap().to_owned())
    }

    /// A new invite through the API of the replica at `base`; returns its onboarding link.
    async fn invite(&self, base: &str, customer: &str) -> String {
        let response = http_client()
            .post(format!("{base}/api/v1/invites"))
            .bearer_auth(API_TOKEN)
            .json(&json!({"customer": customer}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{}", self.logs());
        let created: Value = response.json().await.unwrap();
        created["url"].as_str().unwrap().to_owned()
    }

    /// The tenants the API of the replica at `base` lists.
    async fn listed_tenants(&self, base: &str) -> Vec<String> {
        let listed: Value =
            http_client().get(format!("{base}/api/v1/tenants")).bearer_auth(API_TOKEN).send().await.unwrap().json().await.unwrap();
        let tenants = listed.get("tenants").and_then(Value::as_array).or(listed.as_array()).cloned().unwrap_or_default();
        tenants.iter().map(|t| t["tenant_id"].as_str().unwrap().to_owned()).collect()
    }
}

/// A customer's admin onboarding from the landing page of `link`: the landing page and "Continue" on
/// the replica at `start`, Microsoft's account picker (the admin `user_id` picks their account), and
/// the way back to the portal on the replica at `finish`. Returns the page it ends on.
async fn onboard_across(shared: &Shared, link: &str, user_id: &str, start: &str, finish: &str) -> (StatusCode, String) {
    let client = http_client();
    let link = link.replacen(&shared.public_url, start, 1);
    let started = continue_from_landing(&client, &link).await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER, "{}", shared.logs());
    let picker = client.get(location(&started)).send().await.unwrap().text().await.unwrap();
    let interaction = hidden_value(&picker, "interaction");
    let mut response = client
        .post(format!("{}/_fake/ui/login", shared.fake.url))
        .form(&[("interaction", interaction.as_str()), ("user_id", user_id)])
        .send()
        .await
        .unwrap();
    // Back at the portal, by the public URL: the load balancer sends it to the other replica.
    for _ in 0..10 {
        if !response.status().is_redirection() {
            break;
        }
        let next = response.url().join(&location(&response)).unwrap().to_string().replacen(&shared.public_url, finish, 1);
        response = client.get(next).send().await.unwrap();
    }
    (response.status(), response.text().await.unwrap())
}

/// A customer starts on one replica and finishes on the other; a staff member signed in on one is
/// signed in on the other (sessions live in PostgreSQL); both see the one tenant recorded.
#[tokio::test]
async fn a_customer_starts_on_one_replica_and_finishes_on_the_other() {
    let Some(shared) = Shared::start().await else { return };
    let (a, b, _replicas) = shared.two_replicas().await;

    let (tenant, admin) = shared.customer_tenant("Contoso Replicated").await;
    let link = shared.invite(&a, "Contoso Replicated").await;
    let (status, page) = onboard_across(&shared, &link, &admin, &a, &b).await;
    assert_eq!(status, StatusCode::OK, "{page}\n{}", shared.logs());
    assert!(page.contains("data-outcome=\"connected\""), "{page}");
    for base in [&a, &b] {
        assert_eq!(shared.listed_tenants(base).await, [tenant.to_string()], "as {base} lists them");
    }

    // Staff: signed in through replica A, then reading a page of replica B with the same cookie.
    let (staff_client, _) = staff(&shared.portal_at(&a), ALEX).await;
    let tenants_page = staff_client.get(format!("{b}/tenants")).send().await.unwrap();
    assert_eq!(tenants_page.status(), StatusCode::OK, "the session opened on A is known to B");
    assert!(tenants_page.text().await.unwrap().contains("Contoso Replicated"));

    // The e-mail of the consent ("tenant connected" to staff) went out once, from one replica.
    let messages = shared.smtp.wait_for(1).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(shared.smtp.messages().len(), 1, "{messages:?}");
}

/// Microsoft's `Retry-After` for a tenant, met by one replica, holds for the other: "check now" on B
/// right after A was throttled does not ask Microsoft again.
#[tokio::test]
async fn a_retry_after_met_by_one_replica_holds_for_the_other() {
    let Some(shared) = Shared::start().await else { return };
    let (a, b, _replicas) = shared.two_replicas().await;
    let (tenant, admin) = shared.customer_tenant("Throttled Ltd").await;
    let link = shared.invite(&a, "Throttled Ltd").await;
    assert_eq!(onboard_across(&shared, &link, &admin, &a, &a).await.0, StatusCode::OK);

    let faults = format!("{}/_fake/tenants/{tenant}/faults", shared.fake.url);
    let throttled = http_client().put(faults).json(&json!({"token_status": 429, "retry_after_s": 600})).send().await.unwrap();
    assert_eq!(throttled.status(), StatusCode::NO_CONTENT);
    let (staff_client, csrf) = staff(&shared.portal_at(&a), ALEX).await;
    let check_now = async |base: &str| {
        let response = staff_client.post(format!("{base}/tenants/{tenant}/check")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
        assert!(response.status().is_success() || response.status().is_redirection(), "{}", response.status());
    };
    check_now(&a).await;
    let asked = token_requests(&shared.fake.url, &tenant.to_string()).await.len();
    assert!(asked > 0, "A asked Microsoft for the tenant's token");
    check_now(&b).await;
    assert_eq!(token_requests(&shared.fake.url, &tenant.to_string()).await.len(), asked, "B asked again within the Retry-After");
}

/// Two admins of one tenant finishing their consents at the same moment, one through each replica:
/// one tenant is recorded, with both consents.
#[tokio::test]
async fn consents_racing_on_two_replicas_for_one_tenant_record_one_tenant() {
    let Some(shared) = Shared::start().await else { return };
    let (a, b, _replicas) = shared.two_replicas().await;
    let db = shared.db().await;
    let db::Pool::Postgres(pg) = &db else { unreachable!() };
    for round in 0..5 {
        let (tenant, admin) = shared.customer_tenant(&format!("Raced {round}")).await;
        let (first, second) = (shared.invite(&a, &format!("Raced {round}")).await, shared.invite(&b, &format!("Raced {round}")).await);
        let (one, other) = tokio::join!(onboard_across(&shared, &first, &admin, &a, &b), onboard_across(&shared, &second, &admin, &b, &a));
        assert_eq!((one.0, other.0), (StatusCode::OK, StatusCode::OK), "{}\n{}", one.1, other.1);
        let rows: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM tenants WHERE tenant_id = $1").bind(tenant.to_string()).fetch_one(pg).await.unwrap();
        assert_eq!(rows, 1, "round {round}");
    }
}

/// A replica that loses its database answers 503 (`/readyz` and writes), keeps serving what needs no
/// database, and recovers by itself when the database is back.
#[tokio::test]
async fn a_replica_that_loses_the_database_answers_503_and_recovers_by_itself() {
    let Some(shared) = Shared::start().await else { return };
    let a = shared.public_url.clone();
    let _replica_a = shared.replica("a", shared.public_port, &[]);
    let ready = async || http_client().get(format!("{a}/readyz")).send().await.unwrap().status();
    assert_eq!(ready().await, StatusCode::OK);

    shared.cluster.stop();
    let unavailable = within(Duration::from_secs(30), async || (ready().await == StatusCode::SERVICE_UNAVAILABLE).then_some(())).await;
    assert!(unavailable.is_some(), "/readyz still answers 200 without a database:\n{}", shared.logs());
    let write = http_client()
        .post(format!("{a}/api/v1/invites"))
        .bearer_auth(API_TOKEN)
        .json(&json!({"customer": "While down"}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), StatusCode::SERVICE_UNAVAILABLE, "{}", shared.logs());
    assert!(write.headers().contains_key("retry-after"));
    assert_eq!(http_client().get(format!("{a}/healthz")).send().await.unwrap().status(), StatusCode::OK);

    shared.cluster.start_again();
    let recovered = within(Duration::from_secs(60), async || (ready().await == StatusCode::OK).then_some(())).await;
    assert!(recovered.is_some(), "/readyz did not recover:\n{}", shared.logs());
    shared.invite(&a, "After the database came back").await;
}

/// 200 customers onboard at once, each starting on one replica and finishing on the other: every
/// consent is recorded once, none lost; each staff e-mail reaches the SMTP server exactly once.
#[tokio::test]
async fn two_hundred_consents_over_two_replicas_are_each_recorded_and_mailed_once() {
    let Some(shared) = Shared::start().await else { return };
    let (a, b, _replicas) = shared.two_replicas().await;

    const CUSTOMERS: usize = 200;
    let mut customers = Vec::with_capacity(CUSTOMERS);
    for i in 0..CUSTOMERS {
        let name = format!("Customer {i:03}");
        let (tenant, admin) = shared.customer_tenant(&name).await;
        let (start, finish) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let link = shared.invite(start, &name).await;
        customers.push((tenant, admin, link, start.clone(), finish.clone()));
    }
    let outcomes: Vec<(TenantId, StatusCode, String)> = futures::stream::iter(customers.iter())
        .map(|(tenant, admin, link, start, finish)| async {
            let (status, page) = onboard_across(&shared, link, admin, start, finish).await;
            (*tenant, status, page)
        })
        .buffer_unordered(8)
        .collect()
        .await;
    for (tenant, status, page) in &outcomes {
        assert_eq!(*status, StatusCode::OK, "{tenant}: {page}\n{}", shared.logs());
        assert!(page.contains("data-outcome=\"connected\""), "{tenant}: {page}");
    }

    let mut expected: Vec<String> = customers.iter().map(|(tenant, ..)| tenant.to_string()).collect();
    expected.sort();
    for base in [&a, &b] {
        let mut listed = shared.listed_tenants(base).await;
        listed.sort();
        assert_eq!(listed, expected, "as {base} lists them");
    }
    let db = shared.db().await;
    let db::Pool::Postgres(pg) = &db else { unreachable!() };
    let (tenants, consents): (i64, i64) =
        sqlx::query_as("SELECT (SELECT COUNT(*) FROM tenants), (SELECT COUNT(*) FROM consents)").fetch_one(pg).await.unwrap();
    assert_eq!((tenants, consents), (CUSTOMERS as i64, CUSTOMERS as i64));

    // One "tenant connected" e-mail per consent, whichever replica's worker claimed it, none twice.
    shared.smtp.wait_for(CUSTOMERS).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let messages = shared.smtp.messages();
    let mut ids: Vec<&str> = messages.iter().map(|m| m["message_id"].as_str().unwrap_or("")).collect();
    assert_eq!(messages.len(), CUSTOMERS, "{}", shared.logs());
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), CUSTOMERS, "a message went out twice");
    let sent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = 'sent'").fetch_one(pg).await.unwrap();
    assert_eq!(sent, CUSTOMERS as i64);
}

/// A replica killed (SIGKILL) in the middle of a sweep: the tenants it had taken and not finished are
/// taken over by the other replica once its lease runs out; each tenant is checked once.
#[tokio::test]
async fn a_replica_killed_mid_sweep_leaves_its_tenants_to_the_other() {
    let Some(shared) = Shared::start().await else { return };
    const TENANTS: usize = 40;
    let db = shared.db().await;
    let mut tenants = Vec::with_capacity(TENANTS);
    for i in 0..TENANTS {
        let (tenant, _) = shared.customer_tenant(&format!("Slow {i}")).await;
        let client = http_client();
        let grant = format!("{}/_fake/tenants/{tenant}/grants/{}", shared.fake.url, fake_entra::demo::DEMO_CLIENT_ID);
        let granted = client
            .put(grant)
            .json(&json!({"roles": ["Incident.Read.All", "AdvancedHunting.Read.All"], "enabled": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(granted.status(), StatusCode::NO_CONTENT);
        // Each token takes a second: the sweep lasts long enough to be interrupted.
        let faults = format!("{}/_fake/tenants/{tenant}/faults", shared.fake.url);
        assert_eq!(client.put(faults).json(&json!({"token_latency_ms": 1000})).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        tenants.push(tenant);
    }
    let consented = Timestamp::new(time::OffsetDateTime::now_utc() - time::Duration::days(1));
    db::monitoring::seed_tenants(&db, "Slow customers", &tenants, consented).await.unwrap();
    let db::Pool::Postgres(pg) = &db else { unreachable!() };
    let checks = async || -> i64 { sqlx::query_scalar("SELECT COUNT(*) FROM checks").fetch_one(pg).await.unwrap() };

    // A sweep of A's takes about 10 s (40 tenants, 4 at a time, a second each): shorter than the lease.
    let replica_settings = [("PORTAL_CHECK_CONCURRENCY", "4"), ("PORTAL_CHECK_LEASE_SECONDS", "15")];
    let mut replica_a = shared.replica("a", shared.public_port, &replica_settings);
    // A's schedule takes every due tenant at its first tick. B, started then, finds none to take while
    // A holds them: no tenant is checked by both.
    eventually("replica A storing its first checks", async || (checks().await >= 4).then_some(())).await;
    let b_port = free_port();
    let _replica_b = shared.replica("b", b_port, &replica_settings);
    replica_a.0.kill().unwrap();
    replica_a.0.wait().unwrap();
    let checked_by_a = checks().await;
    assert!(checked_by_a < TENANTS as i64, "A finished before it was killed: make its checks slower");
    let leased: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants WHERE last_checked_at IS NULL AND next_check_at IS NOT NULL")
        .fetch_one(pg)
        .await
        .unwrap();
    assert!(leased > 0, "the tenants A had not checked yet are leased to it");

    // Once A's lease runs out, B's schedule takes A's tenants (B ticks every 30 s).
    let all_checked = within(Duration::from_secs(120), async || (checks().await >= TENANTS as i64).then_some(())).await;
    assert!(all_checked.is_some(), "B did not finish A's tenants:\n{}", shared.logs());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let per_tenant: Vec<(String, i64)> =
        sqlx::query_as("SELECT tenant_id, COUNT(*) FROM checks GROUP BY tenant_id HAVING COUNT(*) <> 1").fetch_all(pg).await.unwrap();
    assert!(per_tenant.is_empty(), "tenants checked more than once: {per_tenant:?}");
    let unchecked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants WHERE last_checked_at IS NULL").fetch_one(pg).await.unwrap();
    assert_eq!(unchecked, 0);
}

/// Reminders, queued by every replica's e-mail worker at each pass: two replicas passing at the same
/// moment, again and again, queue one reminder per due invite.
#[tokio::test]
async fn reminders_due_at_one_moment_are_queued_once_by_two_replicas() {
    let Some(bin) = require(postgres_programs()) else { return };
    let cluster = PgCluster::start(bin);
    let location = DatabaseLocation::Postgres { url: Secret::new(cluster.create_database("portal").await) };
    let (one, other) = (db::open(&location).await.unwrap(), db::open(&location).await.unwrap());
    let sent_at = OffsetDateTime::now_utc() - time::Duration::days(4);
    const INVITES: usize = 20;
    for i in 0..INVITES {
        let customer = consent_portal::domain::CustomerName::parse(&format!("Customer {i}")).unwrap();
        let request = consent_portal::invites::InviteRequest {
            customer: &customer,
            email: None,
            pinned_tenant: None,
            pinned_domain: None,
            language: consent_portal::i18n::Language::English,
            valid_for: time::Duration::days(14),
            actor: "test",
            send_to: Some(format!("admin{i}@customer.example").parse().unwrap()),
        };
        consent_portal::invites::create(&one, &consent_portal::domain::ManualClock::at(sent_at), request).await.unwrap();
    }
    // Every onboarding e-mail sent four days ago.
    let at = Timestamp::new(sent_at);
    let mut tx = db::begin_write(&one).await.unwrap();
    while let Some(row) = db::outbox::claim_next(&mut tx, at, at).await.unwrap() {
        db::outbox::mark_sent(&mut tx, &row.id, "250 OK", at).await.unwrap();
    }
    tx.commit().await.unwrap();

    let settings = consent_portal::config::EmailSettings {
        transport: consent_portal::email::TransportSettings::Memory,
        reminder_after_days: 3,
        reminder_max: 2,
        ..Default::default()
    };
    let now = OffsetDateTime::now_utc();
    let passes = (0..10).flat_map(|_| [&one, &other]).map(|pool| consent_portal::email::worker::queue_reminders(pool, &settings, now));
    let queued: usize = futures::future::try_join_all(passes).await.unwrap().into_iter().sum();
    assert_eq!(queued, INVITES, "reminders queued by the passes of both replicas");
    let db::Pool::Postgres(pg) = &one else { unreachable!() };
    let reminders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'reminder'").fetch_one(pg).await.unwrap();
    assert_eq!(reminders, INVITES as i64);
}

/// A webhook delivery claimed by a replica that died while posting it is posted again (same
/// webhook-id) by another replica once the claim is old; one another replica is posting now is left
/// alone.
#[tokio::test]
async fn a_dead_replicas_webhook_delivery_is_taken_over_once_its_claim_is_old() {
    use consent_portal::config::{WebhookEndpoint, WebhookSecret, WebhookSettings};
    let Some(bin) = require(postgres_programs()) else { return };
    let cluster = PgCluster::start(bin);
    let location = DatabaseLocation::Postgres { url: Secret::new(cluster.create_database("portal").await) };
    let pool = db::open(&location).await.unwrap();
    let settings = WebhookSettings {
        endpoints: vec![WebhookEndpoint::parse("http://127.0.0.1:9/hooks").unwrap()],
        secret: Some(WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()),
        ..WebhookSettings::default()
    };
    let keys: Vec<String> = settings.endpoints.iter().map(|e| e.key.clone()).collect();
    let now = OffsetDateTime::now_utc();
    let (long_ago, just_now) = (Timestamp::new(now - time::Duration::minutes(30)), Timestamp::new(now));
    // Two events, each claimed (status `sending`) by a replica: one half an hour ago, one just now.
    for claimed_at in [long_ago, just_now] {
        let event = consent_portal::domain::webhook_event::Event::test("alex", claimed_at);
        db::webhooks::enqueue(&pool, &settings, &event, Some("alex")).await.unwrap().unwrap();
        db::webhooks::claim_next(&pool, &keys, claimed_at).await.unwrap().unwrap();
    }

    let context = consent_portal::webhooks::worker::Context {
        db: pool.clone(),
        webhooks: consent_portal::webhooks::Webhooks::new(&settings),
        clock: Arc::new(consent_portal::domain::SystemClock),
    };
    let pass = consent_portal::webhooks::worker::run_once(&context).await.unwrap();
    // The old claim was queued again and posted (the receiver is not there: a retry); the new one was not.
    assert_eq!(pass.retried, 1, "{pass:?}");
    let db::Pool::Postgres(pg) = &pool else { unreachable!() };
    let statuses: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, attempts FROM webhook_deliveries ORDER BY id").fetch_all(pg).await.unwrap();
    assert_eq!(statuses, [("queued".to_owned(), 2), ("sending".to_owned(), 1)]);
}

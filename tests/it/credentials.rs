//! The portal's own credentials: their expiry read from the configuration (a certificate's notAfter,
//! PORTAL_CLIENT_SECRET_EXPIRES_AT), the staff banner from 30 days before, one e-mail per threshold,
//! and the fall-back to the other credential of a rotation when Microsoft refuses one.

use std::sync::Arc;

use consent_portal::config::{ClientCredential, Config, ConfiguredCredential};
use consent_portal::credentials::{self, CredentialKind};
use consent_portal::domain::{ManualClock, Secret, TenantId, Timestamp};
use consent_portal::monitor::sweep::Target;
use fake_entra::demo::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_CONTOSO};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::helpers::*;

fn secret(value: &str, position: usize, expires_at: Option<OffsetDateTime>) -> ConfiguredCredential {
    ConfiguredCredential { credential: ClientCredential::Secret(Secret::new(value)), expires_at, position }
}

fn credential_emails_queued(rows: &[(String, String)]) -> Vec<Value> {
    rows.iter().map(|(_, detail)| serde_json::from_str(detail).unwrap()).collect()
}

async fn credential_outbox(app: &TestApp) -> Vec<(String, String)> {
    sql(&app.db, "SELECT recipient, detail FROM outbox WHERE kind = 'credential_expiring' ORDER BY created_at, id").rows().await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_banner_appears_thirty_days_before_a_secret_expires_and_not_before() {
    let start = OffsetDateTime::now_utc();
    let clock = Arc::new(ManualClock::at(start));
    // 31 days and half an hour left: no banner yet; an hour later, 30 days (rounded down).
    let expires_at = start + Duration::days(31) + Duration::minutes(30);
    let app = spawn_app_on_clock_configured(clock.clone(), move |config: &mut Config| {
        config.credentials = vec![secret(DEMO_CLIENT_SECRET, 1, Some(expires_at))];
    })
    .await;
    let (client, _) = staff(&app, ALEX).await;
    let page = client.get(app.url("/tenants")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("id=\"credential-expiry\""), "no banner 31 days before");

    clock.advance(Duration::hours(1));
    let page = client.get(app.url("/tenants")).send().await.unwrap().text().await.unwrap();
    let banner = visible_text(element(&page, "credential-expiry"));
    assert!(banner.contains("Client secret 1") && banner.contains("30 days left"), "{banner}");
    assert!(banner.contains("add a new secret or certificate") && banner.contains("remove the old one"), "{banner}");
    assert!(!page.contains(DEMO_CLIENT_SECRET), "the secret is never shown");
    // On every staff page, and the function the metrics read says the same.
    let invites = client.get(app.url("/invites")).send().await.unwrap().text().await.unwrap();
    assert!(invites.contains("id=\"credential-expiry\""));
    let left = credentials::days_left(&app.state.config, clock_now(&app));
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].kind, left[0].days_left, left[0].expires_at), (CredentialKind::Secret, 30, expires_at));
    assert!(!left[0].label.contains(DEMO_CLIENT_SECRET), "{}", left[0].label);
}

fn clock_now(app: &TestApp) -> OffsetDateTime {
    app.state.clock.now()
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_are_emailed_once_at_30_14_7_and_1_days_left() {
    let start = OffsetDateTime::now_utc();
    let clock = Arc::new(ManualClock::at(start));
    let expires_at = start + Duration::days(40);
    let app = spawn_app_on_clock_configured(clock.clone(), move |config: &mut Config| {
        config.credentials = vec![secret(DEMO_CLIENT_SECRET, 1, Some(expires_at))];
        // Events are queued for a receiver (no webhook worker runs in this test).
        config.webhooks = consent_portal::config::WebhookSettings {
            endpoints: vec![consent_portal::config::WebhookEndpoint::parse("http://127.0.0.1:9/hooks").unwrap()],
            secret: Some(consent_portal::config::WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()),
            ..consent_portal::config::WebhookSettings::default()
        };
    })
    .await;
    let (mut sent_at_days, mut reached) = (Vec::new(), Vec::new());
    for days_left in [35, 31, 30, 30, 29, 20, 14, 13, 8, 7, 6, 2, 1, 0, -3] {
        let now = expires_at - Duration::days(days_left) - Duration::minutes(1);
        clock.set(now);
        let before = credential_outbox(&app).await.len();
        reached.extend(credentials::notices::check(&app.state, now).await.unwrap().into_iter().map(|r| r.threshold));
        if credential_outbox(&app).await.len() > before {
            sent_at_days.push(days_left);
        }
    }
    assert_eq!(sent_at_days, [30, 14, 7, 1], "one e-mail per threshold, each once");
    assert_eq!(reached, [30, 14, 7, 1], "what check() reports for other systems: each threshold once");
    // A `credential.expiring` event per threshold, queued with the e-mails.
    let events: Vec<(String, String)> = sql(&app.db, "SELECT event_type, body FROM webhook_deliveries ORDER BY id").rows().await;
    assert_eq!(events.len(), 4, "{events:?}");
    assert!(events.iter().all(|(kind, body)| kind == "credential.expiring" && !body.contains(DEMO_CLIENT_SECRET)), "{events:?}");
    let last: Value = serde_json::from_str(&events[3].1).unwrap();
    assert_eq!(last["data"]["days_left"], 1, "{last}");
    // And the gauge says the days left at the latest check.
    let figures = consent_portal::metrics::render(&app.state.db, Timestamp::new(clock_now(&app))).await.unwrap();
    assert!(
        figures.lines().any(|l| l.starts_with("portal_credential_days_left{") && l.contains("secret 1") && l.ends_with(" -3")),
        "{figures}"
    );
    let queued = credential_emails_queued(&credential_outbox(&app).await);
    assert_eq!(queued.iter().map(|d| d["threshold"].as_i64().unwrap()).collect::<Vec<_>>(), [30, 14, 7, 1]);
    // They go to the staff notification addresses, and say how to rotate without naming the secret.
    consent_portal::email::worker::run_once(&app.state, clock_now(&app)).await.unwrap();
    let messages = app.state.mailer.memory().unwrap().messages();
    let mails: Vec<_> = messages.iter().filter(|m| m.subject.contains("client secret")).collect();
    assert_eq!(mails.len(), 4, "{:?}", messages.iter().map(|m| &m.subject).collect::<Vec<_>>());
    assert!(mails.iter().all(|m| m.to == "alex@fabrikampartner.example"));
    assert!(mails.iter().any(|m| m.subject == "The portal's client secret expires in 30 days"), "{mails:?}");
    assert!(mails.iter().any(|m| m.subject == "The portal's client secret expires tomorrow"), "{mails:?}");
    for mail in &mails {
        assert!(mail.text.contains("PORTAL_CLIENT_SECRET_EXPIRES_AT") && mail.text.contains("remove the old one"), "{}", mail.text);
        assert!(!mail.text.contains(DEMO_CLIENT_SECRET) && !mail.html.contains(DEMO_CLIENT_SECRET));
    }
    // Checking again (as every hour, or after a restart) queues nothing more.
    assert!(credentials::notices::check(&app.state, clock_now(&app)).await.unwrap().is_empty());
    assert_eq!(credential_outbox(&app).await.len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn checks_fall_back_to_the_older_secret_when_microsoft_refuses_the_newest() {
    let now = OffsetDateTime::now_utc();
    // The newest secret (it expires last) is not registered on the app: Microsoft answers AADSTS7000215.
    let app = spawn_app_configured(move |config: &mut Config| {
        require_permissions(config, DEFENDER_ONLY);
        config.credentials = vec![
            secret(DEMO_CLIENT_SECRET, 1, Some(now + Duration::days(20))),
            secret("a-secret-entra-does-not-know", 2, Some(now + Duration::days(700))),
        ];
    })
    .await;
    let roles = json!({"roles": ["Incident.Read.All", "AdvancedHunting.Read.All"]});
    let granted =
        app.client.put(app.fake_url(&format!("/_fake/tenants/{DEMO_CONTOSO}/grants/{DEMO_CLIENT_ID}"))).json(&roles).send().await.unwrap();
    assert_eq!(granted.status(), StatusCode::NO_CONTENT);
    let tenant = TenantId::parse(DEMO_CONTOSO).unwrap();
    let consented = Timestamp::new(now - Duration::days(1));
    consent_portal::db::monitoring::seed_tenants(&app.state.db, "Contoso", &[tenant], consented).await.unwrap();

    let outcome = app.state.sweeper.check_now(Target::new(tenant, Some(consented.as_datetime()))).await.unwrap();
    assert_eq!(outcome.status.as_str(), "verified", "{}", outcome.reason);
    let statuses = token_statuses(&app).await;
    assert_eq!(statuses, [401, 200], "the newest first, refused; then the older one");

    // The credential that worked is kept: the next check asks once.
    clear_log(&app).await;
    let outcome = app.state.sweeper.check_now(Target::new(tenant, Some(consented.as_datetime()))).await.unwrap();
    assert_eq!(outcome.status.as_str(), "verified");
    assert_eq!(token_statuses(&app).await, [200]);
}

#[tokio::test(flavor = "multi_thread")]
async fn when_every_credential_is_refused_the_tenant_shows_credentials_invalid() {
    let app = spawn_app_configured(|config: &mut Config| {
        require_permissions(config, DEFENDER_ONLY);
        config.credentials = vec![secret("unknown-one", 1, None), secret("unknown-two", 2, None)];
    })
    .await;
    let roles = json!({"roles": ["Incident.Read.All"]});
    app.client.put(app.fake_url(&format!("/_fake/tenants/{DEMO_CONTOSO}/grants/{DEMO_CLIENT_ID}"))).json(&roles).send().await.unwrap();
    let tenant = TenantId::parse(DEMO_CONTOSO).unwrap();
    let consented = Timestamp::new(OffsetDateTime::now_utc() - Duration::days(1));
    consent_portal::db::monitoring::seed_tenants(&app.state.db, "Contoso", &[tenant], consented).await.unwrap();
    let outcome = app.state.sweeper.check_now(Target::new(tenant, Some(consented.as_datetime()))).await.unwrap();
    assert_eq!(outcome.status.as_str(), "credentials_invalid");
    assert_eq!(token_statuses(&app).await, [401, 401], "each credential once, no more");
}

async fn token_statuses(app: &TestApp) -> Vec<u64> {
    let log: Value = app.client.get(app.fake_url("/_fake/log")).send().await.unwrap().json().await.unwrap();
    log.as_array().unwrap().iter().filter(|e| e["grant_type"] == "client_credentials").map(|e| e["status"].as_u64().unwrap()).collect()
}

async fn clear_log(app: &TestApp) {
    app.client.delete(app.fake_url("/_fake/log")).send().await.unwrap();
}

#[tokio::test]
async fn a_certificates_not_after_is_read_from_the_file_and_named_by_its_thumbprint() {
    let dir = tempfile::tempdir().unwrap();
    let key = rsa_key();
    let not_after = time::macros::datetime!(2027-03-31 12:00 UTC);
    let certificate = {
        use rsa::pkcs8::EncodePrivateKey;
        let pkcs8 = key.to_pkcs8_der().unwrap();
        let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8.as_bytes().into(), &rcgen::PKCS_RSA_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.not_after = not_after;
        params.self_signed(&key_pair).unwrap()
    };
    let (certificate_path, key_path) = (dir.path().join("portal.crt"), dir.path().join("portal.key"));
    std::fs::write(&certificate_path, certificate.pem()).unwrap();
    {
        use rsa::pkcs8::{EncodePrivateKey, LineEnding};
        std::fs::write(&key_path, key.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes()).unwrap();
    }
    let config = config_from(&[
        &format!("--client-certificate={}", certificate_path.display()),
        &format!("--client-key={}", key_path.display()),
        "--client-secret=old-secret,new-secret",
        "--client-secret-expires-at=2027-01-15,2028-01-15T08:00:00Z",
    ]);
    assert_eq!(config.credentials.len(), 3);
    let left = credentials::days_left(&config, time::macros::datetime!(2027-03-01 12:00 UTC));
    let summary: Vec<(CredentialKind, i64)> = left.iter().map(|c| (c.kind, c.days_left)).collect();
    assert_eq!(summary, [(CredentialKind::Secret, -46), (CredentialKind::Certificate, 30), (CredentialKind::Secret, 319)]);
    assert_eq!(left[1].expires_at, not_after);
    let thumbprint = credentials::certificate_thumbprint(&certificate.pem()).unwrap();
    assert!(left[1].label.contains(&thumbprint) && left[1].label.starts_with("certificate 1"), "{}", left[1].label);
    assert!(left.iter().all(|c| !c.label.contains("secret,") && !c.label.contains("old-secret")));
    // Mismatched lists are refused at start with the variable named.
    let error = try_config_from(&["--client-secret=a,b", "--client-secret-expires-at=2027-01-15"]).unwrap_err();
    assert_eq!(error.variable, "PORTAL_CLIENT_SECRET_EXPIRES_AT");
    let error = try_config_from(&["--client-secret=a", "--client-secret-expires-at=next week"]).unwrap_err();
    assert_eq!(error.variable, "PORTAL_CLIENT_SECRET_EXPIRES_AT");
}

fn try_config_from(extra: &[&str]) -> Result<Config, consent_portal::config::ConfigError> {
    use clap::Parser;
    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: consent_portal::config::ConfigArgs,
    }
    let mut argv = vec![
        "test",
        "--public-url=https://onboarding.example.com",
        "--client-id=11111111-2222-3333-4444-555555555555",
        "--partner-tenant-id=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "--database-url=sqlite://data/test.db",
    ];
    argv.extend_from_slice(extra);
    Config::from_args(&Wrapper::parse_from(argv).args)
}

fn config_from(extra: &[&str]) -> Config {
    try_config_from(extra).unwrap()
}

#[tokio::test]
async fn migration_0012_keeps_every_email_link_and_campaign_row_and_their_triggers() {
    use sqlx::sqlite::SqliteConnectOptions;
    // A database as the migrations before 0012 left it, with an e-mail resent, its link, and a campaign row.
    let dir = tempfile::tempdir().unwrap();
    let earlier = dir.path().join("earlier-migrations");
    std::fs::create_dir(&earlier).unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.ends_with(".sql") && name.as_str() < "0012" {
            std::fs::copy(&path, earlier.join(&name)).unwrap();
        }
    }
    let location = database_in(dir.path());
    let path = dir.path().join("portal.db");
    let options = SqliteConnectOptions::new().filename(&path).create_if_missing(true).foreign_keys(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::migrate::Migrator::new(earlier.as_path()).await.unwrap().run(&pool).await.unwrap();
    let script = [
        "INSERT INTO customers (id, name, created_at) VALUES ('c', 'Contoso', '2026-01-01T00:00:00Z')",
        "INSERT INTO invites (id, customer_id, token_hash, created_at, expires_at) VALUES ('i', 'c', 'h', '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z')",
        "INSERT INTO tenants (tenant_id, customer_id, consented_at) VALUES ('t', 'c', '2026-01-01T00:00:00Z')",
        "INSERT INTO outbox (id, kind, recipient, invite_id, next_attempt_at, created_at, status) VALUES ('copy', 'onboarding', 'it@contoso.example', 'i', 'x', 'x', 'queued')",
        "INSERT INTO outbox (id, kind, recipient, invite_id, next_attempt_at, created_at, status, resent_as) VALUES ('first', 'onboarding', 'it@contoso.example', 'i', 'x', 'x', 'failed', 'copy')",
        "INSERT INTO invite_links (token_hash, invite_id, outbox_id, created_at) VALUES ('th', 'i', 'first', 'x')",
        "INSERT INTO permission_sets (permissions, first_seen_at) VALUES ('[]', 'x')",
        "INSERT INTO campaigns (id, created_at, created_by, permission_set_id, selection) VALUES ('k', 'x', 'cli', 1, 'all')",
        "INSERT INTO campaign_tenants (campaign_id, tenant_id, invite_id, customer, outbox_id, link_expires_at, email_status) \
         VALUES ('k', 't', 'i', 'Contoso', 'copy', '2026-02-01T00:00:00Z', 'queued')",
    ];
    for statement in script {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    // The portal applies 0012 as it starts; what it left is read on a connection of the test's own.
    drop(consent_portal::db::open(&location).await.unwrap());
    let db = sqlx::SqlitePool::connect_with(SqliteConnectOptions::new().filename(&path).foreign_keys(true)).await.unwrap();
    let outbox: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT id, resent_as FROM outbox ORDER BY id").fetch_all(&db).await.unwrap();
    assert_eq!(outbox, [("copy".to_owned(), None), ("first".to_owned(), Some("copy".to_owned()))]);
    let links: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM invite_links WHERE outbox_id = 'first'").fetch_one(&db).await.unwrap();
    assert_eq!(links.0, 1);
    let problems: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check").fetch_all(&db).await.unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    // The triggers still keep the campaign row in step with its e-mail and its link.
    sqlx::query("UPDATE outbox SET status = 'sent' WHERE id = 'copy'").execute(&db).await.unwrap();
    sqlx::query("UPDATE invites SET revoked_at = '2026-01-10T00:00:00Z' WHERE id = 'i'").execute(&db).await.unwrap();
    let row: (String, String) = sqlx::query_as("SELECT email_status, link_expires_at FROM campaign_tenants").fetch_one(&db).await.unwrap();
    assert_eq!(row, ("sent".to_owned(), "2026-01-10T00:00:00Z".to_owned()));
    // And the outbox takes the new kind.
    sqlx::query("INSERT INTO outbox (id, kind, recipient, next_attempt_at, created_at) VALUES ('n', 'credential_expiring', 'a@b.example', 'x', 'x')")
        .execute(&db)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_staff_sign_in_falls_back_too_and_the_code_stays_usable() {
    let now = OffsetDateTime::now_utc();
    let app = spawn_app_configured(move |config: &mut Config| {
        config.credentials = vec![
            secret("a-secret-entra-does-not-know", 1, Some(now + Duration::days(700))),
            secret(DEMO_CLIENT_SECRET, 2, Some(now + Duration::days(20))),
        ];
    })
    .await;
    // The first token request of this portal is the sign-in's code redemption.
    let (client, _) = staff(&app, ALEX).await;
    let page = client.get(app.url("/tenants")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let statuses: Vec<u64> = {
        let log: Value = app.client.get(app.fake_url("/_fake/log")).send().await.unwrap().json().await.unwrap();
        log.as_array().unwrap().iter().filter(|e| e["grant_type"] == "authorization_code").map(|e| e["status"].as_u64().unwrap()).collect()
    };
    assert_eq!(statuses, [401, 200], "refused with the newest secret, redeemed with the older one");
}

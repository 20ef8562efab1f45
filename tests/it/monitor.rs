//! The monitor over real HTTP against the fake: every status class its faults produce, retries that
//! honour Retry-After and back off, a hanging tenant that does not hold up the sweep, degradation
//! events, the `validate` command and the benchmark.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::helpers::*;
use consent_portal::config::{ClientCredential, Config, ConfiguredCredential};
use consent_portal::db;
use consent_portal::domain::{RoleList, Secret, TenantId, Timestamp};
use consent_portal::monitor::sweep::{Sweeper, Target};
use fake_entra::demo::{DEMO_CLIENT_ID, DEMO_CONTOSO, DEMO_NORTHWIND, DEMO_TAILSPIN, DEMO_WOODGROVE};
use fake_entra::server::FakeServer;
use serde_json::{Value, json};

struct Rig {
    fake: FakeServer,
    pool: db::Pool,
    config: Config,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Rig {
    async fn new(configure: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let fake = spawn_fake("http://127.0.0.1:8080").await;
        let (database, pool) = fresh_database(dir.path()).await;
        let mut config = consent_portal::config::demo_config("127.0.0.1:8080".parse().unwrap(), &fake.url, database).unwrap();
        config.checks.timeout = Duration::from_secs(10);
        // The Defender XDR API alone (what `validate` requires by default, too); tests of several APIs
        // require more.
        require_permissions(&mut config, DEFENDER_ONLY);
        configure(&mut config);
        Rig { fake, pool, config, client: reqwest::Client::new(), _dir: dir }
    }

    /// Runs the real binary's command line (such as `validate`) on this rig's database and fake, in a
    /// folder of its own; the runner can move to a blocking thread.
    fn command_line(&self) -> impl Fn(&[&str]) -> std::process::Output + Send + 'static {
        let dir = tempfile::tempdir().unwrap();
        let env = [
            ("PORTAL_PUBLIC_URL", "http://127.0.0.1:8080".to_owned()),
            ("PORTAL_DATABASE_URL", database_url(&self.config.database)),
            ("PORTAL_CLIENT_ID", DEMO_CLIENT_ID.to_owned()),
            ("PORTAL_CLIENT_SECRET", fake_entra::demo::DEMO_CLIENT_SECRET.to_owned()),
            ("PORTAL_PARTNER_TENANT_ID", fake_entra::demo::DEMO_PARTNER_TENANT_ID.to_owned()),
            ("PORTAL_AUTHORITY_HOST", self.fake.url.clone()),
            ("PORTAL_API_BASE", self.fake.url.clone()),
        ];
        move |args: &[&str]| {
            let mut command = command_in(dir.path());
            command.args(args).envs(env.iter().map(|(k, v)| (*k, v.clone())));
            command.output().unwrap()
        }
    }

    fn sweeper(&self) -> Arc<Sweeper> {
        let entra = consent_portal::entra::EntraClient::new(&self.config).unwrap();
        consent_portal::monitor::sweeper(
            &self.config,
            &entra,
            self.pool.clone(),
            Arc::new(consent_portal::domain::SystemClock),
            Arc::default(),
        )
    }

    /// Records these tenants, consented `age` ago.
    async fn seed(&self, tenants: &[&str], age: time::Duration) {
        let ids: Vec<TenantId> = tenants.iter().map(|t| TenantId::parse(t).unwrap()).collect();
        let at = Timestamp::new(time::OffsetDateTime::now_utc() - age);
        db::monitoring::seed_tenants(&self.pool.clone(), &format!("Customer {}", uuid::Uuid::new_v4()), &ids, at).await.unwrap();
    }

    async fn grant(&self, tenant: &str, roles: &[&str], enabled: bool) {
        let url = format!("{}/_fake/tenants/{tenant}/grants/{DEMO_CLIENT_ID}", self.fake.url);
        let response = self.client.put(url).json(&json!({"roles": roles, "enabled": enabled})).send().await.unwrap();
        assert_eq!(response.status(), 204);
    }

    async fn faults(&self, tenant: &str, faults: Value) {
        let response = self.client.put(format!("{}/_fake/tenants/{tenant}/faults", self.fake.url)).json(&faults).send().await.unwrap();
        assert_eq!(response.status(), 204);
    }

    async fn sweep_all(&self) {
        let rows = db::monitoring::all(&self.pool).await.unwrap();
        let targets: Vec<Target> = rows.iter().map(Target::from_row).collect();
        self.sweeper().sweep(targets).await.unwrap();
    }

    async fn statuses(&self) -> HashMap<String, String> {
        sql(&self.pool, "SELECT tenant_id, status FROM tenants").rows::<(String, String)>().await.into_iter().collect()
    }

    async fn token_requests(&self, tenant: &str) -> Vec<time::OffsetDateTime> {
        token_requests(&self.fake.url, tenant).await
    }
}

const BOTH: [&str; 2] = ["Incident.Read.All", "AdvancedHunting.Read.All"];
const DAY: time::Duration = time::Duration::days(1);

#[tokio::test(flavor = "multi_thread")]
async fn each_fault_of_the_fake_gives_its_status() {
    let rig = Rig::new(|config| config.checks.timeout = Duration::from_secs(3)).await;
    let (throttled, unreachable, garbage, dropped, api_refused, api_forbidden) = (
        TenantId::new_random(),
        TenantId::new_random(),
        TenantId::new_random(),
        TenantId::new_random(),
        TenantId::new_random(),
        TenantId::new_random(),
    );
    let not_found = TenantId::new_random().to_string();
    for tenant in [throttled, unreachable, garbage, dropped, api_refused, api_forbidden] {
        let created = rig
            .client
            .post(format!("{}/_fake/tenants", rig.fake.url))
            .json(&json!({"id": tenant, "display_name": format!("T {tenant}"), "domains": [format!("{tenant}.example")]}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        rig.grant(&tenant.to_string(), &BOTH, true).await;
    }
    rig.faults(&throttled.to_string(), json!({"token_status": 429, "retry_after_s": 100})).await;
    rig.faults(&unreachable.to_string(), json!({"token_status": 503})).await;
    rig.faults(&garbage.to_string(), json!({"garbage": true})).await;
    rig.faults(&dropped.to_string(), json!({"drop_connection": true})).await;
    rig.faults(&api_refused.to_string(), json!({"api_status": 401})).await;
    rig.faults(&api_forbidden.to_string(), json!({"api_status": 403})).await;
    rig.grant(DEMO_CONTOSO, &BOTH, true).await;
    rig.grant(DEMO_WOODGROVE, &["Incident.Read.All"], true).await;
    rig.grant(DEMO_TAILSPIN, &BOTH, true).await;
    let partner = fake_entra::demo::DEMO_PARTNER_TENANT_ID;
    rig.grant(partner, &BOTH, false).await;
    let removed = "0b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9";
    let created = rig
        .client
        .post(format!("{}/_fake/tenants", rig.fake.url))
        .json(&json!({"id": removed, "display_name": "Gone", "domains": ["gone.example"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    rig.grant(removed, &BOTH, true).await;
    rig.client.delete(format!("{}/_fake/tenants/{removed}/grants/{DEMO_CLIENT_ID}", rig.fake.url)).send().await.unwrap();

    let old: Vec<String> = [throttled, unreachable, garbage, dropped, api_refused, api_forbidden].iter().map(ToString::to_string).collect();
    let mut seeded: Vec<&str> = old.iter().map(String::as_str).collect();
    seeded.extend([DEMO_CONTOSO, DEMO_WOODGROVE, DEMO_TAILSPIN, DEMO_NORTHWIND, partner, removed, not_found.as_str()]);
    rig.seed(&seeded, DAY).await;
    let propagating = TenantId::new_random().to_string();
    rig.client
        .post(format!("{}/_fake/tenants", rig.fake.url))
        .json(&json!({"id": propagating, "display_name": "New", "domains": ["new.example"]}))
        .send()
        .await
        .unwrap();
    rig.grant(&propagating, &BOTH, true).await;
    rig.faults(&propagating, json!({"roles_delay_s": 600})).await;
    rig.seed(&[&propagating], time::Duration::minutes(2)).await;

    rig.sweep_all().await;
    let statuses = rig.statuses().await;
    let expect = [
        (DEMO_CONTOSO.to_owned(), "verified"),
        (DEMO_WOODGROVE.to_owned(), "missing_roles"),
        (propagating.clone(), "propagating"),
        (removed.to_owned(), "consent_removed"),
        (DEMO_NORTHWIND.to_owned(), "consent_removed"),
        (partner.to_owned(), "app_disabled"),
        (DEMO_TAILSPIN.to_owned(), "service_not_provisioned"),
        (not_found.clone(), "tenant_not_found"),
        (throttled.to_string(), "throttled"),
        (unreachable.to_string(), "unreachable"),
        (garbage.to_string(), "unreachable"),
        (dropped.to_string(), "unreachable"),
        (api_refused.to_string(), "token_invalid"),
        (api_forbidden.to_string(), "missing_roles"),
    ];
    for (tenant, status) in expect {
        assert_eq!(statuses.get(&tenant).map(String::as_str), Some(status), "{tenant}");
    }
    // A check row per tenant, with the decoded token where one was issued and never the token itself.
    let (header, claims): (Option<String>, Option<String>) =
        sql(&rig.pool, "SELECT token_header, token_claims FROM checks WHERE tenant_id = $1").bind(DEMO_CONTOSO).row().await;
    let header: Value = serde_json::from_str(&header.unwrap()).unwrap();
    let claims: Value = serde_json::from_str(&claims.unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["tid"], DEMO_CONTOSO);
    let code: Option<i64> = sql(&rig.pool, "SELECT error_code FROM checks WHERE tenant_id = $1").bind(DEMO_TAILSPIN).scalar().await;
    assert_eq!(code, Some(500011));
    let everything: Vec<(String,)> =
        sql(&rig.pool, "SELECT COALESCE(token_header,'') || COALESCE(token_claims,'') || COALESCE(detail,'') FROM checks").rows().await;
    assert!(everything.iter().all(|(text,)| !text.contains("eyJ")), "no raw token stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_are_reported_as_such() {
    let rig =
        Rig::new(|config| config.credentials = vec![ConfiguredCredential::only(ClientCredential::Secret(Secret::new("wrong")))]).await;
    rig.grant(DEMO_CONTOSO, &BOTH, true).await;
    rig.seed(&[DEMO_CONTOSO], DAY).await;
    rig.sweep_all().await;
    assert_eq!(rig.statuses().await[DEMO_CONTOSO], "credentials_invalid");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_token_request_before_retry_after_has_passed() {
    let rig = Rig::new(|config| config.checks.timeout = Duration::from_secs(6)).await;
    rig.grant(DEMO_CONTOSO, &BOTH, true).await;
    rig.faults(DEMO_CONTOSO, json!({"token_status": 429, "retry_after_s": 2})).await;
    rig.seed(&[DEMO_CONTOSO], DAY).await;
    rig.sweep_all().await;
    let requests = rig.token_requests(DEMO_CONTOSO).await;
    assert!(requests.len() >= 2, "the check retried after Retry-After: {requests:?}");
    for pair in requests.windows(2) {
        let gap = (pair[1] - pair[0]).as_seconds_f64();
        assert!(gap >= 1.95, "a token request {gap:.2} s after a 429 with Retry-After: 2");
    }
    assert_eq!(rig.statuses().await[DEMO_CONTOSO], "throttled");
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_are_retried_with_growing_backoff() {
    let rig = Rig::new(|config| config.checks.timeout = Duration::from_secs(8)).await;
    rig.grant(DEMO_CONTOSO, &BOTH, true).await;
    rig.faults(DEMO_CONTOSO, json!({"token_status": 503})).await;
    rig.seed(&[DEMO_CONTOSO], DAY).await;
    rig.sweep_all().await;
    let requests = rig.token_requests(DEMO_CONTOSO).await;
    assert_eq!(requests.len(), 4, "the first try and three retries: {requests:?}");
    let gaps: Vec<f64> = requests.windows(2).map(|p| (p[1] - p[0]).as_seconds_f64()).collect();
    assert!(gaps[0] >= 0.2 && gaps[2] > gaps[0], "backoff grows: {gaps:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_tenant_does_not_hold_up_the_sweep() {
    let rig = Rig::new(|config| {
        config.checks.timeout = Duration::from_secs(2);
        config.checks.concurrency = 2;
    })
    .await;
    rig.grant(DEMO_CONTOSO, &BOTH, true).await;
    rig.grant(DEMO_WOODGROVE, &BOTH, true).await;
    rig.grant(DEMO_NORTHWIND, &BOTH, true).await;
    rig.faults(DEMO_NORTHWIND, json!({"token_latency_ms": 60000})).await;
    rig.seed(&[DEMO_CONTOSO, DEMO_WOODGROVE, DEMO_NORTHWIND], DAY).await;
    let started = Instant::now();
    rig.sweep_all().await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(8), "the sweep waited {elapsed:?} for a tenant that hangs 60 s");
    let statuses = rig.statuses().await;
    assert_eq!(statuses[DEMO_CONTOSO], "verified");
    assert_eq!(statuses[DEMO_WOODGROVE], "verified");
    assert_eq!(statuses[DEMO_NORTHWIND], "unreachable");
    let reason: String = sql(&rig.pool, "SELECT status_reason FROM tenants WHERE tenant_id = $1").bind(DEMO_NORTHWIND).scalar().await;
    assert!(reason.contains("within 2 s"), "{reason}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_verified_tenant_that_gets_worse_is_an_audit_event() {
    let rig = Rig::new(|_| {}).await;
    rig.grant(DEMO_CONTOSO, &BOTH, true).await;
    rig.seed(&[DEMO_CONTOSO], DAY).await;
    rig.sweep_all().await;
    assert_eq!(rig.statuses().await[DEMO_CONTOSO], "verified");
    rig.client.delete(format!("{}/_fake/tenants/{DEMO_CONTOSO}/grants/{DEMO_CLIENT_ID}", rig.fake.url)).send().await.unwrap();
    rig.sweep_all().await;
    assert_eq!(rig.statuses().await[DEMO_CONTOSO], "consent_removed");
    let detail: String = sql(&rig.pool, "SELECT detail FROM audit_events WHERE kind = 'tenant.degraded' AND tenant_id = $1")
        .bind(DEMO_CONTOSO)
        .scalar()
        .await;
    let detail: Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["from"], "verified");
    assert_eq!(detail["to"], "consent_removed");
    let checks: i64 = sql(&rig.pool, "SELECT COUNT(*) FROM checks WHERE tenant_id = $1").bind(DEMO_CONTOSO).scalar().await;
    assert_eq!(checks, 2, "a fresh token for every check");
}

#[test]
fn propagation_rechecks_fall_at_1_5_15_and_60_minutes_then_every_interval() {
    use consent_portal::domain::TenantStatus;
    use consent_portal::monitor::check::next_check;
    let consented = time::OffsetDateTime::now_utc();
    let interval = Duration::from_secs(6 * 3600);
    let mut now = consented;
    let mut planned = Vec::new();
    for _ in 0..4 {
        let next = next_check(TenantStatus::Propagating, Some(consented), now, interval);
        planned.push((next - consented).whole_minutes());
        now = next;
    }
    assert_eq!(planned, [1, 5, 15, 60]);
    let later = next_check(TenantStatus::Propagating, Some(consented), now, interval);
    assert_eq!((later - now).whole_hours(), 6);
    let verified = next_check(TenantStatus::Verified, Some(consented), consented, interval);
    assert_eq!((verified - consented).whole_hours(), 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_validate_command_checks_and_reports() {
    let rig = Rig::new(|_| {}).await;
    rig.grant(DEMO_CONTOSO, &BOTH, true).await;
    rig.grant(DEMO_WOODGROVE, &["Incident.Read.All"], true).await;
    rig.seed(&[DEMO_CONTOSO, DEMO_WOODGROVE], DAY).await;
    let run = rig.command_line();
    let output = tokio::task::spawn_blocking(move || {
        (run(&["validate", "--all", "--concurrency", "4"]), run(&["validate", "--tenant", DEMO_CONTOSO]))
    })
    .await
    .unwrap();
    let (all, one) = output;
    let stdout = String::from_utf8_lossy(&all.stdout);
    assert_eq!(all.status.code(), Some(1), "a tenant with problems: {stdout}");
    assert!(stdout.contains(DEMO_WOODGROVE) && stdout.contains("missing_roles"), "{stdout}");
    assert!(stdout.contains("2 checked: 1 verified, 1 with problems"), "{stdout}");
    assert_eq!(one.status.code(), Some(0), "{}", String::from_utf8_lossy(&one.stdout));
}

/// The stored wait of a tenant, and its next planned check.
async fn wait_and_next_check(pool: &db::Pool, tenant: &str) -> (time::OffsetDateTime, String) {
    let (not_before, next_check): (String, String) =
        sql(pool, "SELECT not_before, next_check_at FROM tenants WHERE tenant_id = $1").bind(tenant).row().await;
    assert!(next_check >= not_before, "the next check {next_check} comes after the wait {not_before}");
    (time::OffsetDateTime::parse(&not_before, &time::format_description::well_known::Rfc3339).unwrap(), not_before)
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_and_the_schedule_ask_no_token_before_a_stored_retry_after() {
    let rig = Rig::new(|config| config.checks.timeout = Duration::from_secs(3)).await;
    rig.grant(DEMO_CONTOSO, &BOTH, true).await;
    // An hour: longer than the 15 minutes after which a throttled tenant is normally checked again.
    rig.faults(DEMO_CONTOSO, json!({"token_status": 429, "retry_after_s": 3600})).await;
    rig.seed(&[DEMO_CONTOSO], DAY).await;
    rig.sweep_all().await;
    assert_eq!(rig.token_requests(DEMO_CONTOSO).await.len(), 1);
    let (until, until_text) = wait_and_next_check(&rig.pool, DEMO_CONTOSO).await;
    assert!(until - time::OffsetDateTime::now_utc() > time::Duration::minutes(59), "kept for the Retry-After of an hour: {until_text}");
    // Microsoft would answer now, but asked to be left alone for an hour.
    let cleared = rig.client.delete(format!("{}/_fake/tenants/{DEMO_CONTOSO}/faults", rig.fake.url)).send().await.unwrap();
    assert_eq!(cleared.status(), 204);

    // Another process: `validate`, for the tenant and for all.
    let run = rig.command_line();
    let (one, all) =
        tokio::task::spawn_blocking(move || (run(&["validate", "--tenant", DEMO_CONTOSO]), run(&["validate", "--all"]))).await.unwrap();
    for output in [one, all] {
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(1), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.contains("throttled") && stdout.contains(&format!("Throttled until {until_text}")), "{stdout}");
    }
    assert_eq!(rig.token_requests(DEMO_CONTOSO).await.len(), 1, "validate asked for no token");
    assert_eq!(wait_and_next_check(&rig.pool, DEMO_CONTOSO).await.0, until, "and kept the wait");

    // The schedule leaves the tenant alone until then, even if its next check were due.
    sql(&rig.pool, "UPDATE tenants SET next_check_at = '2000-01-01T00:00:00Z'").execute().await;
    assert!(db::monitoring::due(&rig.pool, Timestamp::new(time::OffsetDateTime::now_utc()), 10).await.unwrap().is_empty());
    assert_eq!(db::monitoring::due(&rig.pool, Timestamp::parse(&until_text).unwrap(), 10).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn once_a_short_retry_after_has_passed_a_check_goes_through() {
    // A sweep that gives up before the Retry-After (its timeout is shorter) leaves the wait to the next
    // check, whoever runs it.
    let rig = Rig::new(|config| config.checks.timeout = Duration::from_secs(1)).await;
    rig.grant(DEMO_CONTOSO, &BOTH, true).await;
    rig.faults(DEMO_CONTOSO, json!({"token_status": 429, "retry_after_s": 2})).await;
    rig.seed(&[DEMO_CONTOSO], DAY).await;
    rig.sweep_all().await;
    assert_eq!(rig.statuses().await[DEMO_CONTOSO], "throttled");
    let (until, _) = wait_and_next_check(&rig.pool, DEMO_CONTOSO).await;
    let cleared = rig.client.delete(format!("{}/_fake/tenants/{DEMO_CONTOSO}/faults", rig.fake.url)).send().await.unwrap();
    assert_eq!(cleared.status(), 204);

    let sweeper = rig.sweeper();
    let tenant = TenantId::parse(DEMO_CONTOSO).unwrap();
    let outcome = within(Duration::from_secs(20), async || {
        let checked = sweeper.check_now(Target::new(tenant, None)).await.unwrap();
        if checked.status != consent_portal::domain::TenantStatus::Throttled {
            return Some(checked);
        }
        assert!(checked.reason.starts_with("Throttled until"), "{}", checked.reason);
        None
    })
    .await;
    assert_eq!(outcome.map(|o| o.status), Some(consent_portal::domain::TenantStatus::Verified), "a check went through");
    let requests = rig.token_requests(DEMO_CONTOSO).await;
    assert_eq!(requests.len(), 2, "the 429, then the one after the wait: {requests:?}");
    assert!(requests[1] >= until, "the second token request ({}) came before {until}", requests[1]);
}

#[tokio::test]
async fn a_stored_wait_is_never_shortened_by_the_result_of_another_check() {
    // Two processes check one tenant at once: one meets a 429 with a long Retry-After, the other (which
    // asked just before) reports a shorter wait or none. The longer wait stands.
    let rig = Rig::new(|_| {}).await;
    rig.seed(&[DEMO_CONTOSO], DAY).await;
    let result = |not_before: Option<&str>| db::monitoring::CheckResult {
        tenant_id: TenantId::parse(DEMO_CONTOSO).unwrap(),
        started_at: Timestamp::new(time::OffsetDateTime::now_utc()),
        finished_at: Timestamp::new(time::OffsetDateTime::now_utc()),
        status: consent_portal::domain::TenantStatus::Throttled,
        reason: "Throttled.".into(),
        roles_present: RoleList::default(),
        roles_missing: RoleList::default(),
        error_code: None,
        trace_id: None,
        token_header: None,
        token_claims: None,
        api_status: None,
        apis: Default::default(),
        next_check_at: Timestamp::parse("2100-01-01T00:00:00Z").unwrap(),
        not_before: not_before.map(|at| Timestamp::parse(at).unwrap()),
    };
    for not_before in [Some("2099-01-01T01:00:00Z"), Some("2099-01-01T00:10:00Z"), None] {
        db::monitoring::record_results(&rig.pool, &[result(not_before)], &[]).await.unwrap();
        let stored = db::monitoring::not_before(&rig.pool, TenantId::parse(DEMO_CONTOSO).unwrap()).await.unwrap();
        assert_eq!(stored.map(|at| at.to_string()).as_deref(), Some("2099-01-01T01:00:00Z"));
    }
    db::monitoring::record_results(&rig.pool, &[result(Some("2099-01-01T02:00:00Z"))], &[]).await.unwrap();
    let stored = db::monitoring::not_before(&rig.pool, TenantId::parse(DEMO_CONTOSO).unwrap()).await.unwrap();
    assert_eq!(stored.map(|at| at.to_string()).as_deref(), Some("2099-01-01T02:00:00Z"));
}

#[tokio::test]
async fn a_batch_stores_every_result_as_if_stored_one_by_one() {
    // More results than one statement writes (50), a tenant with two results in the batch (a shorter
    // wait second, then verified: the latest status and the longest wait stand), a removed tenant.
    use consent_portal::domain::TenantStatus;
    let rig = Rig::new(|_| {}).await;
    let ids: Vec<TenantId> = (0..120).map(|_| TenantId::new_random()).collect();
    let at = Timestamp::new(time::OffsetDateTime::now_utc() - DAY);
    db::monitoring::seed_tenants(&rig.pool, "Batch customer", &ids, at).await.unwrap();
    sql(&rig.pool, "UPDATE tenants SET removed_at = $1 WHERE tenant_id = $2").bind(at).bind(ids[7]).execute().await;
    let result = |tenant_id: TenantId, status: TenantStatus, not_before: Option<&str>| db::monitoring::CheckResult {
        tenant_id,
        started_at: Timestamp::new(time::OffsetDateTime::now_utc()),
        finished_at: Timestamp::new(time::OffsetDateTime::now_utc()),
        status,
        reason: format!("{} for {tenant_id}.", status.label()),
        roles_present: RoleList::default(),
        roles_missing: RoleList::default(),
        error_code: None,
        trace_id: None,
        token_header: None,
        token_claims: None,
        api_status: None,
        apis: Default::default(),
        next_check_at: Timestamp::parse("2100-01-01T00:00:00Z").unwrap(),
        not_before: not_before.map(|at| Timestamp::parse(at).unwrap()),
    };
    let mut batch: Vec<_> = ids.iter().map(|id| result(*id, TenantStatus::MissingRoles, None)).collect();
    batch[3] = result(ids[3], TenantStatus::Throttled, Some("2099-01-01T02:00:00Z"));
    batch.push(result(ids[3], TenantStatus::Throttled, Some("2099-01-01T01:00:00Z")));
    batch.push(result(ids[3], TenantStatus::Verified, None));
    db::monitoring::record_results(&rig.pool, &batch, &[]).await.unwrap();

    let checks: i64 = sql(&rig.pool, "SELECT COUNT(*) FROM checks").scalar().await;
    assert_eq!(checks, 121, "every result but the removed tenant's: 119 tenants, one of them three times");
    let mut stored: Vec<(String, String, Option<String>)> =
        sql(&rig.pool, "SELECT tenant_id, status, not_before FROM tenants").rows().await;
    stored.sort_by_key(|(tenant_id, _, _)| ids.iter().position(|id| id.to_string() == *tenant_id));
    for (i, (tenant_id, status, not_before)) in stored.iter().enumerate() {
        assert_eq!(tenant_id, &ids[i].to_string());
        let (expected, wait) = match i {
            3 => ("verified", Some("2099-01-01T02:00:00Z")),
            7 => ("never_checked", None),
            _ => ("missing_roles", None),
        };
        assert_eq!((status.as_str(), not_before.as_deref()), (expected, wait), "tenant {i}");
    }
    let reasons: Vec<String> = sql(&rig.pool, "SELECT detail FROM checks WHERE tenant_id = $1 ORDER BY id").bind(ids[3]).scalars().await;
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[2].starts_with(TenantStatus::Verified.label()), "in the order given: {reasons:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_over_several_tenants_fetches_the_jwks_once() {
    let rig = Rig::new(|config| config.checks.concurrency = 8).await;
    let mut tenants = Vec::new();
    for i in 0..12 {
        let tenant = TenantId::new_random().to_string();
        let created = rig
            .client
            .post(format!("{}/_fake/tenants", rig.fake.url))
            .json(&json!({"id": tenant, "display_name": format!("Tenant {i}"), "domains": [format!("tenant{i}.example")]}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        rig.grant(&tenant, &BOTH, true).await;
        tenants.push(tenant);
    }
    let seeded: Vec<&str> = tenants.iter().map(String::as_str).collect();
    rig.seed(&seeded, DAY).await;
    rig.sweep_all().await;
    let statuses = rig.statuses().await;
    assert!(tenants.iter().all(|t| statuses[t] == "verified"), "{statuses:?}");
    let log: Vec<Value> = rig.client.get(format!("{}/_fake/log", rig.fake.url)).send().await.unwrap().json().await.unwrap();
    let jwks_fetches = log.iter().filter(|e| e["method"] == "GET" && e["path"].as_str().is_some_and(|p| p.contains("/discovery/"))).count();
    assert_eq!(jwks_fetches, 1, "12 tenants, 8 at once: one JWKS fetch, not one per tenant");
}

#[test]
fn the_sweep_benchmark_runs_and_prints_its_figures() {
    let dir = tempfile::tempdir().unwrap();
    let output =
        command_in(dir.path()).args(["bench", "sweep", "--tenants", "40", "--latency-ms", "10", "--concurrency", "8"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    for figure in
        ["elapsed_s=", "ideal_s=0.05", "ratio=", "tokens_per_s=", "portal_cpu_ms_per_token=", "peak_rss_mb=", "verified=40", "cpu="]
    {
        assert!(stdout.contains(figure), "{figure} in {stdout}");
    }
}

#[test]
fn the_tenants_page_benchmark_runs_and_prints_its_figures() {
    let dir = tempfile::tempdir().unwrap();
    let output = command_in(dir.path()).args(["bench", "tenants-page", "--tenants", "120", "--requests", "10"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    for figure in ["tenants=120", "requests=10", "median_ms=", "p95_ms=", "peak_rss_mb="] {
        assert!(stdout.contains(figure), "{figure} in {stdout}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn checks_authenticate_with_a_certificate_assertion() {
    let (certificate_pem, key_pem) = certificate_and_key();
    let client_id = uuid::Uuid::new_v4().to_string();
    let rig = Rig::new({
        let (certificate_pem, key_pem, client_id) = (certificate_pem.clone(), key_pem.clone(), client_id.clone());
        move |config| {
            config.client_id = client_id;
            config.credentials =
                vec![ConfiguredCredential::only(ClientCredential::Certificate { certificate_pem, key_pem: Secret::new(key_pem) })];
        }
    })
    .await;
    let created = rig
        .client
        .post(format!("{}/_fake/apps", rig.fake.url))
        .json(&json!({"client_id": client_id, "certificate_pem": certificate_pem, "redirect_uris": [], "roles": BOTH}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let granted = rig
        .client
        .put(format!("{}/_fake/tenants/{DEMO_CONTOSO}/grants/{client_id}", rig.fake.url))
        .json(&json!({"roles": BOTH}))
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 204);
    rig.seed(&[DEMO_CONTOSO], DAY).await;
    rig.sweep_all().await;
    assert_eq!(rig.statuses().await[DEMO_CONTOSO], "verified");
    let claims: String = sql(&rig.pool, "SELECT token_claims FROM checks WHERE tenant_id = $1").bind(DEMO_CONTOSO).scalar().await;
    let claims: Value = serde_json::from_str(&claims).unwrap();
    assert_eq!(claims["appidacr"], "2", "a certificate credential");
    assert_eq!(claims["appid"], client_id.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn v1_tokens_and_no_probe_when_configured() {
    let rig = Rig::new(|config| {
        config.checks.token_version = consent_portal::config::TokenVersion::V1;
        config.checks.api_probe = false;
    })
    .await;
    rig.grant(DEMO_CONTOSO, &BOTH, true).await;
    rig.seed(&[DEMO_CONTOSO], DAY).await;
    rig.sweep_all().await;
    assert_eq!(rig.statuses().await[DEMO_CONTOSO], "verified");
    let log: Value = rig.client.get(format!("{}/_fake/log", rig.fake.url)).send().await.unwrap().json().await.unwrap();
    let paths: Vec<&str> = log.as_array().unwrap().iter().filter_map(|e| e["path"].as_str()).collect();
    assert!(paths.contains(&format!("/{DEMO_CONTOSO}/oauth2/token").as_str()), "the v1 endpoint: {paths:?}");
    assert!(!paths.iter().any(|p| p.contains("/oauth2/v2.0/token")), "{paths:?}");
    assert!(!paths.contains(&"/api/incidents"), "no probe: {paths:?}");
    let api_status: Option<i64> = sql(&rig.pool, "SELECT api_status FROM checks WHERE tenant_id = $1").bind(DEMO_CONTOSO).scalar().await;
    assert_eq!(api_status, None);
}

#[tokio::test]
async fn the_schedule_picks_the_tenants_that_are_due() {
    let rig = Rig::new(|_| {}).await;
    rig.seed(&[DEMO_CONTOSO, DEMO_NORTHWIND, DEMO_WOODGROVE], DAY).await;
    sql(&rig.pool, "UPDATE tenants SET next_check_at = '2000-01-01T00:00:00Z' WHERE tenant_id = $1").bind(DEMO_CONTOSO).execute().await;
    sql(&rig.pool, "UPDATE tenants SET next_check_at = '2999-01-01T00:00:00Z' WHERE tenant_id = $1").bind(DEMO_NORTHWIND).execute().await;
    sql(&rig.pool, "UPDATE tenants SET removed_at = '2026-01-01T00:00:00Z' WHERE tenant_id = $1").bind(DEMO_WOODGROVE).execute().await;
    let now = Timestamp::new(time::OffsetDateTime::now_utc());
    let due: Vec<String> = db::monitoring::due(&rig.pool, now, 100).await.unwrap().into_iter().map(|d| d.tenant_id.to_string()).collect();
    assert_eq!(due, [DEMO_CONTOSO], "due, not planned for later, not removed");
}

//! The figures of several replicas sharing PostgreSQL, against one portal on SQLite.
//!
//! `bench consent --consents N --concurrency C [--database-url postgres://… --replicas R]` takes N
//! customers' admins through onboarding against the built-in fake (in this process, on loopback) up to
//! the moment Microsoft sends them back to the portal, then times the N consents' callbacks (C at a time,
//! spread over the R replicas in turn): the sign-in's callback (the state checked, the code redeemed at
//! the fake, the ID token verified), Microsoft's admin consent, and the consent's callback, which
//! records the tenant. It prints `consents=… replicas=… engine=…
//! elapsed_s=… callbacks_per_s=…`.
//!
//! `bench sweep-replicas --tenants N --latency-ms L --concurrency C --database-url postgres://…
//! --replicas R` runs R replicas' schedules at once on N due tenants: each takes (leases) the due
//! tenants it can, sweeps them, and goes on until none is due. It prints the wall time until every
//! tenant is checked and how many each replica checked.
//!
//! Each replica is a portal of its own in this process (its pool, its Microsoft client, its router or
//! sweeper); on PostgreSQL the benchmark creates a database of its own on the server of the URL given
//! and drops it at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use futures::StreamExt;
use time::OffsetDateTime;
use tokio::net::TcpListener;

use fake_entra::TenantId as FakeTenantId;
use fake_entra::directory::{Tenant, User};

use super::bench::{Scratch, hidden_value, peak_rss_mb, start_fake_on_own_runtime, sweep_directory};
use crate::config::{DatabaseLocation, demo_config};
use crate::domain::{CustomerName, Secret, SystemClock, TenantId, Timestamp};

#[derive(Debug, Args)]
pub struct ConsentBenchArgs {
    /// Consents to record.
    #[arg(long, default_value_t = 400)]
    pub consents: usize,
    /// Callbacks in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// A PostgreSQL server (`postgres://user@host/postgres`) on which a scratch database is created;
    /// without it, a scratch SQLite file.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Portals sharing the database (PostgreSQL only).
    #[arg(long, default_value_t = 1)]
    pub replicas: usize,
}

#[derive(Debug, Args)]
pub struct SweepReplicasBenchArgs {
    /// Tenants to check.
    #[arg(long, default_value_t = 10_000)]
    pub tenants: usize,
    /// Latency of every token request, in milliseconds.
    #[arg(long, default_value_t = 50)]
    pub latency_ms: u64,
    /// Tenants each replica checks at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// The PostgreSQL server (`postgres://user@host/postgres`) on which a scratch database is created.
    #[arg(long)]
    pub database_url: String,
    /// Replicas sweeping at once.
    #[arg(long, default_value_t = 2)]
    pub replicas: usize,
}

/// The benchmark's database: a scratch SQLite file, or a scratch database on a PostgreSQL server,
/// dropped at the end.
struct BenchDatabase {
    location: DatabaseLocation,
    engine: &'static str,
    /// The server's URL and the scratch database's name, to drop it.
    postgres: Option<(String, String)>,
    _scratch: Scratch,
}

impl BenchDatabase {
    async fn create(postgres_server: Option<&str>) -> anyhow::Result<Self> {
        let scratch = Scratch(std::env::temp_dir().join(format!("consent-portal-bench-{}", uuid::Uuid::new_v4())));
        std::fs::create_dir_all(&scratch.0)?;
        let Some(server) = postgres_server else {
            let location = DatabaseLocation::sqlite_file(scratch.0.join("bench.db"));
            return Ok(Self { location, engine: "sqlite", postgres: None, _scratch: scratch });
        };
        use sqlx::Connection;
        let name = format!("consent_portal_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(server).await?;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
        let mut url = url::Url::parse(server)?;
        url.set_path(&format!("/{name}"));
        let location = DatabaseLocation::Postgres { url: Secret::new(url.as_str()) };
        Ok(Self { location, engine: "postgres", postgres: Some((server.to_owned(), name)), _scratch: scratch })
    }

    async fn drop_database(self) -> anyhow::Result<()> {
        use sqlx::Connection;
        if let Some((server, name)) = &self.postgres {
            let mut admin = sqlx::PgConnection::connect(server).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await?;
        }
        Ok(())
    }
}

pub async fn consent(args: ConsentBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.consents > 0 && args.concurrency > 0 && args.replicas > 0,
        "--consents, --concurrency and --replicas must be positive"
    );
    anyhow::ensure!(
        args.replicas == 1 || args.database_url.is_some(),
        "several replicas need a shared database: give --database-url postgres://…"
    );
    let database = BenchDatabase::create(args.database_url.as_deref()).await?;
    let listeners = futures::future::try_join_all((0..args.replicas).map(|_| TcpListener::bind("127.0.0.1:0"))).await?;
    let addresses: Vec<_> = listeners.iter().map(TcpListener::local_addr).collect::<Result<_, _>>()?;
    // Replicas share one public URL (a load balancer's): the first replica's address.
    let public_url = format!("http://{}", addresses[0]);

    let mut directory = fake_entra::demo::default_directory(&public_url);
    let mut admins = Vec::with_capacity(args.consents);
    for i in 0..args.consents {
        let id = FakeTenantId::new_random();
        let mut tenant = Tenant::new(id, &format!("Customer {i}"), vec![format!("customer{i}.example")]);
        let admin = User {
            id: uuid::Uuid::new_v4().to_string(),
            upn: format!("admin@customer{i}.example"),
            display_name: format!("Admin {i}"),
            admin: true,
            app_roles: Vec::new(),
        };
        admins.push(admin.id.clone());
        tenant.users.push(admin);
        directory.tenants.push(tenant);
    }
    // The fake stands in for Microsoft, which is not in our process: a runtime (and threads) of its own.
    let (fake_url, _fake_runtime) = start_fake_on_own_runtime(directory)?;

    let mut stops = Vec::new();
    let mut pools = Vec::new();
    for (listener, address) in listeners.into_iter().zip(&addresses) {
        let mut config = demo_config(*address, &fake_url, database.location.clone()).map_err(anyhow::Error::msg)?;
        config.public_url = url::Url::parse(&public_url)?;
        let pool = crate::db::open(&config.database).await?;
        let state = crate::app::AppState::new(config, pool.clone()).await?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(crate::server::serve(listener, crate::web::router(state), async move {
            let _ = stopped.await;
        }));
        stops.push(stop);
        pools.push(pool);
    }
    let client = reqwest::Client::new();
    client.put(format!("{fake_url}/_fake/auto")).json(&serde_json::json!({"upn": null, "consent": "accept"})).send().await?;

    // Every admin up to Microsoft's answer: the callback URL, with its browser (cookies).
    let customer = CustomerName::parse("Benchmark customer").map_err(|e| anyhow::anyhow!("{e}"))?;
    let prepared: Vec<(reqwest::Client, String)> = futures::stream::iter(admins.iter())
        .map(|admin| {
            let (pool, customer, fake_url) = (&pools[0], &customer, &fake_url);
            let public_url = &public_url;
            async move {
                let request = crate::invites::InviteRequest {
                    customer,
                    email: None,
                    pinned_tenant: None,
                    pinned_domain: None,
                    language: crate::i18n::Language::English,
                    valid_for: time::Duration::days(1),
                    actor: "bench",
                    send_to: None,
                };
                let invite = crate::invites::create(pool, &SystemClock, request).await?;
                let browser = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?;
                let link = invite.url(public_url);
                let landing = browser.get(&link).send().await?.text().await?;
                let csrf = hidden_value(&landing, "csrf")?;
                let started = browser.post(&link).form(&[("csrf", csrf.as_str())]).send().await?;
                let picker = browser.get(location(&started)?).send().await?.text().await?;
                let interaction = hidden_value(&picker, "interaction")?;
                let back = browser
                    .post(format!("{fake_url}/_fake/ui/login"))
                    .form(&[("interaction", interaction.as_str()), ("user_id", admin.as_str())])
                    .send()
                    .await?;
                anyhow::Ok((browser, location(&back)?))
            }
        })
        .buffer_unordered(args.concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;

    let started = Instant::now();
    let answered: Vec<anyhow::Result<bool>> = futures::stream::iter(prepared.iter().enumerate())
        .map(|(i, (browser, callback))| {
            let replica = format!("http://{}", addresses[i % addresses.len()]);
            let callback = callback.replacen(&public_url, &replica, 1);
            let public_url = &public_url;
            async move {
                // The sign-in's callback, then (v2 flow) Microsoft's admin consent and its callback, each
                // back at the same replica; the consent is recorded when the last page answers.
                let mut answer = browser.get(callback).send().await?;
                for _ in 0..10 {
                    if !answer.status().is_redirection() {
                        break;
                    }
                    answer = browser.get(location(&answer)?.replacen(public_url, &replica, 1)).send().await?;
                }
                anyhow::Ok(answer.status().is_success())
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let recorded = crate::db::tenants::status_counts(&pools[0]).await?.iter().map(|(_, count)| count).sum::<i64>();
    let failed = answered.iter().filter(|answer| !matches!(answer, Ok(true))).count();
    anyhow::ensure!(failed == 0, "{failed} of {} consents did not end on the connected page", args.consents);
    anyhow::ensure!(recorded == args.consents as i64, "{recorded} tenants recorded of {} consents", args.consents);
    println!(
        "consents={} replicas={} engine={} concurrency={} elapsed_s={elapsed:.2} callbacks_per_s={:.0} peak_rss_mb={:.1}",
        args.consents,
        args.replicas,
        database.engine,
        args.concurrency,
        args.consents as f64 / elapsed,
        peak_rss_mb()
    );
    for stop in stops {
        let _ = stop.send(());
    }
    for pool in pools {
        pool.close().await;
    }
    database.drop_database().await
}

pub async fn sweep_replicas(args: SweepReplicasBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.tenants > 0 && args.concurrency > 0 && args.replicas > 0,
        "--tenants, --concurrency and --replicas must be positive"
    );
    let database = BenchDatabase::create(Some(&args.database_url)).await?;
    let consented = OffsetDateTime::now_utc() - time::Duration::days(1);
    let tenants: Vec<FakeTenantId> = (0..args.tenants).map(|_| FakeTenantId::new_random()).collect();
    let directory = sweep_directory(&tenants, args.latency_ms, consented);
    let (fake_url, _fake_runtime) = start_fake_on_own_runtime(directory)?;
    let mut config = demo_config("127.0.0.1:0".parse()?, &fake_url, database.location.clone()).map_err(anyhow::Error::msg)?;
    config.checks.concurrency = args.concurrency;
    config.checks.timeout = Duration::from_secs(120);
    let config = Arc::new(config);
    let pool = crate::db::open(&config.database).await?;
    let ids = tenants.iter().map(|t| TenantId::parse(&t.to_string())).collect::<Result<Vec<_>, _>>()?;
    crate::db::monitoring::seed_tenants(&pool, "Benchmark customer", &ids, Timestamp::new(consented)).await?;

    // Each replica's schedule, until no tenant is due: lease what is due (at most as many as the
    // schedule takes at a tick), sweep it. The first pass has the fake sign every tenant's token; the
    // second, measured, starts with every tenant due again.
    let run_replicas = async |count: usize| -> anyhow::Result<(f64, Vec<usize>)> {
        crate::db::tenants::check_all_at_next_pass(&pool).await?;
        let started = Instant::now();
        let checked = futures::future::try_join_all((0..count).map(|_| {
            let config = config.clone();
            async move {
                let pool = crate::db::open(&config.database).await?;
                let entra = crate::entra::EntraClient::new(&config)?;
                let sweeper = crate::monitor::sweeper(&config, &entra, pool.clone(), Arc::new(SystemClock), Default::default());
                let mut checked = 0;
                loop {
                    let now = Timestamp::new(OffsetDateTime::now_utc());
                    let due =
                        crate::db::monitoring::lease_due(&pool, now, crate::monitor::schedule::PER_TICK, sweeper.lease_until()).await?;
                    if due.is_empty() {
                        break;
                    }
                    checked += due.len();
                    sweeper.sweep(due.iter().map(crate::monitor::sweep::Target::from_row).collect()).await?;
                }
                pool.close().await;
                anyhow::Ok(checked)
            }
        }))
        .await?;
        Ok((started.elapsed().as_secs_f64(), checked))
    };
    run_replicas(args.replicas).await?;
    let (elapsed, checked) = run_replicas(args.replicas).await?;
    anyhow::ensure!(checked.iter().sum::<usize>() == args.tenants, "{checked:?} checked of {} tenants", args.tenants);
    let tokens = args.tenants * config.required.len();
    println!(
        "tenants={} replicas={} engine=postgres latency_ms={} concurrency={} elapsed_s={elapsed:.2} tokens_per_s={:.0} checked_per_replica={checked:?} peak_rss_mb={:.1}",
        args.tenants,
        args.replicas,
        args.latency_ms,
        args.concurrency,
        tokens as f64 / elapsed,
        peak_rss_mb()
    );
    pool.close().await;
    database.drop_database().await
}

/// A redirect's target, absolute.
fn location(response: &reqwest::Response) -> anyhow::Result<String> {
    let target = response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| anyhow::anyhow!("{} answered {} without a redirect", response.url(), response.status()))?;
    Ok(response.url().join(target)?.to_string())
}

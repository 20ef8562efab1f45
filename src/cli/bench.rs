//! `consent-portal bench …`: the figures README.md quotes, measured on this machine.
//!
//! `bench sweep --tenants N --latency-ms L --concurrency C` runs a sweep against the built-in fake (in
//! this process, on loopback) with L ms of latency on every token request, in a scratch database, and
//! prints `elapsed_s=… ideal_s=… ratio=… tokens_per_s=… portal_cpu_ms_per_token=… peak_rss_mb=… cpu=…`;
//! ideal_s is N·L/C and a token check is one tenant's token for one required API. The fake gets a
//! runtime of its own (two threads) and the portal's sweep one thread. The fake signs each app-only
//! token once and serves it again (`FakeEntra::cache_app_tokens`): signing is Microsoft's work in
//! production, and would otherwise take most of the CPU the benchmark measures. So a first sweep, not
//! timed, has the fake sign every tenant's token; the second, by a portal client of its own (no key or
//! connection kept from the first), is the one measured. portal_cpu_ms_per_token is the CPU time of the
//! portal's sweep thread and of SQLite's connection threads during that sweep, per token check; the
//! fake's threads are left out.
//!
//! `bench tenants-page --tenants N --requests R` fills a scratch database with N tenants (and a check
//! each), signs a staff member in through the fake, and times R requests of the tenants page (the first
//! page, a search, a status filter, a sort, a later page), printing the median and 95th percentile as
//! seen by a client on loopback — an upper bound of the time spent on the server.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use time::OffsetDateTime;
use tokio::net::TcpListener;

use fake_entra::TenantId;
use fake_entra::demo::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use fake_entra::directory::{AppRegistration, AppSecret, Directory, Faults, Tenant};
use fake_entra::{FakeEntra, server};

use crate::config::{DatabaseLocation, demo_config};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// A sweep over N tenants against the built-in fake with L ms of token latency.
    Sweep(SweepBenchArgs),
    /// The staff tenants page over N tenants.
    TenantsPage(PageBenchArgs),
    /// A re-consent campaign over N tenants: its creation, then its page.
    Campaign(PageBenchArgs),
    /// The fleet overview (the staff home) over N tenants with D days of checks.
    Overview(super::bench_overview::OverviewBenchArgs),
    /// N consent callbacks, on one portal or on replicas sharing PostgreSQL.
    Consent(super::bench_replicas::ConsentBenchArgs),
    /// A sweep of N tenants split between replicas sharing PostgreSQL.
    SweepReplicas(super::bench_replicas::SweepReplicasBenchArgs),
}

#[derive(Debug, Args)]
pub struct PageBenchArgs {
    /// Tenants in the database.
    #[arg(long, default_value_t = 10_000)]
    pub tenants: usize,
    /// Page requests to time.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
}

#[derive(Debug, Args)]
pub struct SweepBenchArgs {
    /// Tenants to check.
    #[arg(long, default_value_t = 10_000)]
    pub tenants: usize,
    /// Latency of every token request, in milliseconds.
    #[arg(long, default_value_t = 50)]
    pub latency_ms: u64,
    /// Tenants checked at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
}

pub async fn run(command: BenchCommand) -> ExitCode {
    match command {
        BenchCommand::Sweep(args) => report(sweep(args).await),
        BenchCommand::TenantsPage(args) => report(tenants_page(args).await),
        BenchCommand::Campaign(args) => report(super::bench_campaign::run(args).await),
        BenchCommand::Overview(args) => report(super::bench_overview::run(args).await),
        BenchCommand::Consent(args) => report(super::bench_replicas::consent(args).await),
        BenchCommand::SweepReplicas(args) => report(super::bench_replicas::sweep_replicas(args).await),
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Peak resident memory of this process (VmHWM), in MB; 0 where /proc is not there.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A scratch folder removed when dropped.
pub(super) struct Scratch(pub(super) std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn sweep(args: SweepBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.tenants > 0 && args.concurrency > 0, "--tenants and --concurrency must be positive");
    let scratch = Scratch(std::env::temp_dir().join(format!("consent-portal-bench-{}", uuid::Uuid::new_v4())));
    std::fs::create_dir_all(&scratch.0)?;
    let consented = OffsetDateTime::now_utc() - time::Duration::days(1);
    let tenants: Vec<TenantId> = (0..args.tenants).map(|_| TenantId::new_random()).collect();
    let directory = sweep_directory(&tenants, args.latency_ms, consented);
    // The fake stands in for Microsoft, which is not in our process: it gets a runtime (and threads)
    // of its own, so its work does not queue behind the portal's tasks.
    let (fake_url, _fake_runtime) = start_fake_on_own_runtime(directory)?;

    let path = scratch.0.join("bench.db");
    let database = DatabaseLocation::sqlite_file(path);
    let mut config = demo_config("127.0.0.1:0".parse()?, &fake_url, database).map_err(anyhow::Error::msg)?;
    config.checks.concurrency = args.concurrency;
    config.checks.timeout = Duration::from_secs(120);
    let ids = tenants.iter().map(|t| crate::domain::TenantId::parse(&t.to_string())).collect::<Result<Vec<_>, _>>()?;
    let consented = crate::domain::Timestamp::new(consented);
    let checks = args.tenants * required_api_count(&config);
    // The portal side on one thread of its own: its work is light, and the fake keeps the cores.
    let (progress, elapsed, portal_cpu) = std::thread::Builder::new()
        .name(PORTAL_THREAD.into())
        .spawn(move || -> anyhow::Result<_> {
            let runtime = tokio::runtime::Builder::new_current_thread().thread_name(PORTAL_THREAD).enable_all().build()?;
            runtime.block_on(async move {
                let pool = crate::db::open(&config.database).await?;
                crate::db::monitoring::seed_tenants(&pool, "Benchmark customer", &ids, consented).await?;
                let sweep_all = async || -> anyhow::Result<_> {
                    let entra = crate::entra::EntraClient::new(&config)?;
                    let sweeper = crate::monitor::sweeper(
                        &config,
                        &entra,
                        pool.clone(),
                        std::sync::Arc::new(crate::domain::SystemClock),
                        Default::default(),
                    );
                    let targets = crate::db::monitoring::all(&pool).await?.iter().map(crate::monitor::sweep::Target::from_row).collect();
                    let (cpu_before, started) = (portal_cpu_time(), Instant::now());
                    let progress = sweeper.sweep(targets).await?;
                    let elapsed = started.elapsed().as_secs_f64();
                    let cpu = portal_cpu_time().zip(cpu_before).map(|(after, before)| after.saturating_sub(before));
                    anyhow::Ok((progress, elapsed, cpu))
                };
                // The fake signs each tenant's token during the first sweep, and serves it again after.
                sweep_all().await?;
                let measured = sweep_all().await?;
                pool.close().await;
                anyhow::Ok(measured)
            })
        })?
        .join()
        .map_err(|_| anyhow::anyhow!("the sweep thread panicked"))??;
    anyhow::ensure!(progress.done == args.tenants, "only {} of {} tenants were checked", progress.done, args.tenants);
    if progress.verified != args.tenants {
        eprintln!("warning: {} of {} tenants were not verified", args.tenants - progress.verified, args.tenants);
    }
    let ideal = args.tenants as f64 * args.latency_ms as f64 / 1000.0 / args.concurrency as f64;
    let cpu_per_token = portal_cpu.map_or_else(|| "n/a".to_owned(), |cpu| format!("{:.3}", cpu.as_secs_f64() * 1000.0 / checks as f64));
    println!(
        "tenants={} latency_ms={} concurrency={} verified={} elapsed_s={elapsed:.2} ideal_s={ideal:.2} ratio={:.3} tokens_per_s={:.0} \
         portal_cpu_ms_per_token={cpu_per_token} peak_rss_mb={:.1} cpu={}",
        args.tenants,
        args.latency_ms,
        args.concurrency,
        progress.verified,
        elapsed / ideal,
        checks as f64 / elapsed,
        peak_rss_mb(),
        cpu_model()
    );
    Ok(())
}

/// The fake's directory for a sweep: the demo's app, and `tenants` that granted it every permission
/// the demo requires (Microsoft Graph's and the Defender XDR API's: two tokens per tenant) at
/// `consented`, each token answered after `latency_ms`.
pub(super) fn sweep_directory(tenants: &[TenantId], latency_ms: u64, consented: OffsetDateTime) -> Directory {
    let permissions = fake_entra::demo::demo_permissions();
    let mut directory = Directory::empty();
    directory.apps.push(AppRegistration {
        client_id: DEMO_CLIENT_ID.into(),
        display_name: "Benchmark app".into(),
        secrets: vec![AppSecret { value: DEMO_CLIENT_SECRET.into(), expires_at: None }],
        certificates: Vec::new(),
        redirect_uris: Vec::new(),
        permissions: permissions.clone(),
    });
    for (i, id) in tenants.iter().enumerate() {
        let mut tenant = Tenant::new(*id, &format!("Tenant {i}"), vec![format!("tenant{i}.example")]);
        tenant.set_grant(DEMO_CLIENT_ID, permissions.clone(), true, consented);
        tenant.faults = Faults { token_latency_ms: Some(latency_ms), ..Faults::default() };
        directory.tenants.push(tenant);
    }
    directory
}

/// The name of the portal's sweep thread (and of its runtime's blocking threads).
const PORTAL_THREAD: &str = "portal-sweep";
/// How SQLite's connection threads (sqlx's) begin their names, as the kernel keeps them (15 bytes).
const SQLITE_THREADS: &str = "sqlx-sqlite-wor";

/// How many tokens a check of one tenant asks for: one per required API.
fn required_api_count(config: &crate::config::Config) -> usize {
    config.required.len()
}

/// The CPU time so far of the portal's threads in this process (the sweep's and SQLite's), from the
/// scheduler's own count (`/proc/self/task/*/schedstat`, nanoseconds); `None` where /proc does not
/// have it. A thread that ended is no longer counted, so this is read while the pool is open.
fn portal_cpu_time() -> Option<Duration> {
    let mut total = Duration::ZERO;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let Ok(task) = task else { continue };
        // A thread may end between the listing and the reading: it is skipped.
        let Ok(name) = std::fs::read_to_string(task.path().join("comm")) else { continue };
        if !name.starts_with(PORTAL_THREAD) && !name.starts_with(SQLITE_THREADS) {
            continue;
        }
        let Ok(schedstat) = std::fs::read_to_string(task.path().join("schedstat")) else { continue };
        total += Duration::from_nanos(schedstat.split_whitespace().next()?.parse().ok()?);
    }
    Some(total)
}

/// The processor's model name (`/proc/cpuinfo`), for the figures to say where they were measured.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split_once(':')).map(|(_, name)| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

async fn tenants_page(args: PageBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.tenants > 0 && args.requests > 0, "--tenants and --requests must be positive");
    let portal = SignedInPortal::start(async |pool| seed_checked_tenants(pool, args.tenants).await).await?;
    let pages =
        ["/tenants", "/tenants?q=Customer%2042", "/tenants?status=missing_roles", "/tenants?sort=last_check&dir=desc", "/tenants?page=100"];
    let (median, p95) = portal.time_pages(&pages, args.requests).await?;
    println!("tenants={} requests={} median_ms={median:.2} p95_ms={p95:.2} peak_rss_mb={:.1}", args.tenants, args.requests, peak_rss_mb());
    Ok(())
}

/// A portal (the real router, the demo configuration, a scratch database) and the fake beside it, with
/// a staff admin signed in: what the page benchmarks time.
pub(super) struct SignedInPortal {
    pub url: String,
    pub client: reqwest::Client,
    pub state: crate::app::AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _fake: server::FakeServer,
    _scratch: Scratch,
}

impl SignedInPortal {
    /// Starts it on a database that `seed` fills first.
    pub async fn start(seed: impl AsyncFnOnce(&crate::db::Pool) -> anyhow::Result<()>) -> anyhow::Result<Self> {
        let scratch = Scratch(std::env::temp_dir().join(format!("consent-portal-bench-{}", uuid::Uuid::new_v4())));
        std::fs::create_dir_all(&scratch.0)?;
        let portal_listener = TcpListener::bind("127.0.0.1:0").await?;
        let portal_address = portal_listener.local_addr()?;
        let url = format!("http://{portal_address}");
        let fake_listener = TcpListener::bind("127.0.0.1:0").await?;
        let fake_url = format!("http://{}", fake_listener.local_addr()?);
        let directory = fake_entra::demo::default_directory(&url);
        let fake = tokio::task::spawn_blocking({
            let fake_url = fake_url.clone();
            move || FakeEntra::new(&fake_url, directory)
        })
        .await??;
        let fake = server::start(fake_listener, fake, None);

        let path = scratch.0.join("bench.db");
        let database = DatabaseLocation::sqlite_file(path);
        let config = demo_config(portal_address, &fake_url, database).map_err(anyhow::Error::msg)?;
        let pool = crate::db::open(&config.database).await?;
        seed(&pool).await?;
        let state = crate::app::AppState::new(config, pool).await?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(crate::server::serve(portal_listener, crate::web::router(state.clone()), async move {
            let _ = stopped.await;
        }));

        let client = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::limited(10)).build()?;
        client
            .put(format!("{fake_url}/_fake/auto"))
            .json(&serde_json::json!({"upn": "alex@fabrikampartner.example", "consent": null}))
            .send()
            .await?;
        let sign_in = client.get(format!("{url}/staff/sign-in")).send().await?.text().await?;
        let csrf = hidden_value(&sign_in, "csrf")?;
        let signed_in = client.post(format!("{url}/staff/sign-in")).form(&[("csrf", csrf.as_str())]).send().await?;
        anyhow::ensure!(signed_in.url().path() == "/", "staff sign-in did not reach the overview (at {})", signed_in.url());
        Ok(Self { url, client, state, stop: Some(stop), _fake: fake, _scratch: scratch })
    }

    /// Times `requests` requests of `pages` in turn; the median and 95th percentile, in milliseconds,
    /// as seen by a client on loopback.
    pub async fn time_pages(&self, pages: &[&str], requests: usize) -> anyhow::Result<(f64, f64)> {
        let mut timings = Vec::with_capacity(requests);
        for i in 0..requests {
            let started = Instant::now();
            let response = self.client.get(format!("{}{}", self.url, pages[i % pages.len()])).send().await?;
            anyhow::ensure!(response.status().is_success(), "{} answered {}", pages[i % pages.len()], response.status());
            let _ = response.bytes().await?;
            timings.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        timings.sort_by(f64::total_cmp);
        let median = timings[timings.len() / 2];
        let p95 = timings[(timings.len() * 95 / 100).min(timings.len() - 1)];
        Ok((median, p95))
    }
}

impl Drop for SignedInPortal {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// N tenants of 100 customers, with statuses of every kind and a check each.
pub(super) async fn seed_checked_tenants(pool: &crate::db::Pool, tenants: usize) -> anyhow::Result<()> {
    use crate::domain::{ApiResults, RoleList, TenantStatus, Timestamp};
    let consented = Timestamp::new(OffsetDateTime::now_utc() - time::Duration::days(30));
    let ids: Vec<crate::domain::TenantId> = (0..tenants).map(|_| crate::domain::TenantId::new_random()).collect();
    for (customer, chunk) in ids.chunks(tenants.div_ceil(100).max(1)).enumerate() {
        crate::db::monitoring::seed_tenants(pool, &format!("Customer {customer}"), chunk, consented).await?;
    }
    let now = Timestamp::new(OffsetDateTime::now_utc());
    let roles = |name: &str| RoleList(vec![name.to_owned()]);
    let (present, missing) = (roles("defender:Incident.Read.All"), roles("graph:ThreatHunting.Read.All"));
    let results: Vec<crate::db::monitoring::CheckResult> = ids
        .iter()
        .enumerate()
        .map(|(i, tenant_id)| {
            let status = TenantStatus::ALL[i % TenantStatus::ALL.len()];
            crate::db::monitoring::CheckResult {
                tenant_id: *tenant_id,
                started_at: now,
                finished_at: now,
                status,
                reason: format!("Seeded as {}.", status.label()),
                roles_present: present.clone(),
                roles_missing: missing.clone(),
                error_code: None,
                trace_id: None,
                token_header: None,
                token_claims: None,
                api_status: None,
                apis: ApiResults::default(),
                next_check_at: now,
                not_before: None,
            }
        })
        .collect();
    for chunk in results.chunks(1000) {
        crate::db::monitoring::record_results(pool, chunk, &[]).await?;
    }
    Ok(())
}

/// Starts the fake on a runtime of its own, in its own threads; returns its URL and a guard that stops
/// it when dropped.
pub(super) fn start_fake_on_own_runtime(directory: Directory) -> anyhow::Result<(String, FakeThread)> {
    let (url_sender, url_receiver) = std::sync::mpsc::channel::<anyhow::Result<String>>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new().name("fake-entra".into()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("fake-entra").enable_all().build() {
            Ok(runtime) => runtime,
            Err(error) => {
                let _ = url_sender.send(Err(error.into()));
                return;
            }
        };
        runtime.block_on(async move {
            let started = async {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let url = format!("http://{}", listener.local_addr()?);
                let fake = FakeEntra::new(&url, directory)?;
                fake.cache_app_tokens(true);
                anyhow::Ok((url, server::start(listener, fake, None)))
            }
            .await;
            match started {
                Ok((url, server)) => {
                    let _ = url_sender.send(Ok(url));
                    let _ = stopped.await;
                    drop(server);
                }
                Err(error) => {
                    let _ = url_sender.send(Err(error));
                }
            }
        });
    })?;
    let url = url_receiver.recv()??;
    Ok((url, FakeThread { stop: Some(stop), thread: Some(thread) }))
}

/// Stops the fake's thread when dropped.
pub(super) struct FakeThread {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FakeThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The value of the hidden form field `name` in a page.
pub(super) fn hidden_value(html: &str, name: &str) -> anyhow::Result<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).ok_or_else(|| anyhow::anyhow!("no {name} in the page"))? + marker.len();
    let end = html[start..].find('"').ok_or_else(|| anyhow::anyhow!("{name} does not end"))?;
    Ok(html[start..start + end].to_owned())
}

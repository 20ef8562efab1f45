//! `consent-portal bench …`: the figures README.md quotes, measured on this machine.
//!
//! `bench sweep --tenants N --latency-ms L --concurrency C` runs a sweep against the built-in fake (in
//! this process, on loopback) with L ms of latency on every token request, in a scratch database, and
//! prints `elapsed_s=… ideal_s=… ratio=… peak_rss_mb=…`; ideal_s is N·L/C.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use time::OffsetDateTime;
use tokio::net::TcpListener;

use crate::config::DatabaseLocation;
use crate::demo::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use crate::domain::TenantId;
use crate::fake_entra::directory::{AppRegistration, AppSecret, Directory, Faults, Tenant};
use crate::fake_entra::{FakeEntra, server};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// A sweep over N tenants against the built-in fake with L ms of token latency.
    Sweep(SweepBenchArgs),
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
        BenchCommand::Sweep(args) => match sweep(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        },
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
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn sweep(args: SweepBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.tenants > 0 && args.concurrency > 0, "--tenants and --concurrency must be positive");
    let scratch = Scratch(std::env::temp_dir().join(format!("consent-portal-bench-{}", uuid::Uuid::new_v4())));
    std::fs::create_dir_all(&scratch.0)?;
    let roles = vec!["Incident.Read.All".to_owned(), "AdvancedHunting.Read.All".to_owned()];
    let consented = OffsetDateTime::now_utc() - time::Duration::days(1);
    let tenants: Vec<TenantId> = (0..args.tenants).map(|_| TenantId::new_random()).collect();
    let mut directory = Directory::empty();
    directory.apps.push(AppRegistration {
        client_id: DEMO_CLIENT_ID.into(),
        display_name: "Benchmark app".into(),
        secrets: vec![AppSecret { value: DEMO_CLIENT_SECRET.into(), expires_at: None }],
        certificates: Vec::new(),
        redirect_uris: Vec::new(),
        roles: roles.clone(),
    });
    for (i, id) in tenants.iter().enumerate() {
        let mut tenant = Tenant::new(*id, &format!("Tenant {i}"), vec![format!("tenant{i}.example")]);
        tenant.set_grant(DEMO_CLIENT_ID, roles.clone(), true, consented);
        tenant.faults = Faults { token_latency_ms: Some(args.latency_ms), ..Faults::default() };
        directory.tenants.push(tenant);
    }
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let fake_url = format!("http://{}", listener.local_addr()?);
    let fake = tokio::task::spawn_blocking({
        let fake_url = fake_url.clone();
        move || FakeEntra::new(&fake_url, directory)
    })
    .await??;
    let _fake = server::start(listener, fake, None);

    let path = scratch.0.join("bench.db");
    let database = DatabaseLocation { url: format!("sqlite://{}", path.display()), path };
    let mut config = crate::demo::demo_config("127.0.0.1:0".parse()?, &fake_url, database).map_err(anyhow::Error::msg)?;
    config.checks.concurrency = args.concurrency;
    config.checks.timeout = Duration::from_secs(120);
    let pool = crate::db::open(&config.database).await?;
    let ids: Vec<String> = tenants.iter().map(ToString::to_string).collect();
    crate::db::monitoring::seed_tenants(&pool, "Benchmark customer", &ids, &crate::db::timestamp_text(consented)).await?;
    let entra = crate::entra::EntraClient::new(&config)?;
    let sweeper = crate::monitor::sweeper(&config, &entra, pool.clone());
    let targets = crate::db::monitoring::all(&pool).await?.iter().filter_map(crate::monitor::sweep::Target::from_row).collect();

    let started = Instant::now();
    let progress = sweeper.sweep(targets).await?;
    let elapsed = started.elapsed().as_secs_f64();
    pool.close().await;
    anyhow::ensure!(progress.done == args.tenants, "only {} of {} tenants were checked", progress.done, args.tenants);
    if progress.verified != args.tenants {
        eprintln!("warning: {} of {} tenants were not verified", args.tenants - progress.verified, args.tenants);
    }
    let ideal = args.tenants as f64 * args.latency_ms as f64 / 1000.0 / args.concurrency as f64;
    println!(
        "tenants={} latency_ms={} concurrency={} verified={} elapsed_s={elapsed:.2} ideal_s={ideal:.2} ratio={:.3} peak_rss_mb={:.1}",
        args.tenants,
        args.latency_ms,
        args.concurrency,
        progress.verified,
        elapsed / ideal,
        peak_rss_mb()
    );
    Ok(())
}

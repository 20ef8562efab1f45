//! `consent-portal validate`: check tenants now, with a progress bar.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::failure;
use crate::db;
use crate::domain::{TenantId, TenantStatus};
use crate::startup::refuse_to_start;
use crate::{entra, tenants};

/// `validate [--all | --tenant T] [--concurrency N]`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Check every tenant.
    #[arg(long, conflicts_with = "tenant", required_unless_present = "tenant")]
    pub all: bool,
    /// Check this tenant only.
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: Option<String>,
    /// Tenants checked at once [default: PORTAL_CHECK_CONCURRENCY].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    #[command(flatten)]
    pub config: crate::config::ConfigArgs,
}

/// Checks tenants now, with a progress bar on standard error; prints one line per tenant that is not
/// verified. Exit status 0 when every tenant checked is verified, 1 otherwise.
pub async fn run(args: ValidateArgs) -> ExitCode {
    let mut config_args = args.config.clone();
    if let Some(concurrency) = args.concurrency {
        config_args.check_concurrency = concurrency;
    }
    let config = match crate::config::Config::from_args(&config_args) {
        Ok(config) => config,
        Err(error) => return refuse_to_start(error),
    };
    let pool = match db::open(&config.database).await {
        Ok(pool) => pool,
        Err(error) => return refuse_to_start(format_args!("PORTAL_DATABASE_URL: {error}")),
    };
    let entra = match entra::EntraClient::new(&config) {
        Ok(entra) => entra,
        Err(error) => return failure(error),
    };
    let rows = match &args.tenant {
        Some(tenant) => match TenantId::parse(tenant.trim()) {
            Ok(tenant) => match db::monitoring::one(&pool, tenant).await {
                Ok(Some(row)) => vec![row],
                Ok(None) => return failure(format_args!("no tenant {tenant} is recorded")),
                Err(error) => return failure(error),
            },
            Err(error) => return refuse_to_start(format_args!("--tenant: {error}")),
        },
        None => match db::monitoring::all(&pool).await {
            Ok(rows) => rows,
            Err(error) => return failure(error),
        },
    };
    let targets: Vec<crate::monitor::sweep::Target> = rows.iter().map(crate::monitor::sweep::Target::from_row).collect();
    let now = crate::domain::Timestamp::new(time::OffsetDateTime::now_utc());
    let history = match crate::campaigns::requirements::history(&pool, &config.required, now).await {
        Ok(history) => history,
        Err(error) => return failure(error),
    };
    let sweeper = crate::monitor::sweeper(
        &config,
        &entra,
        pool.clone(),
        std::sync::Arc::new(crate::domain::SystemClock),
        std::sync::Arc::new(history),
    );
    let bar = indicatif::ProgressBar::new(targets.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} checking tenants [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let sweep = {
        let sweeper = sweeper.clone();
        tokio::spawn(async move { sweeper.sweep(targets).await })
    };
    while !sweep.is_finished() {
        let progress = sweeper.progress();
        bar.set_position(progress.done as u64);
        bar.set_message(format!("{} verified, {} with problems", progress.verified, progress.problems));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let result = sweep.await;
    bar.finish_and_clear();
    let progress = match result {
        Ok(Ok(progress)) => progress,
        Ok(Err(error)) => return failure(error),
        Err(error) => return failure(error),
    };
    let rows = tenants::list(&pool).await.unwrap_or_default();
    pool.close().await;
    for row in rows.iter().filter(|r| r.status != TenantStatus::Verified) {
        if args.tenant.as_deref().is_none_or(|t| t.trim().eq_ignore_ascii_case(&row.tenant_id.to_string())) {
            println!("{}  {:<16}  {}  {}", row.tenant_id, row.status, row.customer, row.status_reason.as_deref().unwrap_or(""));
        }
    }
    println!("{} checked: {} verified, {} with problems", progress.done, progress.verified, progress.problems);
    if progress.problems == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

//! The command line. Every option is also read from a `PORTAL_*` environment variable, and a `.env`
//! file in the working directory is loaded first when present (variables already set win).
//!
//! Exit status: 0 success; 1 a failure while running; 2 a usage error or a configuration the portal
//! cannot start with (the message names the variable and what is wrong).
//!
//! One module per subcommand: [`serve`], [`demo`], [`migrate`], [`backup`], [`healthcheck`],
//! [`fake_entra`], [`invite`], [`tenants`], [`campaign`], [`validate`] and [`bench`]. `demo`, `fake-entra` and
//! `bench` run the built-in fake Microsoft, so they exist only with the `demo` cargo feature (on by
//! default).

pub mod backup;
#[cfg(feature = "demo")]
pub mod bench;
#[cfg(feature = "demo")]
mod bench_campaign;
#[cfg(feature = "demo")]
mod bench_overview;
#[cfg(feature = "demo")]
mod bench_replicas;
pub mod campaign;
#[cfg(feature = "demo")]
pub mod demo;
#[cfg(feature = "demo")]
mod demo_story;
#[cfg(feature = "demo")]
pub mod fake_entra;
pub mod healthcheck;
pub mod invite;
pub mod migrate;
pub mod serve;
pub mod tenants;
pub mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{ConfigArgs, DEFAULT_AUTHORITY_HOST, DEFAULT_BIND, DEFAULT_DATABASE_URL, LogFormat};
use crate::startup::refuse_to_start;
use crate::{config, db, logging};

/// Onboard customer tenants onto your multi-tenant Entra ID app for the Microsoft 365 Defender APIs,
/// prove which tenant consented, and keep checking it.
///
/// Without a subcommand, runs `serve`. Every option can also be set through the environment variable
/// named beside it, or in a .env file in the working directory.
#[derive(Debug, Parser)]
#[command(name = "consent-portal", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Log line format.
    #[arg(long, global = true, env = "PORTAL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub serve: ConfigArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the portal from configuration (the default).
    Serve(Box<ConfigArgs>),
    /// Run the portal with an embedded default that needs nothing configured: SQLite in a data folder,
    /// loopback only.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// Apply the database migrations and exit.
    Migrate(DatabaseArgs),
    /// Write a consistent copy of the live database to PATH (safe while the portal runs; never
    /// overwrites a file).
    Backup(BackupArgs),
    /// Run the built-in fake of the Microsoft identity platform and the Defender API on its own.
    #[cfg(feature = "demo")]
    FakeEntra(::fake_entra::cli::FakeEntraArgs),
    /// Create or revoke customer invites.
    #[command(subcommand)]
    Invite(invite::InviteCommand),
    /// List recorded tenants.
    #[command(subcommand)]
    Tenants(tenants::TenantsCommand),
    /// Re-consent campaigns: ask customers to approve the permissions the application now needs.
    #[command(subcommand)]
    Campaign(campaign::CampaignCommand),
    /// Check tenants now: a fresh token each, verified, roles compared, the API called.
    Validate(Box<validate::ValidateArgs>),
    /// Benchmarks (figures for README.md).
    #[cfg(feature = "demo")]
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Ask a running portal whether it is up (GET /healthz); exit 0 if so. For container health checks.
    Healthcheck(HealthcheckArgs),
}

#[cfg(feature = "demo")]
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Loopback address and port for the portal.
    #[arg(long, env = "PORTAL_DEMO_BIND", value_name = "ADDR:PORT", default_value = DEFAULT_BIND)]
    pub bind: String,

    /// Folder for the demo's database (kept apart from a real deployment's).
    #[arg(long, env = "PORTAL_DEMO_DATA_DIR", value_name = "PATH", default_value = "data/demo")]
    pub data_dir: PathBuf,

    /// Loopback address and port for the built-in fake Microsoft identity platform.
    #[arg(long, env = "PORTAL_DEMO_FAKE_BIND", value_name = "ADDR:PORT", default_value = "127.0.0.1:8081")]
    pub fake_bind: String,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// SQLite database, created when missing (with its folder).
    #[arg(long, env = "PORTAL_DATABASE_URL", value_name = "URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// The backup file to write; it must not exist yet.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct HealthcheckArgs {
    /// The portal's listen address, as given to `serve`.
    #[arg(long, env = "PORTAL_BIND", value_name = "ADDR:PORT", default_value = DEFAULT_BIND)]
    pub bind: String,
}

/// What these commands need of the configuration.
#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// The portal's public base URL (onboarding links are built from it).
    #[arg(long, env = "PORTAL_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// SQLite database, created when missing (with its folder).
    #[arg(long, env = "PORTAL_DATABASE_URL", value_name = "URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// Microsoft identity platform sign-in host (resolves --domain).
    #[arg(long, env = "PORTAL_AUTHORITY_HOST", value_name = "URL", default_value = DEFAULT_AUTHORITY_HOST)]
    pub authority_host: String,
}

/// Opens the database of `admin` (applying migrations), or the exit status of a refusal to start.
async fn open_database(admin: &AdminArgs) -> Result<crate::db::Pool, ExitCode> {
    let location = config::parse_database_url(&admin.database_url).map_err(refuse_to_start)?;
    db::open(&location).await.map_err(|error| refuse_to_start(format_args!("PORTAL_DATABASE_URL: {error}")))
}

/// Reports a failure while running: one line on stderr, exit status 1.
fn failure(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

/// Runs the command line; the process exits with the returned status.
pub fn main() -> ExitCode {
    if let Err(error) = dotenvy::dotenv()
        && !error.not_found()
    {
        eprintln!("error: cannot read .env: {error}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match cli.command {
            None => serve::run(cli.serve).await,
            Some(Command::Serve(args)) => serve::run(*args).await,
            #[cfg(feature = "demo")]
            Some(Command::Demo(args)) => demo::run(args).await,
            Some(Command::Migrate(args)) => migrate::run(args).await,
            Some(Command::Backup(args)) => backup::run(args).await,
            Some(Command::Healthcheck(args)) => healthcheck::run(args).await,
            #[cfg(feature = "demo")]
            Some(Command::FakeEntra(args)) => self::fake_entra::run(args).await,
            Some(Command::Invite(command)) => invite::run(command).await,
            Some(Command::Tenants(command)) => tenants::run(command).await,
            Some(Command::Campaign(command)) => campaign::run(command).await,
            Some(Command::Validate(args)) => validate::run(*args).await,
            #[cfg(feature = "demo")]
            Some(Command::Bench(command)) => bench::run(command).await,
        }
    })
}

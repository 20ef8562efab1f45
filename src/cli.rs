//! The command line. Every option is also read from a `PORTAL_*` environment variable, and a `.env`
//! file in the working directory is loaded first when present (variables already set win).
//!
//! Exit status: 0 success; 1 a failure while running; 2 a usage error or a configuration the portal
//! cannot start with (the message names the variable and what is wrong).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use tokio::net::TcpListener;

use crate::app::{AppState, router};
use crate::config::{self, Config, ConfigArgs, DEFAULT_BIND, DEFAULT_DATABASE_URL, LogFormat};
use crate::{db, demo, logging, server};

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
    Demo(DemoArgs),
    /// Apply the database migrations and exit.
    Migrate(DatabaseArgs),
    /// Write a consistent copy of the live database to PATH (safe while the portal runs; never
    /// overwrites a file).
    Backup(BackupArgs),
    /// Run the built-in fake of the Microsoft identity platform and the Defender API on its own.
    FakeEntra(crate::fake_entra::cli::FakeEntraArgs),
    /// Create or revoke customer invites.
    #[command(subcommand)]
    Invite(crate::commands::InviteCommand),
    /// List recorded tenants.
    #[command(subcommand)]
    Tenants(crate::commands::TenantsCommand),
    /// Check tenants now: a fresh token each, verified, roles compared, the API called.
    Validate(Box<crate::commands::ValidateArgs>),
    /// Benchmarks (figures for README.md).
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
    /// Ask a running portal whether it is up (GET /healthz); exit 0 if so. For container health checks.
    Healthcheck(HealthcheckArgs),
}

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
            None => run_serve(cli.serve).await,
            Some(Command::Serve(args)) => run_serve(*args).await,
            Some(Command::Demo(args)) => demo::run(args).await,
            Some(Command::Migrate(args)) => run_migrate(args).await,
            Some(Command::Backup(args)) => run_backup(args).await,
            Some(Command::Healthcheck(args)) => run_healthcheck(args).await,
            Some(Command::FakeEntra(args)) => crate::fake_entra::cli::run(args).await,
            Some(Command::Invite(command)) => crate::commands::invite(command).await,
            Some(Command::Tenants(command)) => crate::commands::tenants(command).await,
            Some(Command::Validate(args)) => crate::commands::validate(*args).await,
            Some(Command::Bench(command)) => crate::bench::run(command).await,
        }
    })
}

/// Prints a start-up failure as one line and returns exit status 2.
pub(crate) fn refuse_to_start(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

async fn run_serve(args: ConfigArgs) -> ExitCode {
    let config = match Config::from_args(&args) {
        Ok(config) => config,
        Err(error) => return refuse_to_start(error),
    };
    let db = match db::open(&config.database).await {
        Ok(db) => db,
        Err(error) => return refuse_to_start(format_args!("PORTAL_DATABASE_URL: {error}")),
    };
    let listener = match TcpListener::bind(config.bind).await {
        Ok(listener) => listener,
        Err(error) => return refuse_to_start(format_args!("PORTAL_BIND: cannot listen on {}: {error}", config.bind)),
    };
    tracing::info!(address = %config.bind, public_url = %config.public_url, "portal listening");
    let state = match AppState::new(config, db) {
        Ok(state) => state,
        Err(error) => return refuse_to_start(format_args!("cannot start: {error:#}")),
    };
    serve_until_shutdown(listener, state).await
}

pub(crate) async fn serve_until_shutdown(listener: TcpListener, state: AppState) -> ExitCode {
    // A catalogue that does not parse stops the start, not the first customer's page.
    crate::i18n::load();
    let schedule = crate::monitor::schedule::spawn(state.sweeper.clone(), state.db.clone());
    let mail_worker = crate::email::worker::spawn(state.clone());
    // Expired sessions are deleted at start and every hour (the store only hides them).
    let session_cleanup = crate::web::sessions::spawn_cleanup(state.db.clone());
    let served = server::serve(listener, router(state), server::shutdown_signal()).await;
    schedule.abort();
    // The e-mail being sent, if any, is recorded before the process ends (its SMTP conversation is
    // bounded by the transport's timeout).
    mail_worker.stop(crate::email::WORKER_STOP_GRACE).await;
    session_cleanup.abort();
    match served {
        Ok(()) => {
            tracing::info!("portal stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "server failed");
            ExitCode::FAILURE
        }
    }
}

async fn run_migrate(args: DatabaseArgs) -> ExitCode {
    let location = match config::parse_database_url(&args.database_url) {
        Ok(location) => location,
        Err(error) => return refuse_to_start(error),
    };
    match db::open(&location).await {
        Ok(pool) => {
            pool.close().await;
            println!("migrations applied to {}", location.path.display());
            ExitCode::SUCCESS
        }
        Err(error) => refuse_to_start(format_args!("PORTAL_DATABASE_URL: {error}")),
    }
}

async fn run_backup(args: BackupArgs) -> ExitCode {
    let location = match config::parse_database_url(&args.database.database_url) {
        Ok(location) => location,
        Err(error) => return refuse_to_start(error),
    };
    if !location.path.exists() {
        return refuse_to_start(format_args!("PORTAL_DATABASE_URL: {} does not exist: nothing to back up", location.path.display()));
    }
    let pool = match db::open(&location).await {
        Ok(pool) => pool,
        Err(error) => return refuse_to_start(format_args!("PORTAL_DATABASE_URL: {error}")),
    };
    let result = db::backup(&pool, &args.path).await;
    pool.close().await;
    match result {
        Ok(()) => {
            println!("backup written to {}", args.path.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run_healthcheck(args: HealthcheckArgs) -> ExitCode {
    let bind: SocketAddr = match config::parse_bind(&args.bind) {
        Ok(bind) => bind,
        Err(error) => return refuse_to_start(error),
    };
    // A wildcard listen address is reached on loopback.
    let host = if bind.ip().is_unspecified() {
        if bind.is_ipv4() { "127.0.0.1".to_owned() } else { "[::1]".to_owned() }
    } else if bind.is_ipv6() {
        format!("[{}]", bind.ip())
    } else {
        bind.ip().to_string()
    };
    let url = format!("http://{host}:{}/healthz", bind.port());
    let client =
        match reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).redirect(reqwest::redirect::Policy::none()).build() {
            Ok(client) => client,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        };
    match client.get(&url).send().await {
        Ok(response) if response.status().is_success() => ExitCode::SUCCESS,
        Ok(response) => {
            eprintln!("unhealthy: {url} answered {}", response.status());
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("unhealthy: {url}: {error}");
            ExitCode::FAILURE
        }
    }
}

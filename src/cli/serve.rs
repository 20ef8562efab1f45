//! `consent-portal serve` (the default): the portal from its configuration, until SIGTERM or SIGINT.

use std::process::ExitCode;

use tokio::net::TcpListener;

use crate::app::AppState;
use crate::config::{Config, ConfigArgs};
use crate::startup::refuse_to_start;
use crate::web::router;
use crate::{db, server};

pub async fn run(args: ConfigArgs) -> ExitCode {
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
    let state = match AppState::new(config, db).await {
        Ok(state) => state,
        Err(error) => return refuse_to_start(format_args!("cannot start: {error:#}")),
    };
    serve_until_shutdown(listener, state).await
}

/// Serves the portal with its background work (checks, e-mails, session clean-up) until a shutdown
/// signal; `demo` runs the portal through here too.
pub(crate) async fn serve_until_shutdown(listener: TcpListener, state: AppState) -> ExitCode {
    // A catalogue that does not parse stops the start, not the first customer's page.
    crate::i18n::load();
    // On the application's clock, as the staff pages' banner.
    crate::startup::warn_of_retirements(&state.config.required, state.clock.now().date());
    let metrics_listener = match crate::web::metrics::spawn_separate_listener(&state).await {
        Ok(listener) => listener,
        Err(error) => return crate::startup::refuse_to_start(error),
    };
    let schedule = crate::monitor::schedule::spawn(state.sweeper.clone(), state.db.clone());
    let mail_worker = crate::email::worker::spawn(state.clone());
    let webhook_worker = crate::webhooks::worker::spawn((&state).into());
    let webhook_grace = crate::webhooks::worker::stop_grace(state.webhooks.settings());
    // Expired sessions are deleted at start and every hour (the store only hides them).
    let session_cleanup = crate::web::sessions::spawn_cleanup(state.db.clone());
    // The portal's own credentials: warned of at start and every hour as they near their expiry.
    let credential_watch = crate::credentials::notices::spawn(state.clone());
    // The overview's trend: today's counts, at start and every hour.
    let fleet_days = crate::fleet::spawn(state.db.clone(), state.clock.clone());
    let served = server::serve(listener, router(state), server::shutdown_signal()).await;
    schedule.abort();
    if let Some((_, task)) = metrics_listener {
        task.abort();
    }
    // The e-mail being sent, if any, is recorded before the process ends (its SMTP conversation is
    // bounded by the transport's timeout).
    mail_worker.stop(crate::email::WORKER_STOP_GRACE).await;
    webhook_worker.stop(webhook_grace).await;
    session_cleanup.abort();
    credential_watch.abort();
    fleet_days.abort();
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

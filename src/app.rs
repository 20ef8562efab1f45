//! The application's shared state: the configuration and the services every part of a running portal
//! shares (the database, Microsoft's client, the sweeper, the mailer), built once at start-up. The web
//! layer's router (`web::router`) and the background workers run on it.

use std::sync::Arc;

use crate::db::Pool;
use axum::extract::FromRef;

use crate::config::Config;
use crate::db::write_probe::Readiness;
use crate::domain::{SharedClock, SystemClock, Timestamp};
use crate::email::Mailer;
use crate::entra::EntraClient;
use crate::monitor::sweep::Sweeper;
use crate::onboarding::Onboarding;
use crate::onboarding::lookup_limiter::LookupLimiter;
use crate::webhooks::Webhooks;

/// Everything a handler may need. Cheap to clone: each piece is shared.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Pool,
    pub entra: EntraClient,
    /// Failed onboarding-link lookups per client address (guessing tokens is slow).
    pub onboarding_limiter: Arc<LookupLimiter>,
    /// Runs sweeps over tenants and reports their progress.
    pub sweeper: Arc<Sweeper>,
    /// Sends e-mails (the transport) and wakes the e-mail worker.
    pub mailer: Arc<Mailer>,
    /// The answer of `/readyz`'s last write probe.
    pub readiness: Arc<Readiness>,
    /// The time, for everything the portal records (the system's; tests may set another).
    pub clock: SharedClock,
    /// Where events go, and the bell that wakes the webhook worker.
    pub webhooks: Arc<Webhooks>,
}

impl AppState {
    pub async fn new(config: Config, db: Pool) -> anyhow::Result<Self> {
        Self::with_clock(config, db, Arc::new(SystemClock)).await
    }

    /// The state of a portal that tells the time by `clock`: everything it times (sign-ins, staff
    /// sessions, checks, expiries) and records takes the time from it, so a test can move it.
    ///
    /// The required permissions are recorded first (a change is audited, and tenants that consented
    /// before a permission was required show "needs re-consent").
    pub async fn with_clock(config: Config, db: Pool, clock: SharedClock) -> anyhow::Result<Self> {
        let entra = EntraClient::new(&config)?;
        let now = Timestamp::new(clock.now());
        let history = match crate::campaigns::requirements::record_at_start(&db, &config.required, now).await {
            Ok(history) => history,
            // The portal still serves what it can read (and answers 503 to writes); the set is recorded
            // at the next start that can write.
            Err(error) if crate::db::is_unavailable_for_writes(&error) => {
                tracing::error!(%error, "cannot record the required permissions: the database takes no writes");
                crate::campaigns::requirements::history(&db, &config.required, now).await?
            }
            Err(error) => return Err(error.into()),
        };
        let sweeper = crate::monitor::sweeper(&config, &entra, db.clone(), clock.clone(), Arc::new(history));
        let mailer = Mailer::new(&config.email.transport)?;
        let webhooks = sweeper.webhooks().clone();
        Ok(Self {
            mailer,
            webhooks,
            sweeper,
            config: Arc::new(config),
            db,
            entra,
            onboarding_limiter: Arc::new(LookupLimiter::new()),
            readiness: Arc::default(),
            clock,
        })
    }
}

/// The onboarding's handlers run on the services it needs.
impl FromRef<AppState> for Onboarding {
    fn from_ref(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            entra: state.entra.clone(),
            config: state.config.clone(),
            sweeper: state.sweeper.clone(),
            mailer: state.mailer.clone(),
            webhooks: state.webhooks.clone(),
            clock: state.clock.clone(),
            limiter: state.onboarding_limiter.clone(),
        }
    }
}

/// The e-mail worker runs on the database, the configuration and the mailer of the application.
impl From<&AppState> for crate::email::worker::Context {
    fn from(state: &AppState) -> Self {
        Self { db: state.db.clone(), config: state.config.clone(), mailer: state.mailer.clone(), clock: state.clock.clone() }
    }
}

impl From<AppState> for crate::email::worker::Context {
    fn from(state: AppState) -> Self {
        Self::from(&state)
    }
}

/// The webhook worker runs on the database, the webhooks and the clock of the application.
impl From<&AppState> for crate::webhooks::worker::Context {
    fn from(state: &AppState) -> Self {
        Self { db: state.db.clone(), webhooks: state.webhooks.clone(), clock: state.clock.clone() }
    }
}

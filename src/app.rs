//! The application: its shared state and the router that `main` and the tests both run.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware;
use sqlx::SqlitePool;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::config::Config;
use crate::entra::EntraClient;
use crate::web;
use crate::web::client_address::ClientAddress;
use crate::web::middleware::{MAX_BODY_BYTES, SecurityHeaders};

/// How long a request may take before it is answered 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything a handler may need. Cheap to clone: each piece is shared.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: SqlitePool,
    pub entra: EntraClient,
    pub security_headers: Arc<SecurityHeaders>,
    /// Failed onboarding-link lookups per client address (guessing tokens is slow).
    pub onboarding_limiter: Arc<web::lookup_limiter::LookupLimiter>,
    /// Runs sweeps over tenants and reports their progress.
    pub sweeper: Arc<crate::monitor::sweep::Sweeper>,
    /// Sends e-mails (the transport) and wakes the e-mail worker.
    pub mailer: Arc<crate::email::Mailer>,
    /// The answer of `/readyz`'s last write probe.
    pub readiness: Arc<web::health::Readiness>,
}

impl AppState {
    pub fn new(config: Config, db: SqlitePool) -> anyhow::Result<Self> {
        let security_headers = Arc::new(SecurityHeaders::new(&config));
        let entra = EntraClient::new(&config)?;
        let sweeper = crate::monitor::sweeper(&config, &entra, db.clone());
        let mailer = crate::email::Mailer::new(&config)?;
        Ok(Self {
            mailer,
            sweeper,
            config: Arc::new(config),
            db,
            entra,
            security_headers,
            onboarding_limiter: Arc::new(web::lookup_limiter::LookupLimiter::new()),
            readiness: Arc::default(),
        })
    }
}

/// The whole portal as one router, with its layers.
///
/// Layers run outside in: the client's address is resolved first (through trusted proxies) and a
/// request id that cannot be trusted is dropped; then a request id is set so every log line of the
/// request carries it, then the trace span, compression, security headers, error-page rendering, the
/// timeout, size limits, the panic catcher, and closest to the handlers the sessions (with the 503 for
/// a session that cannot be stored).
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(web::pages::routes())
        .merge(web::health::routes())
        .merge(web::assets::routes())
        .merge(web::csp_report::routes())
        .merge(web::onboarding::routes())
        .merge(web::staff_auth::routes())
        .merge(web::tenants::routes())
        .merge(web::sweep::routes())
        .merge(web::invites::routes())
        .merge(web::outbox::routes())
        .merge(web::api::routes())
        .fallback(web::not_found)
        .layer(web::sessions::layer(&state))
        .layer(middleware::from_fn(web::sessions::store_unavailable_is_503))
        .layer(CatchPanicLayer::custom(web::middleware::panic_response))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(middleware::from_fn(web::middleware::limit_request_size))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT))
        .layer(middleware::from_fn(web::middleware::render_error_pages))
        .layer(middleware::from_fn_with_state(state.clone(), web::middleware::remember_language))
        .layer(middleware::from_fn_with_state(state.clone(), web::middleware::security_headers))
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span).on_response(DefaultOnResponse::new().level(Level::INFO)))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(middleware::from_fn_with_state(state.clone(), web::client_address::identify_client))
        .with_state(state)
}

/// The span of one request. It names the route pattern (`/onboard/{token}`), never the path itself or
/// the query: both can carry invite tokens, authorization codes and `state` values. `client` is the
/// address resolved through trusted proxies.
fn request_span(request: &Request) -> tracing::Span {
    let route = request.extensions().get::<MatchedPath>().map_or("(unmatched)", MatchedPath::as_str);
    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    let client = request.extensions().get::<ClientAddress>().map_or_else(|| "-".to_owned(), ToString::to_string);
    tracing::info_span!("request", method = %request.method(), route, request_id, client)
}

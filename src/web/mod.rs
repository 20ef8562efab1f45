//! HTTP: handlers grouped by feature, each with its routes. A handler parses the request, calls a use
//! case (`crate::onboarding`, `crate::invites`, `crate::tenants`) and renders what it answers — a page,
//! or its refusal through one error channel ([`error`], and the customer's and staff's problem pages).
//! [`kit`] holds what every handler uses; [`router`] is the whole web application.

pub mod api;
pub mod assets;
pub mod authorization;
pub mod campaigns;
pub mod client_address;
pub mod csp_report;
pub mod error;
pub mod health;
pub mod invites;
pub mod kit;
pub mod language;
pub mod metrics;
pub mod middleware;
pub mod onboarding;
pub mod outbox;
pub mod overview;
pub mod pages;
pub mod sessions;
pub mod sign_in_callback;
pub mod staff_auth;
pub mod sweep;
pub mod tenants;
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::app::AppState;
use client_address::ClientAddress;
use error::AppError;
use middleware::{MAX_BODY_BYTES, SecurityHeaders};

/// The whole portal as one router, with its layers.
///
/// Layers run outside in: the client's address is resolved first (through trusted proxies) and a
/// request id that cannot be trusted is dropped; then a request id is set so every log line of the
/// request carries it, then the trace span, compression, security headers, error-page rendering, the
/// timeout, size limits, the panic catcher, and closest to the handlers the sessions (with the 503 for
/// a session that cannot be stored).
pub fn router(state: AppState) -> Router {
    let security_headers = Arc::new(SecurityHeaders::new(&state.config));
    Router::new()
        .merge(pages::routes())
        .merge(health::routes())
        .merge(assets::routes())
        .merge(csp_report::routes())
        .merge(onboarding::routes())
        .merge(sign_in_callback::routes())
        .merge(staff_auth::routes())
        .merge(tenants::routes())
        .merge(sweep::routes())
        .merge(invites::routes())
        .merge(campaigns::routes())
        .merge(outbox::routes())
        .merge(webhooks::routes())
        .merge(api::routes())
        .merge(metrics::routes())
        .fallback(not_found)
        .layer(sessions::layer(&state))
        .layer(axum::middleware::from_fn(sessions::store_unavailable_is_503))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(middleware::limit_request_size))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, state.config.request_timeout))
        .layer(axum::middleware::from_fn(middleware::render_error_pages))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::remember_language))
        .layer(axum::middleware::from_fn_with_state(security_headers, middleware::security_headers))
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span).on_response(DefaultOnResponse::new().level(Level::INFO)))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(axum::middleware::from_fn(crate::metrics::track_http))
        .layer(axum::middleware::from_fn_with_state(state.clone(), client_address::identify_client))
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

/// The fallback: every unknown path gets the same 404 page (JSON under `/api/`).
pub async fn not_found() -> impl IntoResponse {
    AppError::NotFound
}

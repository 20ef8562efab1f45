//! `GET /metrics` (see `crate::metrics`): on the main listener only with `PORTAL_METRICS_TOKEN` set,
//! and then only for `Authorization: Bearer <token>` — 404 without a token configured (the endpoint
//! does not exist, as the API does), 401 with a missing or wrong one. And the separate listener of
//! `PORTAL_METRICS_BIND`, serving `/metrics` alone (asking for the token too when one is set).

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

use super::authorization;
use crate::app::AppState;
use crate::domain::{clock, hash_secret};
use crate::web::error::{AppError, ErrorPage};

/// What Prometheus is answered with: the OpenMetrics text format.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(on_main_listener))
}

/// `GET /metrics` on the main listener.
async fn on_main_listener(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if state.config.metrics.token.is_none() {
        return AppError::NotFound.into_response();
    }
    scrape(&state, &headers).await
}

/// The router of the separate listener: `/metrics` and nothing else.
pub fn separate_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(on_separate_listener)).with_state(state)
}

async fn on_separate_listener(State(state): State<AppState>, headers: HeaderMap) -> Response {
    scrape(&state, &headers).await
}

/// Starts the separate listener of `PORTAL_METRICS_BIND`, when set. The task serves until aborted.
pub async fn spawn_separate_listener(state: &AppState) -> Result<Option<(SocketAddr, tokio::task::JoinHandle<()>)>, String> {
    let Some(bind) = state.config.metrics.bind else { return Ok(None) };
    let listener = TcpListener::bind(bind).await.map_err(|error| format!("PORTAL_METRICS_BIND: cannot listen on {bind}: {error}"))?;
    let address = listener.local_addr().map_err(|error| format!("PORTAL_METRICS_BIND: {error}"))?;
    let router = separate_router(state.clone());
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "the metrics listener failed");
        }
    });
    tracing::info!(%address, "metrics listening");
    Ok(Some((address, task)))
}

/// The metrics, for a request carrying the token when one is configured.
async fn scrape(state: &AppState, headers: &HeaderMap) -> Response {
    if let Some(expected) = &state.config.metrics.token {
        let given = authorization::bearer_token(headers);
        // Digests of equal length, compared in constant time: neither the token nor its length leaks.
        let matches = given.is_some_and(|given| bool::from(hash_secret(given).as_bytes().ct_eq(hash_secret(expected.expose()).as_bytes())));
        if !matches {
            let mut response = ErrorPage::for_status(StatusCode::UNAUTHORIZED).into_response();
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    match crate::metrics::render(&state.db, clock::now(&*state.clock)).await {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE), (header::CACHE_CONTROL, "no-store")], text).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot read the metrics from the database");
            AppError::from(error).into_response()
        }
    }
}

//! The read-only JSON API for automation: `GET /api/v1/tenants` and `GET /api/v1/tenants/{tid}`, with
//! `Authorization: Bearer <PORTAL_API_TOKEN>` (the scheme in any case) compared in constant time. Off (404) when no token is
//! configured. Errors are JSON (the error middleware renders everything under `/api/` as JSON).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use subtle::ConstantTimeEq;

use super::authorization;
use super::tenants::{ExportRow, export_rows};
use crate::app::AppState;
use crate::db;
use crate::domain::{TenantId, hash_secret};
use crate::error::{AppError, ErrorPage};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/tenants", get(list)).route("/api/v1/tenants/{tid}", get(one))
}

/// Why an API request is not answered.
enum Refusal {
    /// No token is configured: the API does not exist.
    Off,
    /// No token, or not the configured one.
    Unauthorized,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Off => AppError::NotFound.into_response(),
            Self::Unauthorized => {
                let mut response = ErrorPage::for_status(StatusCode::UNAUTHORIZED).into_response();
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
        }
    }
}

/// Is the request's bearer token the configured one?
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), Refusal> {
    let expected = state.config.api_token.as_ref().ok_or(Refusal::Off)?;
    let given = authorization::bearer_token(headers);
    // Digests of equal length, compared in constant time: neither the token nor its length leaks.
    let matches = given.is_some_and(|given| bool::from(hash_secret(given).as_bytes().ct_eq(hash_secret(expected.expose()).as_bytes())));
    if matches { Ok(()) } else { Err(Refusal::Unauthorized) }
}

/// `GET /api/v1/tenants`: every tenant (not removed).
async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Vec<ExportRow>>, Response> {
    authorize(&state, &headers).map_err(IntoResponse::into_response)?;
    export_rows(&state).await.map(Json).map_err(IntoResponse::into_response)
}

/// `GET /api/v1/tenants/{tid}`: one tenant.
async fn one(State(state): State<AppState>, headers: HeaderMap, Path(tid): Path<String>) -> Result<Json<ExportRow>, Response> {
    authorize(&state, &headers).map_err(IntoResponse::into_response)?;
    found(&state, &tid).await.map(Json).map_err(IntoResponse::into_response)
}

async fn found(state: &AppState, tid: &str) -> Result<ExportRow, AppError> {
    let tenant = TenantId::parse(tid).map_err(|_| AppError::NotFound)?.to_string();
    let row = db::tenants::find_with_roles(&state.db, &tenant).await?.ok_or(AppError::NotFound)?;
    if db::tenants::removed_at(&state.db, &tenant).await?.is_some() {
        return Err(AppError::NotFound);
    }
    Ok(ExportRow::from(row))
}

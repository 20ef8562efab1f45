//! The JSON API for automation: `GET /api/v1/tenants` and `GET /api/v1/tenants/{tid}` read, and `POST
//! /api/v1/invites` creates an invite, with `Authorization: Bearer <PORTAL_API_TOKEN>` (the scheme in any
//! case) compared in constant time. Off (404) when no token is configured. Errors are JSON (the error
//! middleware renders everything under `/api/` as JSON).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use subtle::ConstantTimeEq;

use serde::Deserialize;
use serde_json::json;

use super::authorization;
use super::invites::create_checked;
use crate::app::AppState;
use crate::domain::{TenantId, hash_secret};
use crate::invites::{self, InviteFields};
use crate::tenants::{self, TenantListing};
use crate::web::error::{AppError, ErrorPage};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/tenants", get(list)).route("/api/v1/tenants/{tid}", get(one)).route("/api/v1/invites", post(create_invite))
}

/// Why an API request is not answered.
enum Refusal {
    /// No token is configured: the API does not exist.
    Off,
    /// No token, or not the configured one.
    Unauthorized,
}

impl From<Refusal> for Response {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Off => AppError::NotFound.into_response(),
            Refusal::Unauthorized => {
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
async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Vec<TenantListing>>, Response> {
    authorize(&state, &headers)?;
    Ok(Json(tenants::list(&state.db).await.map_err(AppError::from)?))
}

/// `GET /api/v1/tenants/{tid}`: one tenant.
async fn one(State(state): State<AppState>, headers: HeaderMap, Path(tid): Path<String>) -> Result<Json<TenantListing>, Response> {
    authorize(&state, &headers)?;
    let tenant = TenantId::parse(&tid).map_err(|_| AppError::NotFound)?;
    Ok(Json(tenants::find(&state.db, tenant).await.map_err(AppError::from)?))
}

/// The body of `POST /api/v1/invites`: the fields of the staff form.
#[derive(Deserialize)]
struct NewInvite {
    customer: String,
    #[serde(default)]
    email: Option<String>,
    /// A verified domain or a tenant id.
    #[serde(default)]
    pin: Option<String>,
    #[serde(default)]
    expires_days: Option<i64>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    send: bool,
}

impl NewInvite {
    /// The body, or what is wrong with it (never serde's message: it can quote the body back).
    fn parse(body: &[u8]) -> Result<Self, AppError> {
        serde_json::from_slice(body).map_err(|error| {
            AppError::Unprocessable(format!(
                "the body is not a JSON object with a \"customer\" and the optional fields of an invite (line {}, column {})",
                error.line(),
                error.column()
            ))
        })
    }
}

/// `POST /api/v1/invites`: creates an invite, as the staff form does; answers 201 with its id, link
/// (shown this once) and expiry, or 422 with what is wrong.
async fn create_invite(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, Response> {
    // Who asks is checked before the body is read: without the token, nothing about it is answered.
    authorize(&state, &headers)?;
    let body = NewInvite::parse(&body)?;
    let days = body.expires_days.map_or_else(|| invites::DEFAULT_DAYS.to_string(), |d| d.to_string());
    let fields = InviteFields {
        customer: &body.customer,
        email: body.email.as_deref().unwrap_or_default(),
        pin: body.pin.as_deref().unwrap_or_default(),
        expires_days: &days,
        language: body.language.as_deref().unwrap_or("en"),
        send: body.send,
    };
    let checked =
        invites::check_request(&state.entra, &state.config.email, &fields).await.map_err(|r| AppError::from(invites::Error::Refused(r)))?;
    let created = create_checked(&state, &checked, "api").await?;
    let answer = json!({
        "id": created.invite.id,
        "url": created.url(state.config.public_url.as_str()),
        "expires_at": created.invite.expires_at,
        "email_id": created.outbox_id,
    });
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

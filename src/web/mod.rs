//! HTTP: handlers grouped by feature, each with its routes; they parse requests and render pages, and
//! leave SQL to `db` and Microsoft's protocol to `entra`.

pub mod api;
pub mod assets;
pub mod authorization;
pub mod client_address;
pub mod cookies;
pub mod csp_report;
pub mod health;
pub mod invites;
pub mod language;
pub mod lookup_limiter;
pub mod middleware;
pub mod onboarding;
pub mod outbox;
pub mod pages;
pub mod sessions;
pub mod staff_auth;
pub mod sweep;
pub mod tenants;

use axum::response::IntoResponse;

use crate::error::AppError;

/// The fallback: every unknown path gets the same 404 page (JSON under `/api/`).
pub async fn not_found() -> impl IntoResponse {
    AppError::NotFound
}

//! "Check all": a sweep over every tenant in the background, and its progress as JSON for the page
//! (static/sweep.js polls it while a sweep runs).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};

use super::staff_auth::{CsrfForm, StaffUser};
use crate::app::AppState;
use crate::web::error::AppError;
use crate::web::kit::paths;

pub fn routes() -> Router<AppState> {
    Router::new().route("/tenants/check-all", post(check_all)).route("/tenants/sweep", get(progress))
}

/// `POST /tenants/check-all` (admins): starts a sweep unless one is running.
async fn check_all(
    State(state): State<AppState>,
    staff: StaffUser,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    staff.check_form(&state, &headers, &form.csrf, true)?;
    let started = state.sweeper.start_all();
    tracing::info!(staff = %staff.upn, started, "check all requested");
    Ok(Redirect::to(paths::TENANTS).into_response())
}

/// `GET /tenants/sweep`: the current (or last) sweep's progress.
async fn progress(State(state): State<AppState>, _staff: StaffUser) -> Response {
    Json(state.sweeper.progress()).into_response()
}

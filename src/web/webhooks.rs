//! The staff "Webhooks" page: every delivery of the signed events (newest first) with its state,
//! attempts, the receiver's last HTTP status or error; a resend of a delivered or given-up event (the
//! same body and webhook-id), and "Send a test event" (admins).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use super::kit::render;
use super::staff_auth::{CsrfForm, Nav, StaffUser};
use crate::app::AppState;
use crate::db;
use crate::domain::clock;
use crate::web::error::AppError;
use crate::webhooks::{self, Event};

/// Rows shown.
const LIMIT: i64 = 200;

pub const PAGE: &str = "/webhooks";

pub fn routes() -> Router<AppState> {
    Router::new().route(PAGE, get(page)).route("/webhooks/test", post(send_test)).route("/webhooks/{id}/resend", post(resend))
}

struct Line {
    row: db::webhooks::DeliveryRow,
    resendable: bool,
}

#[derive(Template)]
#[template(path = "staff/webhooks.html")]
struct WebhooksPage {
    nav: Option<Nav>,
    admin: bool,
    csrf: String,
    enabled: bool,
    /// The configured receivers, by origin (never their whole URL, which may hold a token).
    endpoints: Vec<String>,
    lines: Vec<Line>,
}

/// `GET /webhooks` (staff).
async fn page(State(state): State<AppState>, staff: StaffUser) -> Result<Response, AppError> {
    let rows = db::webhooks::list_recent(&state.db, LIMIT).await?;
    let lines = rows.into_iter().map(|row| Line { resendable: row.resendable(), row }).collect();
    let settings = state.webhooks.settings();
    let page = WebhooksPage {
        nav: Some(staff.nav("webhooks")),
        admin: staff.is_admin(),
        csrf: staff.csrf.clone(),
        enabled: settings.enabled(),
        endpoints: settings.endpoints.iter().map(|e| e.origin.clone()).collect(),
        lines,
    };
    Ok(render(StatusCode::OK, &page))
}

fn webhooks_off() -> AppError {
    AppError::Conflict("Webhooks are off: set PORTAL_WEBHOOK_URLS and PORTAL_WEBHOOK_SECRET.".into())
}

/// `POST /webhooks/test` (admin): queues a `webhook.test` event for every receiver.
async fn send_test(
    State(state): State<AppState>,
    staff: StaffUser,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    staff.check_form(&state, &headers, &form.csrf, true)?;
    if !state.webhooks.enabled() {
        return Err(webhooks_off());
    }
    let now = clock::now(&*state.clock);
    let mut tx = db::begin_write(&state.db).await?;
    webhooks::enqueue(&mut tx, state.webhooks.settings(), &Event::test(&staff.upn, now), Some(&staff.upn)).await?;
    tx.commit().await?;
    state.webhooks.wake();
    Ok(Redirect::to(PAGE).into_response())
}

/// `POST /webhooks/{id}/resend` (admin): posts a delivered or given-up event again, unchanged (the same
/// webhook-id: a receiver that saw it already can tell), retried for another 24 hours.
async fn resend(
    State(state): State<AppState>,
    staff: StaffUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    staff.check_form(&state, &headers, &form.csrf, true)?;
    if !state.webhooks.enabled() {
        return Err(webhooks_off());
    }
    let now = clock::now(&*state.clock);
    let give_up_after = time::Duration::try_from(state.webhooks.settings().give_up_after).unwrap_or(time::Duration::DAY);
    let mut tx = db::begin_write(&state.db).await?;
    if db::webhooks::find(&mut tx, id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    if !db::webhooks::resend(&mut tx, id, now + give_up_after, &staff.upn, now).await? {
        return Err(AppError::Conflict("Only a delivered or failed event can be sent again; this one is still on its way.".into()));
    }
    tx.commit().await?;
    state.webhooks.wake();
    Ok(Redirect::to(PAGE).into_response())
}

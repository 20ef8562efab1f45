//! The staff dashboard's tenants: the list (search, filter, sort, pagination — all in SQL), one tenant
//! (checks as a timeline, the decoded token as jwt.ms shows it, the error explained, consents), its
//! actions (check now, re-consent link, remove) and the exports (CSV, JSON). The reads and the actions
//! are the use cases of `crate::tenants`; the pages are in [`list_page`] and [`detail_page`].

mod detail_page;
mod export;
mod list_page;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;

pub use export::{CSV_HEADER, csv_cell, to_csv};
pub use list_page::PAGE_SIZE;

use super::invites::CreatedPage;
use super::kit::{attachment, paths, render};
use super::staff_auth::{CsrfForm, Nav, StaffUser};
use crate::app::AppState;
use crate::domain::{TenantId, clock};
use crate::tenants::{self, Refusal, Search};
use crate::web::error::AppError;
use detail_page::DetailPage;
use list_page::{ListPage, ListQuery};

/// Checks shown on a tenant's timeline.
const HISTORY: i64 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tenants", get(list))
        .route("/tenants.csv", get(export_csv))
        .route("/tenants.json", get(export_json))
        .route("/tenants/{tid}", get(detail))
        .route("/tenants/{tid}/check", post(check_now))
        .route("/tenants/{tid}/reconsent", post(reconsent))
        .route("/tenants/{tid}/remove", post(remove))
}

/// How a tenant use case's refusal is answered (an error page, JSON under `/api/`).
impl From<tenants::Error> for AppError {
    fn from(error: tenants::Error) -> Self {
        match error {
            tenants::Error::Refused(Refusal::NotFound) => AppError::NotFound,
            tenants::Error::Failed(failure) => failure.into(),
        }
    }
}

/// The tenant of a path: an unknown form is as unknown as an unknown tenant.
fn parse_tenant(tid: &str) -> Result<TenantId, AppError> {
    TenantId::parse(tid).map_err(|_| AppError::NotFound)
}

/// `GET /tenants.csv`: every tenant, one row each.
async fn export_csv(State(state): State<AppState>, _staff: StaffUser) -> Result<Response, AppError> {
    let rows = tenants::list(&state.db).await?;
    let response =
        ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], to_csv(&rows, &state.config.required_permissions())).into_response();
    Ok(attachment(response, "tenants.csv"))
}

/// `GET /tenants.json`: every tenant, as the JSON API gives them.
async fn export_json(State(state): State<AppState>, _staff: StaffUser) -> Result<Response, AppError> {
    let rows = tenants::list(&state.db).await?;
    Ok(attachment(Json(rows).into_response(), "tenants.json"))
}

/// `GET /tenants`: one row per tenant, with a banner for tenants that got worse than verified lately.
async fn list(State(state): State<AppState>, staff: StaffUser, Query(query): Query<ListQuery>) -> Result<Response, AppError> {
    let (text, status, sort, descending, page) = query.search();
    let search = Search { text: &text, status, sort, descending, page, page_size: PAGE_SIZE };
    let found = tenants::search(&state.db, &*state.clock, &search).await?;
    let now = clock::now(&*state.clock);
    let panel = crate::campaigns::dashboard_panel(&state.db, now).await?;
    let page = ListPage::new(&staff, state.sweeper.progress(), &search, found, panel, now, state.config.email.enabled());
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
struct DetailQuery {
    checked: Option<String>,
}

/// `GET /tenants/{tid}`.
async fn detail(
    State(state): State<AppState>,
    staff: StaffUser,
    Path(tid): Path<String>,
    Query(query): Query<DetailQuery>,
) -> Result<Response, AppError> {
    let record = tenants::record(&state.db, parse_tenant(&tid)?, HISTORY).await?.ok_or(AppError::NotFound)?;
    let page = DetailPage::new(&staff, record, &state.config.required, query.checked.is_some());
    Ok(render(StatusCode::OK, &page))
}

/// `POST /tenants/{tid}/check` (admin): checks the tenant now, then back to its page.
async fn check_now(
    State(state): State<AppState>,
    staff: StaffUser,
    Path(tid): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    staff.check_form(&state, &headers, &form.csrf, true)?;
    let tenant = parse_tenant(&tid)?;
    tenants::check_now(&state.db, &state.sweeper, tenant, &staff.upn).await?;
    Ok(Redirect::to(&paths::tenant_checked(tenant)).into_response())
}

/// `POST /tenants/{tid}/reconsent` (admin): a new invite for the tenant's customer, pinned to the
/// tenant; its link is shown once.
async fn reconsent(
    State(state): State<AppState>,
    staff: StaffUser,
    Path(tid): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    staff.check_form(&state, &headers, &form.csrf, true)?;
    let tenant = parse_tenant(&tid)?;
    let (row, created) = tenants::reconsent(&state.db, &*state.clock, tenant, &staff.upn).await?;
    let page = CreatedPage::new(&state, &staff, &created, row.customer, Some(tenant.to_string()), true);
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
struct RemoveForm {
    csrf: String,
    confirm: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/removed.html")]
struct RemovedPage {
    nav: Option<Nav>,
    customer: String,
    tenant_id: TenantId,
    client_id: String,
    partner: String,
}

/// `POST /tenants/{tid}/remove` (admin, confirmed): the tenant leaves the dashboard (`removed_at`), and
/// the page says what the customer does in Entra to delete the application.
async fn remove(
    State(state): State<AppState>,
    staff: StaffUser,
    Path(tid): Path<String>,
    headers: HeaderMap,
    Form(form): Form<RemoveForm>,
) -> Result<Response, AppError> {
    staff.check_form(&state, &headers, &form.csrf, true)?;
    let tenant = parse_tenant(&tid)?;
    if form.confirm.as_deref() != Some("yes") {
        return Err(AppError::BadRequest("Tick the confirmation box to remove the tenant.".into()));
    }
    let row = tenants::remove(&state.db, &*state.clock, &state.webhooks, tenant, &staff.upn).await?;
    let page = RemovedPage {
        nav: Some(staff.nav("tenants")),
        customer: row.customer,
        tenant_id: row.tenant_id,
        client_id: state.entra.client_id().to_owned(),
        partner: state.config.partner_name.clone(),
    };
    Ok(render(StatusCode::OK, &page))
}

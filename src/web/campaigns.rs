//! The staff pages of re-consent campaigns: the list, starting one (admin), one campaign's progress
//! and tenants, asking again (admin, one tenant or every one not re-consented), and its CSV export.
//! The decisions are `crate::campaigns`'.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::kit::{attachment, render};
use super::staff_auth::{CsrfForm, Nav, StaffUser};
use super::tenants::csv_cell;
use crate::app::AppState;
use crate::campaigns::{self, CampaignRequest, Refusal, TENANTS_PAGE_SIZE};
use crate::db::campaigns::{CampaignRow, CampaignTenantRow};
use crate::domain::{CampaignTenantState, Progress, Selection, TenantId, Timestamp, clock};
use crate::i18n::Language;
use crate::web::error::AppError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list).post(create))
        .route("/campaigns/{id}", get(page))
        .route("/campaigns/{id}/export.csv", get(export_csv))
        .route("/campaigns/{id}/resend", post(resend_all))
        .route("/campaigns/{id}/tenants/{tid}/resend", post(resend_one))
}

impl From<campaigns::Error> for AppError {
    fn from(error: campaigns::Error) -> Self {
        match error {
            campaigns::Error::Refused(Refusal::NotFound) => AppError::NotFound,
            campaigns::Error::Refused(refusal) => AppError::Conflict(refusal.message().to_owned()),
            campaigns::Error::Failed(failure) => failure.into(),
        }
    }
}

/// A campaign id of a path: anything that is not a UUID is as unknown as an unknown campaign.
fn campaign_id(id: &str) -> Result<String, AppError> {
    uuid::Uuid::parse_str(id).map(|id| id.to_string()).map_err(|_| AppError::NotFound)
}

fn now(state: &AppState) -> Timestamp {
    clock::now(&*state.clock)
}

/// One campaign as the list shows it.
struct Listed {
    campaign: CampaignRow,
    progress: Progress,
}

#[derive(Template)]
#[template(path = "staff/campaigns.html")]
struct ListPage {
    nav: Option<Nav>,
    campaigns: Vec<Listed>,
}

/// `GET /campaigns` (staff).
async fn list(State(state): State<AppState>, staff: StaffUser) -> Result<Response, AppError> {
    let campaigns = campaigns::list(&state.db, now(&state)).await?.into_iter().map(|(campaign, progress)| Listed { campaign, progress });
    Ok(render(StatusCode::OK, &ListPage { nav: Some(staff.nav("campaigns")), campaigns: campaigns.collect() }))
}

#[derive(Deserialize)]
struct CreateForm {
    csrf: String,
    selection: Option<String>,
    send: Option<String>,
    language_default: Option<String>,
}

/// `POST /campaigns` (admin): starts a campaign, then its page.
async fn create(
    State(state): State<AppState>,
    staff: StaffUser,
    headers: HeaderMap,
    Form(form): Form<CreateForm>,
) -> Result<Response, AppError> {
    staff.check_form(&state, &headers, &form.csrf, true)?;
    let selection = match form.selection.as_deref() {
        None | Some("") => Selection::NeedsReconsent,
        Some(value) => {
            Selection::parse(value).ok_or_else(|| AppError::BadRequest("Choose which tenants to ask: all or needs_reconsent.".into()))?
        }
    };
    let language_default = match form.language_default.as_deref() {
        None | Some("") => Language::English,
        Some(code) => Language::parse(code).ok_or_else(|| AppError::BadRequest("The default language is en or it.".into()))?,
    };
    let request = CampaignRequest {
        selection,
        send: form.send.is_some(),
        language_default,
        actor: &staff.upn,
        required: &state.config.required,
        emails_enabled: state.config.email.enabled(),
    };
    let created = campaigns::create(&state.db, now(&state), request).await?;
    if created.emails_queued > 0 {
        state.mailer.wake();
    }
    Ok(Redirect::to(&format!("/campaigns/{}", created.id)).into_response())
}

#[derive(Deserialize, Default)]
struct PageQuery {
    state: Option<String>,
    page: Option<String>,
    /// After a resend: how many e-mails it queued.
    resent: Option<String>,
}

/// One state's count, as a filter link.
struct StateCount {
    state: CampaignTenantState,
    count: i64,
    /// Its share of the bar, in percent of the tenants that count.
    percent: f64,
    /// Where its segment of the bar starts, in percent.
    offset: f64,
    selected: bool,
}

#[derive(Template)]
#[template(path = "staff/campaign.html")]
struct CampaignPage {
    nav: Option<Nav>,
    admin: bool,
    csrf: String,
    emails_enabled: bool,
    campaign: CampaignRow,
    progress: Progress,
    states: Vec<StateCount>,
    tenants: Vec<CampaignTenantRow>,
    filter: Option<CampaignTenantState>,
    page: i64,
    pages: i64,
    previous: Option<String>,
    next: Option<String>,
    resent: Option<u64>,
}

impl CampaignPage {
    fn state_href(&self, state: Option<CampaignTenantState>) -> String {
        page_href(&self.campaign.id, state, 1)
    }
}

fn page_href(id: &str, state: Option<CampaignTenantState>, page: i64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(state) = state {
        query.append_pair("state", state.as_str());
    }
    if page > 1 {
        query.append_pair("page", &page.to_string());
    }
    let query = query.finish();
    if query.is_empty() { format!("/campaigns/{id}") } else { format!("/campaigns/{id}?{query}") }
}

/// `GET /campaigns/{id}` (staff): progress (counts and a bar), then a page of its tenants.
async fn page(
    State(state): State<AppState>,
    staff: StaffUser,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let id = campaign_id(&id)?;
    let filter = query.state.as_deref().and_then(CampaignTenantState::parse);
    let requested = query.page.as_deref().and_then(|p| p.parse::<i64>().ok()).unwrap_or(1).max(1);
    let view = campaigns::show(&state.db, &id, now(&state), filter, requested).await?;
    let pages = ((view.matching + TENANTS_PAGE_SIZE - 1) / TENANTS_PAGE_SIZE).max(1);
    let page = requested.min(pages);
    let total = view.progress.total().max(1) as f64;
    let mut offset = 0.0;
    let states = CampaignTenantState::ALL
        .into_iter()
        .map(|s| {
            let count = view.progress.count(s);
            let percent = if s == CampaignTenantState::Removed { 0.0 } else { count as f64 * 100.0 / total };
            let entry = StateCount { state: s, count, percent, offset, selected: filter == Some(s) };
            offset += percent;
            entry
        })
        .collect();
    let page = CampaignPage {
        nav: Some(staff.nav("campaigns")),
        admin: staff.is_admin(),
        csrf: staff.csrf.clone(),
        emails_enabled: state.config.email.enabled(),
        previous: (page > 1).then(|| page_href(&id, filter, page - 1)),
        next: (page < pages).then(|| page_href(&id, filter, page + 1)),
        campaign: view.campaign,
        progress: view.progress,
        states,
        tenants: view.tenants,
        filter,
        page,
        pages,
        resent: query.resent.as_deref().and_then(|r| r.parse().ok()),
    };
    Ok(render(StatusCode::OK, &page))
}

/// The export's columns.
pub const CSV_HEADER: [&str; 10] = [
    "tenant_id",
    "customer",
    "state",
    "tenant_status",
    "recipient",
    "language",
    "email_status",
    "email_sent_at",
    "link_expires_at",
    "last_checked_at",
];

/// `GET /campaigns/{id}/export.csv` (staff): every tenant of the campaign, one row each.
async fn export_csv(State(state): State<AppState>, _staff: StaffUser, Path(id): Path<String>) -> Result<Response, AppError> {
    let id = campaign_id(&id)?;
    let (_, rows) = campaigns::progress::all_tenants(&state.db, &id, now(&state)).await?;
    let mut out = CSV_HEADER.join(",");
    out.push_str("\r\n");
    for row in &rows {
        let optional = |value: Option<String>| value.unwrap_or_default();
        let cells = [
            row.tenant_id.to_string(),
            row.customer.clone(),
            row.state.as_str().to_owned(),
            row.status.as_str().to_owned(),
            optional(row.recipient.clone()),
            row.language.code().to_owned(),
            optional(row.email_status.clone()),
            optional(row.email_sent_at.clone()),
            row.invite_expires_at.to_string(),
            optional(row.last_checked_at.map(|at| at.to_string())),
        ];
        out.push_str(&cells.iter().map(|cell| csv_cell(cell)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    let response = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response();
    Ok(attachment(response, &format!("campaign-{id}.csv")))
}

/// `POST /campaigns/{id}/resend` (admin): asks every tenant not re-consented again.
async fn resend_all(
    State(state): State<AppState>,
    staff: StaffUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    staff.check_form(&state, &headers, &form.csrf, true)?;
    resend(&state, &staff, &campaign_id(&id)?, None).await
}

/// `POST /campaigns/{id}/tenants/{tid}/resend` (admin): asks one tenant again.
async fn resend_one(
    State(state): State<AppState>,
    staff: StaffUser,
    Path((id, tid)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    staff.check_form(&state, &headers, &form.csrf, true)?;
    let tenant = TenantId::parse(&tid).map_err(|_| AppError::NotFound)?;
    resend(&state, &staff, &campaign_id(&id)?, Some(tenant)).await
}

async fn resend(state: &AppState, staff: &StaffUser, id: &str, tenant: Option<TenantId>) -> Result<Response, AppError> {
    let queued = campaigns::resend::resend(&state.db, now(state), state.config.email.enabled(), id, tenant, &staff.upn).await?;
    if queued > 0 {
        state.mailer.wake();
    }
    Ok(Redirect::to(&format!("/campaigns/{id}?resent={queued}")).into_response())
}

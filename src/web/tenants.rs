//! The staff dashboard's tenants: the list (search, filter, sort, pagination — all in SQL), one tenant
//! (checks as a timeline, the decoded token as jwt.ms shows it, the error explained, consents), its
//! actions (check now, re-consent link, remove) and the exports (CSV, JSON).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::invites::CreatedPage;
use super::kit::render;
use super::staff_auth::{CsrfForm, Nav, StaffUser};
use crate::app::AppState;
use crate::db;
use crate::db::audit::NewAuditEvent;
use crate::db::tenants::{SortKey, TenantQuery, TenantSummary};
use crate::domain::aadsts::{self, Explanation};
use crate::domain::{AuditKind, RoleList, TenantId, TenantStatus, Timestamp, clock};
use crate::i18n::{Language, Messages};
use crate::web::error::AppError;
use crate::web::kit::paths;
use crate::{invites, monitor};

/// Tenants per page.
pub const PAGE_SIZE: i64 = 50;
/// Checks shown on a tenant's timeline.
const HISTORY: i64 = 50;
/// How long a re-consent link stays valid.
const RECONSENT_DAYS: i64 = 14;

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

fn roles_of(roles: Option<RoleList>) -> Vec<String> {
    roles.map(|roles| roles.names()).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------------
// Exports and the API share one shape.

/// A tenant as exports and the JSON API give it.
#[derive(Debug, Clone, Serialize)]
pub struct ExportRow {
    pub tenant_id: TenantId,
    pub customer: String,
    pub status: TenantStatus,
    pub status_reason: Option<String>,
    pub consented_at: Timestamp,
    pub consented_by: Option<String>,
    pub roles_present: Vec<String>,
    pub roles_missing: Vec<String>,
    pub last_checked_at: Option<Timestamp>,
}

impl From<TenantSummary> for ExportRow {
    fn from(row: TenantSummary) -> Self {
        let t = row.tenant;
        Self {
            tenant_id: t.tenant_id,
            customer: t.customer,
            status: t.status,
            status_reason: t.status_reason,
            consented_at: t.consented_at,
            consented_by: t.consented_by_upn.or(t.consented_by_oid),
            roles_present: roles_of(row.roles_present),
            roles_missing: roles_of(row.roles_missing),
            last_checked_at: t.last_checked_at,
        }
    }
}

pub const CSV_HEADER: [&str; 9] = [
    "tenant_id",
    "customer",
    "status",
    "status_reason",
    "consented_at",
    "consented_by",
    "roles_present",
    "roles_missing",
    "last_checked_at",
];

/// One CSV cell: a cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or
/// a carriage return) gets a leading `'`; a cell with a comma, a quote or a line break is quoted.
pub fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_owned() };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

pub fn to_csv(rows: &[ExportRow]) -> String {
    let mut out = CSV_HEADER.join(",");
    out.push_str("\r\n");
    for row in rows {
        let cells = [
            &row.tenant_id.to_string(),
            row.customer.as_str(),
            row.status.as_str(),
            row.status_reason.as_deref().unwrap_or_default(),
            &row.consented_at.to_string(),
            row.consented_by.as_deref().unwrap_or_default(),
            &row.roles_present.join(" "),
            &row.roles_missing.join(" "),
            &row.last_checked_at.map(|at| at.to_string()).unwrap_or_default(),
        ];
        out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

pub async fn export_rows(state: &AppState) -> Result<Vec<ExportRow>, AppError> {
    Ok(db::tenants::all_with_roles(&state.db).await?.into_iter().map(ExportRow::from).collect())
}

fn attachment(mut response: Response, filename: &'static str) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `GET /tenants.csv`: every tenant, one row each.
async fn export_csv(State(state): State<AppState>, _staff: StaffUser) -> Result<Response, AppError> {
    let rows = export_rows(&state).await?;
    let response = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], to_csv(&rows)).into_response();
    Ok(attachment(response, "tenants.csv"))
}

/// `GET /tenants.json`: every tenant, as the JSON API gives them.
async fn export_json(State(state): State<AppState>, _staff: StaffUser) -> Result<Response, AppError> {
    let rows = export_rows(&state).await?;
    Ok(attachment(Json(rows).into_response(), "tenants.json"))
}

// ---------------------------------------------------------------------------------------------------
// The list

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<String>,
}

struct TenantLine {
    tenant_id: TenantId,
    customer: String,
    consented_by: String,
    consented_at: Timestamp,
    label: &'static str,
    tone: &'static str,
    reason: String,
    roles_present: Vec<String>,
    roles_missing: Vec<String>,
    last_checked_at: String,
}

struct Degraded {
    tenant_id: String,
    at: Timestamp,
    from: &'static str,
    to: &'static str,
    tone: &'static str,
}

struct SortLink {
    label: &'static str,
    href: String,
    /// "ascending", "descending" or "none" (aria-sort).
    state: &'static str,
}

struct StatusOption {
    value: &'static str,
    label: &'static str,
    count: i64,
    selected: bool,
}

#[derive(Template)]
#[template(path = "staff/tenants.html")]
struct ListPage {
    nav: Option<Nav>,
    rows: Vec<TenantLine>,
    total: i64,
    all_count: i64,
    search: String,
    statuses: Vec<StatusOption>,
    sort: &'static str,
    dir: &'static str,
    sort_links: Vec<SortLink>,
    page: i64,
    pages: i64,
    previous: Option<String>,
    next: Option<String>,
    degraded: Vec<Degraded>,
    /// Admins get the "Check all" button.
    admin: bool,
    csrf: String,
    /// The current (or last) sweep over all tenants.
    sweep: crate::monitor::sweep::SweepProgress,
}

/// A link to the list with these parameters.
fn list_href(search: &str, status: Option<TenantStatus>, sort: SortKey, descending: bool, page: i64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if !search.is_empty() {
        query.append_pair("q", search);
    }
    if let Some(status) = status {
        query.append_pair("status", status.as_str());
    }
    query.append_pair("sort", sort.as_str());
    query.append_pair("dir", if descending { "desc" } else { "asc" });
    if page > 1 {
        query.append_pair("page", &page.to_string());
    }
    format!("/tenants?{}", query.finish())
}

/// `GET /tenants`: one row per tenant, with a banner for tenants that got worse than verified lately.
async fn list(State(state): State<AppState>, staff: StaffUser, Query(query): Query<ListQuery>) -> Result<Response, AppError> {
    let search: String = query.q.as_deref().unwrap_or_default().trim().chars().take(200).collect();
    let status = query.status.as_deref().and_then(TenantStatus::parse);
    let sort = query.sort.as_deref().and_then(SortKey::parse).unwrap_or_default();
    let descending = query.dir.as_deref() == Some("desc");
    let requested_page = query.page.as_deref().and_then(|p| p.parse::<i64>().ok()).unwrap_or(1).clamp(1, 1_000_000);
    let tenant_query =
        TenantQuery { search: Some(search.as_str()), status, sort, descending, limit: PAGE_SIZE, offset: (requested_page - 1) * PAGE_SIZE };
    let (mut rows, total) = db::tenants::search(&state.db, &tenant_query).await?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = requested_page.min(pages);
    if page != requested_page {
        // Past the end: the last page.
        rows = db::tenants::search(&state.db, &TenantQuery { offset: (page - 1) * PAGE_SIZE, ..tenant_query }).await?.0;
    }
    let counts: HashMap<TenantStatus, i64> = db::tenants::status_counts(&state.db).await?.into_iter().collect();
    let since = clock::now(&*state.clock) - time::Duration::days(7);
    let degraded = db::audit::recent_of_kind(&state.db, AuditKind::TenantDegraded, since, 20)
        .await?
        .into_iter()
        .map(|event| {
            let detail: Value = serde_json::from_str(&event.detail).unwrap_or_default();
            let label =
                |name: &str| detail.get(name).and_then(Value::as_str).and_then(TenantStatus::parse).unwrap_or(TenantStatus::NeverChecked);
            let to = label("to");
            Degraded {
                tenant_id: event.tenant_id.map(|t| t.to_string()).unwrap_or_default(),
                at: event.at,
                from: label("from").label(),
                to: to.label(),
                tone: to.tone(),
            }
        })
        .collect();
    let sort_links = [
        (SortKey::Customer, "Customer"),
        (SortKey::Status, "Status"),
        (SortKey::ConsentedAt, "Consented"),
        (SortKey::LastCheck, "Last check"),
    ]
    .into_iter()
    .map(|(key, label)| {
        let current = key == sort;
        SortLink {
            label,
            href: list_href(&search, status, key, current && !descending, 1),
            state: match (current, descending) {
                (false, _) => "none",
                (true, false) => "ascending",
                (true, true) => "descending",
            },
        }
    })
    .collect();
    let rows = rows
        .into_iter()
        .map(|row| {
            let s = row.tenant.status;
            TenantLine {
                consented_by: row.tenant.consented_by().unwrap_or_default().to_owned(),
                roles_present: roles_of(row.roles_present),
                roles_missing: roles_of(row.roles_missing),
                tenant_id: row.tenant.tenant_id,
                customer: row.tenant.customer,
                consented_at: row.tenant.consented_at,
                label: s.label(),
                tone: s.tone(),
                reason: row.tenant.status_reason.unwrap_or_default(),
                last_checked_at: row.tenant.last_checked_at.map(|at| at.to_string()).unwrap_or_default(),
            }
        })
        .collect();
    let statuses = TenantStatus::ALL
        .into_iter()
        .map(|s| StatusOption {
            value: s.as_str(),
            label: s.label(),
            count: counts.get(&s).copied().unwrap_or(0),
            selected: status == Some(s),
        })
        .collect();
    let listed = ListPage {
        nav: Some(staff.nav("tenants")),
        admin: staff.is_admin(),
        csrf: staff.csrf.clone(),
        sweep: state.sweeper.progress(),
        rows,
        total,
        all_count: counts.values().sum(),
        statuses,
        sort: sort.as_str(),
        dir: if descending { "desc" } else { "asc" },
        sort_links,
        page,
        pages,
        previous: (page > 1).then(|| list_href(&search, status, sort, descending, page - 1)),
        next: (page < pages).then(|| list_href(&search, status, sort, descending, page + 1)),
        degraded,
        search,
    };
    Ok(render(StatusCode::OK, &listed))
}

// ---------------------------------------------------------------------------------------------------
// One tenant

struct CheckLine {
    finished_at: Timestamp,
    label: &'static str,
    tone: &'static str,
    detail: String,
    roles_missing: Vec<String>,
    code: Option<String>,
}

struct ConsentLine {
    consented_at: Timestamp,
    consented_by: String,
    flow: &'static str,
    roles_requested: Vec<String>,
}

struct ClaimLine {
    name: String,
    value: String,
    meaning: &'static str,
}

/// The decoded token, as jwt.ms shows it: header and claims, pretty-printed, and a table of the claims.
struct DecodedToken {
    header: String,
    claims: String,
    table: Vec<ClaimLine>,
}

struct ProblemLine {
    explanation: Explanation,
    code: Option<String>,
    trace_id: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/tenant.html")]
struct DetailPage {
    nav: Option<Nav>,
    admin: bool,
    csrf: String,
    tenant_id: TenantId,
    customer: String,
    consented_by: String,
    consented_at: Timestamp,
    label: &'static str,
    tone: &'static str,
    reason: String,
    last_checked_at: String,
    removed_at: Option<Timestamp>,
    roles_present: Vec<String>,
    roles_missing: Vec<String>,
    problem: Option<ProblemLine>,
    token: Option<DecodedToken>,
    checks: Vec<CheckLine>,
    consents: Vec<ConsentLine>,
    just_checked: bool,
}

/// Does this look like a compact JWT (so never to be shown)?
fn looks_like_token(value: &str) -> bool {
    value.starts_with("eyJ") && value.matches('.').count() >= 2
}

/// A JSON object without anything that looks like a raw token or a signature.
fn scrubbed(text: Option<&str>) -> Option<serde_json::Map<String, Value>> {
    let Value::Object(mut map) = serde_json::from_str(text?).ok()? else { return None };
    map.retain(|name, value| name != "signature" && !value.as_str().is_some_and(looks_like_token));
    Some(map)
}

fn claim_meaning(name: &str) -> &'static str {
    match name {
        "aud" => "Audience: the API the token is for",
        "iss" => "Issuer: who issued the token (names the tenant)",
        "iat" => "Issued at",
        "nbf" => "Not valid before",
        "exp" => "Expires",
        "tid" => "The customer's tenant id",
        "appid" | "azp" => "The application (client) id the token was issued to",
        "appidacr" | "azpacr" => "How the application authenticated (1: secret, 2: certificate)",
        "roles" => "Application permissions granted in the tenant",
        "oid" => "Object id of the application's service principal in the tenant",
        "sub" => "Subject",
        "idp" => "Identity provider",
        "ver" => "Token version",
        "alg" => "Signing algorithm",
        "kid" | "x5t" => "The signing key's id",
        "typ" => "Token type",
        _ => "",
    }
}

fn decoded_token(detail: Option<db::checks::TokenDetail>) -> Option<DecodedToken> {
    let detail = detail?;
    let header = scrubbed(detail.token_header.as_deref())?;
    let claims = scrubbed(detail.token_claims.as_deref())?;
    let table = claims
        .iter()
        .map(|(name, value)| {
            let shown = match (name.as_str(), value) {
                ("exp" | "nbf" | "iat", Value::Number(n)) => match n.as_i64().and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok()) {
                    Some(at) => format!("{n} ({})", at.format(&Rfc3339).unwrap_or_default()),
                    None => n.to_string(),
                },
                (_, Value::String(s)) => s.clone(),
                (_, Value::Array(items)) => {
                    items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned)).collect::<Vec<_>>().join(", ")
                }
                (_, other) => other.to_string(),
            };
            ClaimLine { name: name.clone(), value: shown, meaning: claim_meaning(name) }
        })
        .collect();
    Some(DecodedToken {
        header: serde_json::to_string_pretty(&header).unwrap_or_default(),
        claims: serde_json::to_string_pretty(&claims).unwrap_or_default(),
        table,
    })
}

#[derive(Deserialize)]
struct DetailQuery {
    checked: Option<String>,
}

fn parse_tenant(tid: &str) -> Result<TenantId, AppError> {
    TenantId::parse(tid).map_err(|_| AppError::NotFound)
}

/// `GET /tenants/{tid}`.
async fn detail(
    State(state): State<AppState>,
    staff: StaffUser,
    Path(tid): Path<String>,
    Query(query): Query<DetailQuery>,
) -> Result<Response, AppError> {
    let tenant = parse_tenant(&tid)?;
    let row = db::tenants::find_with_roles(&state.db, tenant).await?.ok_or(AppError::NotFound)?;
    let removed_at = db::tenants::removed_at(&state.db, tenant).await?;
    let history = db::checks::history(&state.db, tenant, HISTORY).await?;
    let consents = db::tenants::consents(&state.db, tenant).await?;
    let token = match history.first() {
        Some(latest) => decoded_token(db::checks::token_detail(&state.db, latest.id).await?),
        None => None,
    };
    let status = row.tenant.status;
    let problem = history.first().filter(|c| c.error_code.is_some() || c.status.is_token_failure()).map(|c| {
        let code = c.aadsts();
        ProblemLine {
            explanation: aadsts::explain(code).words(Messages::default()),
            code: code.map(|c| format!("AADSTS{c}")),
            trace_id: c.trace_id.clone(),
        }
    });
    let checks = history
        .into_iter()
        .map(|c| CheckLine {
            finished_at: c.finished_at,
            label: c.status.label(),
            tone: c.status.tone(),
            detail: c.detail.unwrap_or_default(),
            roles_missing: c.roles_missing.names(),
            code: c.error_code.map(|c| format!("AADSTS{c}")),
        })
        .collect();
    let consents = consents
        .into_iter()
        .map(|c| ConsentLine {
            consented_at: c.consented_at,
            consented_by: c.consented_by_upn.or(c.consented_by_oid).unwrap_or_default(),
            flow: db::types::flow_text(c.flow),
            roles_requested: c.roles_requested.names(),
        })
        .collect();
    let roles_missing = match row.roles_missing {
        Some(roles) => roles.names(),
        None => state.config.required_roles.iter().map(ToString::to_string).collect(),
    };
    let page = DetailPage {
        nav: Some(staff.nav("tenants")),
        admin: staff.is_admin(),
        csrf: staff.csrf.clone(),
        roles_present: roles_of(row.roles_present),
        roles_missing,
        consented_by: row.tenant.consented_by().unwrap_or_default().to_owned(),
        tenant_id: row.tenant.tenant_id,
        customer: row.tenant.customer,
        consented_at: row.tenant.consented_at,
        label: status.label(),
        tone: status.tone(),
        reason: row.tenant.status_reason.unwrap_or_default(),
        last_checked_at: row.tenant.last_checked_at.map(|at| at.to_string()).unwrap_or_default(),
        removed_at,
        problem,
        token,
        checks,
        consents,
        just_checked: query.checked.is_some(),
    };
    Ok(render(StatusCode::OK, &page))
}

async fn staff_audit(state: &AppState, kind: AuditKind, staff: &StaffUser, customer_id: Option<&str>, tenant: TenantId, detail: Value) {
    let event = NewAuditEvent { customer_id, tenant_id: Some(tenant), detail, ..NewAuditEvent::new(kind, Some(&staff.upn)) };
    if let Err(error) = db::audit::record(&state.db, event, clock::now(&*state.clock)).await {
        tracing::error!(%error, %kind, "cannot record an audit event");
    }
}

/// What every admin action on a tenant starts with: the POST's checks (origin, CSRF, admin level), then
/// the tenant of the path.
async fn admin_target(
    state: &AppState,
    staff: &StaffUser,
    headers: &HeaderMap,
    csrf: &str,
    tid: &str,
) -> Result<(TenantId, db::tenants::TenantRow), AppError> {
    staff.check_form(state, headers, csrf, true)?;
    let tenant = parse_tenant(tid)?;
    let row = db::tenants::find(&state.db, tenant).await?.ok_or(AppError::NotFound)?;
    Ok((tenant, row))
}

/// `POST /tenants/{tid}/check` (admin): checks the tenant now, then back to its page.
async fn check_now(
    State(state): State<AppState>,
    staff: StaffUser,
    Path(tid): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let (tenant, row) = admin_target(&state, &staff, &headers, &form.csrf, &tid).await?;
    let outcome = state.sweeper.check_now(monitor::sweep::Target::new(tenant, Some(row.consented_at.as_datetime()))).await?;
    staff_audit(&state, AuditKind::TenantChecked, &staff, Some(&row.customer_id), tenant, json!({ "status": outcome.status.as_str() }))
        .await;
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
    let (tenant, row) = admin_target(&state, &staff, &headers, &form.csrf, &tid).await?;
    let valid_for = time::Duration::days(RECONSENT_DAYS);
    let created =
        invites::create_for_customer(&state.db, &*state.clock, &row.customer_id, tenant, Language::English, valid_for, &staff.upn).await?;
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
    let row = db::tenants::find(&state.db, tenant).await?.ok_or(AppError::NotFound)?;
    let now = clock::now(&*state.clock);
    let removed = async {
        let mut tx = db::begin_write(&state.db).await?;
        let removed = db::tenants::mark_removed(&mut *tx, tenant, now).await?;
        if removed {
            let event = NewAuditEvent {
                customer_id: Some(&row.customer_id),
                tenant_id: Some(tenant),
                detail: json!({}),
                ..NewAuditEvent::new(AuditKind::TenantRemoved, Some(&staff.upn))
            };
            db::audit::record(&mut *tx, event, now).await?;
        }
        tx.commit().await?;
        Ok::<bool, sqlx::Error>(removed)
    }
    .await;
    removed?;
    let page = RemovedPage {
        nav: Some(staff.nav("tenants")),
        customer: row.customer,
        tenant_id: row.tenant_id,
        client_id: state.entra.client_id().to_owned(),
        partner: state.config.partner_name.clone(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_cell("Contoso"), "Contoso");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn raw_tokens_and_signatures_are_never_shown() {
        let map = scrubbed(Some(r#"{"alg":"RS256","signature":"abc","raw":"eyJhbGciOi.eyJ0aWQiOi.c2ln","kid":"k1"}"#)).unwrap();
        assert_eq!(map.keys().collect::<Vec<_>>(), ["alg", "kid"]);
        assert!(scrubbed(Some("not json")).is_none());
        assert!(scrubbed(Some("[1]")).is_none());
    }
}

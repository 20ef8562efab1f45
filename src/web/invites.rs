//! The staff dashboard's invites: create (admin; the link is shown once — only its hash is stored),
//! list with status and timeline, revoke (admin).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::json;

use super::kit::render;
use super::staff_auth::{CsrfForm, Nav, StaffUser};
use crate::app::AppState;
use crate::db;
use crate::db::audit::NewAuditEvent;
use crate::domain::free_text::refuse_hidden;
use crate::domain::{AuditKind, CustomerName, InviteStatus, TenantId, Timestamp, clock};
use crate::i18n::Language;
use crate::invites::{self, CreatedInvite, InviteRequest};
use crate::web::error::AppError;
use crate::web::kit::paths;

/// Invites per page.
const PAGE_SIZE: i64 = 50;
/// Default and longest validity of an invite, in days.
pub(crate) const DEFAULT_DAYS: i64 = 14;
const MAX_DAYS: i64 = 90;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/invites", get(list).post(create))
        .route("/invites/{id}/revoke", post(revoke))
        .route("/invites/{id}/resend", post(resend))
}

/// The page that shows a new onboarding link, once.
#[derive(Template)]
#[template(path = "staff/invite_created.html")]
pub(crate) struct CreatedPage {
    nav: Option<Nav>,
    customer: String,
    url: String,
    expires_at: Timestamp,
    pinned: Option<String>,
    reconsent: bool,
    /// The address the onboarding e-mail is queued to.
    emailed: Option<String>,
}

impl CreatedPage {
    pub(crate) fn new(
        state: &AppState,
        staff: &StaffUser,
        created: &CreatedInvite,
        customer: String,
        pinned: Option<String>,
        reconsent: bool,
    ) -> Self {
        Self {
            nav: Some(staff.nav("invites")),
            customer,
            url: created.url(state.config.public_url.as_str()),
            expires_at: created.invite.expires_at,
            pinned,
            reconsent,
            emailed: None,
        }
    }
}

struct EventLine {
    at: Timestamp,
    kind: AuditKind,
    actor: String,
}

struct InviteLine {
    id: String,
    customer: String,
    contact: String,
    pinned: String,
    /// The tenant a completed invite onboarded: the only one its link still works for.
    connected: String,
    language: &'static str,
    created_at: Timestamp,
    expires_at: Timestamp,
    status: &'static str,
    tone: &'static str,
    revocable: bool,
    timeline: Vec<EventLine>,
}

/// What the create form held, to show it again with an error.
#[derive(Debug, Default, Deserialize)]
struct CreateForm {
    csrf: String,
    #[serde(default)]
    customer: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    pin: String,
    #[serde(default)]
    expires_days: String,
    #[serde(default)]
    language: String,
    /// "on" when the onboarding e-mail is to be sent now.
    #[serde(default)]
    send: String,
}

#[derive(Template)]
#[template(path = "staff/invites.html")]
struct ListPage {
    nav: Option<Nav>,
    admin: bool,
    csrf: String,
    invites: Vec<InviteLine>,
    error: Option<String>,
    form: CreateForm,
    page: i64,
    pages: i64,
    /// Can e-mails be sent (PORTAL_SMTP_URL, or the demo)?
    email_enabled: bool,
}

#[derive(Deserialize)]
struct ListQuery {
    page: Option<String>,
}

async fn render_list(
    state: &AppState,
    staff: &StaffUser,
    page: i64,
    form: CreateForm,
    error: Option<String>,
) -> Result<Response, AppError> {
    let total = db::invites::count(&state.db).await?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = page.clamp(1, pages);
    let listed = db::invites::list_recent(&state.db, PAGE_SIZE, (page - 1) * PAGE_SIZE).await?;
    let ids: Vec<String> = listed.iter().map(|i| i.invite.id.clone()).collect();
    let mut timelines: HashMap<String, Vec<EventLine>> = HashMap::new();
    for event in db::audit::for_invites(&state.db, &ids).await? {
        let Some(invite_id) = event.invite_id else { continue };
        timelines.entry(invite_id).or_default().push(EventLine { at: event.at, kind: event.kind, actor: event.actor.unwrap_or_default() });
    }
    let now = clock::now(&*state.clock);
    let invites = listed
        .into_iter()
        .map(|i| {
            let status = i.invite.status(now);
            InviteLine {
                timeline: timelines.remove(&i.invite.id).unwrap_or_default(),
                customer: i.customer_name,
                contact: i.contact_email.unwrap_or_default(),
                pinned: i.invite.pinned().unwrap_or_default(),
                connected: i.invite.completed_tenant_id.map(|t| t.to_string()).unwrap_or_default(),
                language: i.invite.language.code(),
                created_at: i.invite.created_at,
                expires_at: i.invite.expires_at,
                revocable: status == InviteStatus::Pending,
                status: status.label(),
                tone: status.tone(),
                id: i.invite.id,
            }
        })
        .collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let listed = ListPage {
        nav: Some(staff.nav("invites")),
        admin: staff.is_admin(),
        csrf: staff.csrf.clone(),
        invites,
        error,
        form,
        page,
        pages,
        email_enabled: state.config.email.enabled(),
    };
    Ok(render(status, &listed))
}

/// `GET /invites`.
async fn list(State(state): State<AppState>, staff: StaffUser, Query(query): Query<ListQuery>) -> Result<Response, AppError> {
    let page = query.page.as_deref().and_then(|p| p.parse::<i64>().ok()).unwrap_or(1);
    let form = CreateForm { expires_days: DEFAULT_DAYS.to_string(), language: "en".into(), ..CreateForm::default() };
    render_list(&state, &staff, page, form, None).await
}

/// What a create request asks for, as typed (the form's fields, or the JSON API's).
pub(crate) struct InviteFields<'a> {
    pub customer: &'a str,
    pub email: &'a str,
    /// A verified domain or a tenant id to pin the invite to; empty for none.
    pub pin: &'a str,
    pub expires_days: &'a str,
    pub language: &'a str,
    /// Queue the onboarding e-mail now.
    pub send: bool,
}

/// A create request that passed every check.
pub(crate) struct CheckedInvite {
    pub customer: CustomerName,
    email: Option<String>,
    pinned_tenant: Option<TenantId>,
    pinned_domain: Option<String>,
    language: Language,
    days: i64,
    pub send_to: Option<lettre::Address>,
}

impl CheckedInvite {
    /// The pinned domain, or else the pinned tenant id, for display.
    pub fn pinned(&self) -> Option<String> {
        self.pinned_domain.clone().or(self.pinned_tenant.map(|t| t.to_string()))
    }
}

/// Checks a create request (and resolves a pinned domain); the error is a sentence for staff.
pub(crate) async fn check_request(state: &AppState, fields: &InviteFields<'_>) -> Result<CheckedInvite, String> {
    let email = Some(fields.email.trim()).filter(|e| !e.is_empty()).map(str::to_owned);
    let customer = invites::validate_customer(fields.customer, email.as_deref())?;
    let Some(language) = Language::ALL.into_iter().find(|l| l.code() == fields.language.trim()) else {
        return Err("the language must be English (en) or Italian (it)".into());
    };
    let send_to = if !fields.send {
        None
    } else if !state.config.email.enabled() {
        return Err("e-mails cannot be sent: PORTAL_SMTP_URL is not set".into());
    } else {
        match email.as_deref().map(crate::email::parse_address) {
            Some(Ok(address)) => Some(address),
            Some(Err(message)) => return Err(message),
            None => return Err("sending the onboarding e-mail needs the customer's contact e-mail".into()),
        }
    };
    let days = match fields.expires_days.trim().parse::<i64>() {
        Ok(days) if (1..=MAX_DAYS).contains(&days) => days,
        _ => return Err(format!("the expiry must be 1 to {MAX_DAYS} days")),
    };
    let pin = fields.pin.trim().to_ascii_lowercase();
    refuse_hidden("the domain or tenant id to pin", &pin).map_err(|e| e.to_string())?;
    let (pinned_tenant, pinned_domain) = if pin.is_empty() {
        (None, None)
    } else if let Ok(tenant) = TenantId::parse(&pin) {
        (Some(tenant), None)
    } else {
        match state.entra.resolve_domain(&pin).await {
            Ok(tenant) => (Some(tenant), Some(pin)),
            Err(error) => return Err(format!("the tenant could not be found: {error}")),
        }
    };
    Ok(CheckedInvite { customer, email, pinned_tenant, pinned_domain, language, days, send_to })
}

/// Creates a checked invite (and queues its e-mail, when asked), by `actor`.
pub(crate) async fn create_checked(state: &AppState, checked: &CheckedInvite, actor: &str) -> Result<CreatedInvite, AppError> {
    let request = InviteRequest {
        customer: &checked.customer,
        email: checked.email.as_deref(),
        pinned_tenant: checked.pinned_tenant,
        pinned_domain: checked.pinned_domain.as_deref(),
        language: checked.language,
        valid_for: time::Duration::days(checked.days),
        actor,
        send_to: checked.send_to.clone(),
    };
    let created = invites::create(&state.db, &*state.clock, request).await?;
    if created.outbox_id.is_some() {
        state.mailer.wake();
    }
    Ok(created)
}

/// `POST /invites` (admin): creates an invite and shows its link once.
async fn create(State(state): State<AppState>, staff: StaffUser, headers: HeaderMap, Form(form): Form<CreateForm>) -> Response {
    if let Err(refused) = staff.check_post(&state, &headers, &form.csrf, true) {
        return refused;
    }
    let fields = InviteFields {
        customer: &form.customer,
        email: &form.email,
        pin: &form.pin,
        expires_days: &form.expires_days,
        language: &form.language,
        send: !form.send.is_empty(),
    };
    let checked = match check_request(&state, &fields).await {
        Ok(checked) => checked,
        Err(message) => return render_list(&state, &staff, 1, form, Some(message)).await.unwrap_or_else(IntoResponse::into_response),
    };
    let created = match create_checked(&state, &checked, &staff.upn).await {
        Ok(created) => created,
        Err(error) => return error.into_response(),
    };
    let mut page = CreatedPage::new(&state, &staff, &created, checked.customer.to_string(), checked.pinned(), false);
    page.emailed = checked.send_to.map(|a| a.to_string());
    render(StatusCode::OK, &page)
}

/// `POST /invites/{id}/revoke` (admin): the link answers 410 from then on.
async fn revoke(
    State(state): State<AppState>,
    staff: StaffUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    staff.check_form(&state, &headers, &form.csrf, true)?;
    let invite = db::invites::find(&state.db, &id).await?.ok_or(AppError::NotFound)?;
    let now = clock::now(&*state.clock);
    let revoked = async {
        let mut tx = db::begin_write(&state.db).await?;
        let revoked = db::invites::revoke(&mut *tx, &invite.invite.id, now).await?;
        if revoked {
            let event = NewAuditEvent {
                customer_id: Some(&invite.invite.customer_id),
                invite_id: Some(&invite.invite.id),
                tenant_id: invite.invite.pinned_tenant_id,
                detail: json!({}),
                ..NewAuditEvent::new(AuditKind::InviteRevoked, Some(&staff.upn))
            };
            db::audit::record(&mut *tx, event, now).await?;
        }
        tx.commit().await?;
        Ok::<bool, sqlx::Error>(revoked)
    }
    .await;
    revoked?;
    Ok(Redirect::to(paths::INVITES).into_response())
}

/// `POST /invites/{id}/resend` (admin): queues the onboarding e-mail again (with a new link of its own)
/// to the address of the invite's last e-mail, or the customer's contact address.
async fn resend(
    State(state): State<AppState>,
    staff: StaffUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    staff.check_form(&state, &headers, &form.csrf, true)?;
    super::outbox::require_emails(&state)?;
    let invite = db::invites::find(&state.db, &id).await?.ok_or(AppError::NotFound)?;
    let now = clock::now(&*state.clock);
    if invite.invite.status(now) != InviteStatus::Pending {
        return Err(AppError::Conflict("Only an open invite (not completed, revoked or expired) can be sent again.".into()));
    }
    let previous = db::outbox::for_invite(&state.db, &id).await?;
    let recipient = previous.iter().rev().map(|row| row.recipient.clone()).next().or(invite.contact_email.clone());
    let Some(address) = recipient.as_deref().and_then(|r| crate::email::parse_address(r).ok()) else {
        return Err(AppError::Conflict("This invite has no e-mail address to send to.".into()));
    };
    let mut tx = db::begin_write(&state.db).await?;
    crate::email::enqueue_onboarding(&mut tx, &invite.invite.id, &address, invite.invite.language.code(), &staff.upn, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(Redirect::to(paths::OUTBOX).into_response())
}

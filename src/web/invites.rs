//! The staff dashboard's invites: create (admin; the link is shown once — only its hash is stored),
//! list with status and timeline, revoke (admin).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::kit::render;
use super::staff_auth::{CsrfForm, Nav, StaffUser};
use crate::app::AppState;
use crate::domain::{AuditKind, InviteStatus, Timestamp};
use crate::invites::{self, CheckedInvite, CreatedInvite, DEFAULT_DAYS, InviteFields, ListedInvite, Refusal};
use crate::web::error::AppError;
use crate::web::kit::paths;

/// Invites per page.
const PAGE_SIZE: i64 = 50;

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

impl From<ListedInvite> for InviteLine {
    fn from(listed: ListedInvite) -> Self {
        let ListedInvite { invite: i, status, timeline } = listed;
        Self {
            timeline: timeline.into_iter().map(|e| EventLine { at: e.at, kind: e.kind, actor: e.actor.unwrap_or_default() }).collect(),
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
    }
}

/// The invites page (its `page`), with the create form holding `form` and, when it did not pass, what
/// is wrong (422).
async fn render_list(
    state: &AppState,
    staff: &StaffUser,
    page: i64,
    form: CreateForm,
    error: Option<String>,
) -> Result<Response, AppError> {
    let found = invites::page(&state.db, &*state.clock, page, PAGE_SIZE).await?;
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let listed = ListPage {
        nav: Some(staff.nav("invites")),
        admin: staff.is_admin(),
        csrf: staff.csrf.clone(),
        invites: found.invites.into_iter().map(InviteLine::from).collect(),
        error,
        form,
        page: found.page,
        pages: found.pages,
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

/// Creates a checked invite for `actor` (and wakes the e-mail worker when its e-mail was queued): the
/// staff form's and the JSON API's way.
pub(crate) async fn create_checked(state: &AppState, checked: &CheckedInvite, actor: &str) -> Result<CreatedInvite, AppError> {
    let created = invites::create(&state.db, &*state.clock, checked.request(actor)).await?;
    if created.outbox_id.is_some() {
        state.mailer.wake();
    }
    Ok(created)
}

/// How an invite refusal is answered (an error page, JSON under `/api/`).
impl From<invites::Error> for AppError {
    fn from(error: invites::Error) -> Self {
        match error {
            invites::Error::Failed(failure) => failure.into(),
            invites::Error::Refused(refusal) => match refusal {
                Refusal::NotFound => AppError::NotFound,
                Refusal::Invalid(message) => AppError::Unprocessable(message),
                Refusal::EmailsOff => super::outbox::emails_off(),
                Refusal::NotOpen => AppError::Conflict("Only an open invite (not completed, revoked or expired) can be sent again.".into()),
                Refusal::NoAddress => AppError::Conflict("This invite has no e-mail address to send to.".into()),
            },
        }
    }
}

/// `POST /invites` (admin): creates an invite and shows its link once; a form that does not pass is
/// shown again with what is wrong (422).
async fn create(
    State(state): State<AppState>,
    staff: StaffUser,
    headers: HeaderMap,
    Form(form): Form<CreateForm>,
) -> Result<Response, AppError> {
    staff.check_form(&state, &headers, &form.csrf, true)?;
    let fields = InviteFields {
        customer: &form.customer,
        email: &form.email,
        pin: &form.pin,
        expires_days: &form.expires_days,
        language: &form.language,
        send: !form.send.is_empty(),
    };
    let checked = match invites::check_request(&state.entra, &state.config.email, &fields).await {
        Ok(checked) => checked,
        Err(Refusal::Invalid(message)) => return render_list(&state, &staff, 1, form, Some(message)).await,
        Err(refusal) => return Err(invites::Error::Refused(refusal).into()),
    };
    let created = create_checked(&state, &checked, &staff.upn).await?;
    let mut page = CreatedPage::new(&state, &staff, &created, checked.customer.to_string(), checked.pinned(), false);
    page.emailed = checked.send_to.map(|a| a.to_string());
    Ok(render(StatusCode::OK, &page))
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
    invites::revoke(&state.db, &*state.clock, &id, &staff.upn).await?;
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
    invites::resend(&state.db, &*state.clock, &state.config.email, &id, &staff.upn).await?;
    state.mailer.wake();
    Ok(Redirect::to(paths::OUTBOX).into_response())
}

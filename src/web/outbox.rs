//! The staff "Outbox": every e-mail the portal queued, its delivery state, attempts and the SMTP reply;
//! a resend for those that failed or were interrupted (admin). In the demo, also each delivered message
//! as it would arrive (the in-memory mailbox: never stored, since the bodies hold working links).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use super::kit::render;
use super::staff_auth::{CsrfForm, Nav, StaffUser};
use crate::app::AppState;
use crate::db;
use crate::domain::clock;
use crate::email::resend::{self, Refusal};
use crate::web::error::AppError;
use crate::web::kit::paths;

/// Rows shown.
const LIMIT: i64 = 200;

/// The policy of an e-mail's HTML part shown in the demo: its inline styles, nothing else, sandboxed.
const PREVIEW_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; \
                              frame-ancestors 'none'; base-uri 'none'; sandbox allow-popups allow-popups-to-escape-sandbox";

pub fn routes() -> Router<AppState> {
    Router::new().route("/outbox", get(page)).route("/outbox/{id}/html", get(html_part)).route("/outbox/{id}/resend", post(resend))
}

struct Line {
    row: db::outbox::OutboxRow,
    resendable: bool,
}

/// A delivered message of the demo's mailbox, its text part split around its link.
struct Delivered {
    outbox_id: String,
    to: String,
    subject: String,
    at: String,
    before: String,
    link: Option<String>,
    after: String,
}

#[derive(Template)]
#[template(path = "staff/outbox.html")]
struct OutboxPage {
    nav: Option<Nav>,
    admin: bool,
    csrf: String,
    lines: Vec<Line>,
    enabled: bool,
    demo: bool,
    delivered: Vec<Delivered>,
}

/// The text before the first link to the portal, the link, and the rest.
fn split_link(text: &str, portal: &str) -> (String, Option<String>, String) {
    match text.find(portal) {
        Some(start) => {
            let end = text[start..].find(char::is_whitespace).map_or(text.len(), |e| start + e);
            (text[..start].to_owned(), Some(text[start..end].to_owned()), text[end..].to_owned())
        }
        None => (text.to_owned(), None, String::new()),
    }
}

/// `GET /outbox` (staff).
async fn page(State(state): State<AppState>, staff: StaffUser) -> Result<Response, AppError> {
    let rows = db::outbox::list_recent(&state.db, LIMIT).await?;
    let lines = rows.into_iter().map(|row| Line { resendable: row.resendable(), row }).collect();
    let portal = state.config.public_url_for("/");
    let delivered = state
        .mailer
        .memory()
        .map(|mailbox| {
            mailbox
                .messages()
                .into_iter()
                .map(|m| {
                    let (before, link, after) = split_link(&m.text, &portal);
                    Delivered { outbox_id: m.outbox_id, to: m.to, subject: m.subject, at: m.at, before, link, after }
                })
                .collect()
        })
        .unwrap_or_default();
    let page = OutboxPage {
        nav: Some(staff.nav("outbox")),
        admin: staff.is_admin(),
        csrf: staff.csrf.clone(),
        lines,
        enabled: state.config.email.enabled(),
        demo: state.mailer.memory().is_some(),
        delivered,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /outbox/{id}/html` (staff, demo only): the HTML part as it would arrive, sandboxed.
async fn html_part(State(state): State<AppState>, _staff: StaffUser, Path(id): Path<String>) -> Result<Response, AppError> {
    let message = state.mailer.memory().and_then(|m| m.find(&id)).ok_or(AppError::NotFound)?;
    let mut response = Html(message.html).into_response();
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PREVIEW_POLICY));
    response.extensions_mut().insert(super::middleware::SandboxedPolicy);
    Ok(response)
}

/// The answer to a request to send an e-mail when e-mails are off.
pub(crate) fn emails_off() -> AppError {
    AppError::Conflict("E-mails cannot be sent: PORTAL_SMTP_URL is not set.".into())
}

/// How a refusal to send an e-mail again is answered.
impl From<resend::Error> for AppError {
    fn from(error: resend::Error) -> Self {
        match error {
            resend::Error::Failed(failure) => failure.into(),
            resend::Error::Refused(Refusal::EmailsOff) => emails_off(),
            resend::Error::Refused(Refusal::NotFound) => AppError::NotFound,
            resend::Error::Refused(Refusal::NotResendable) => {
                AppError::Conflict("Only a failed or interrupted e-mail can be sent again, once.".into())
            }
            resend::Error::Refused(Refusal::AlreadyResent) => AppError::Conflict("This e-mail was already sent again.".into()),
        }
    }
}

/// `POST /outbox/{id}/resend` (admin): queues a failed or interrupted e-mail again, as a new message
/// (a new id, and for a customer e-mail a new link).
async fn resend(
    State(state): State<AppState>,
    staff: StaffUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    staff.check_form(&state, &headers, &form.csrf, true)?;
    resend::send_again(&state.db, &state.config.email, clock::now(&*state.clock), &id, &staff.upn).await?;
    state.mailer.wake();
    Ok(Redirect::to(paths::OUTBOX).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_is_found_in_the_text() {
        let (before, link, after) = split_link("Open:\nhttp://127.0.0.1:8080/onboard/abc\n\nBye", "http://127.0.0.1:8080/");
        assert_eq!((before.as_str(), link.as_deref(), after.as_str()), ("Open:\n", Some("http://127.0.0.1:8080/onboard/abc"), "\n\nBye"));
        assert_eq!(split_link("no link", "http://x/").1, None);
    }
}

//! The customer's problem pages: every refusal of the onboarding, in the invite's language (or the
//! browser's, before the invite is known), with what happened and what to do — never what Microsoft
//! wrote. Infrastructure failures get the error pages instead.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::config::Config;
use crate::domain::TenantId;
use crate::domain::aadsts::{self, Explanation, ExplanationKeys};
use crate::onboarding::{Error, Refusal, Refused};
use crate::web::error::AppError;
use crate::web::kit::render;
use crate::web::language::{LanguageChoice, PageLanguage};

#[derive(Template)]
#[template(path = "onboarding/problem.html")]
struct ProblemPage<'a> {
    lang: PageLanguage,
    partner: &'a str,
    explanation: Explanation,
    code: Option<String>,
    trace_id: Option<String>,
    retry_csrf: Option<&'a str>,
    contact: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "onboarding/wrong_tenant.html")]
struct WrongTenantPage<'a> {
    lang: PageLanguage,
    partner: &'a str,
    signed_in_tenant: TenantId,
    signed_in_as: &'a str,
    expected: &'a str,
    retry_csrf: &'a str,
}

#[derive(Template)]
#[template(path = "onboarding/already_used.html")]
struct AlreadyUsedPage<'a> {
    lang: PageLanguage,
    partner: &'a str,
    signed_in_tenant: TenantId,
    signed_in_as: &'a str,
    /// The tenant the invite onboarded.
    bound: TenantId,
    retry_csrf: Option<&'a str>,
}

/// Who is answered: the portal's configuration, the browser's language choice, and the CSRF token of
/// its onboarding session when it has one (for "sign in again").
pub struct Customer<'a> {
    pub config: &'a Config,
    pub choice: &'a LanguageChoice,
    pub retry_csrf: Option<&'a str>,
}

impl Customer<'_> {
    /// The answer to an onboarding step that did not go on.
    pub fn answer(&self, error: Error) -> Response {
        match error {
            Error::Failed(failure) => AppError::from(failure).into_response(),
            Error::Refused(refused) => self.refused(refused),
        }
    }

    fn refused(&self, Refused { refusal, language }: Refused) -> Response {
        let lang = self.choice.messages(language);
        let retry = if refusal.offers_retry() { self.retry_csrf } else { None };
        let partner = self.config.partner_name.as_str();
        let problem = |status, keys: ExplanationKeys, code, trace_id, contact| {
            let page =
                ProblemPage { lang: lang.clone(), partner, explanation: keys.words(lang.tr), code, trace_id, retry_csrf: retry, contact };
            render(status, &page)
        };
        let refused = |status, title, what_happened| {
            problem(status, ExplanationKeys::new(title, what_happened, "refused-start-over"), None, None, None)
        };
        let forbidden = |title, what_happened| refused(StatusCode::FORBIDDEN, title, what_happened);
        match refusal {
            Refusal::UnknownLink => {
                // The same page for every unknown token: no switch links, which would repeat the path.
                let lang = PageLanguage { tr: lang.tr, switch: Vec::new() };
                let keys = ExplanationKeys::new("not-found-title", "not-found", "not-found-what-to-do");
                render(
                    StatusCode::NOT_FOUND,
                    &ProblemPage {
                        lang: lang.clone(),
                        partner,
                        explanation: keys.words(lang.tr),
                        code: None,
                        trace_id: None,
                        retry_csrf: None,
                        contact: None,
                    },
                )
            }
            Refusal::TooManyLookups => AppError::TooManyRequests.into_response(),
            Refusal::TenantNotFound => AppError::NotFound.into_response(),
            Refusal::LinkGone => {
                let contact = self.config.partner_contact.as_deref().unwrap_or(partner);
                problem(StatusCode::GONE, ExplanationKeys::new("gone-title", "gone", "gone-what-to-do"), None, None, Some(contact))
            }
            Refusal::Microsoft(error) if error.cancelled => problem(StatusCode::OK, aadsts::cancelled(), None, None, None),
            Refusal::Microsoft(error) => problem(StatusCode::FORBIDDEN, aadsts::explain(error.aadsts), error.shown(), None, None),
            Refusal::CodeRefused { aadsts, trace_id } => {
                problem(StatusCode::BAD_GATEWAY, aadsts::explain(aadsts), aadsts.map(|c| format!("AADSTS{c}")), trace_id, None)
            }
            Refusal::NoIdToken | Refusal::NoAccessToken => problem(StatusCode::BAD_GATEWAY, aadsts::explain(None), None, None, None),
            Refusal::OtherCustomer => {
                problem(StatusCode::CONFLICT, ExplanationKeys::new("conflict-title", "conflict", "conflict-what-to-do"), None, None, None)
            }
            Refusal::WrongTenant { signed_in, signed_in_as, expected } => {
                let retry_csrf = self.retry_csrf.unwrap_or_default();
                render(
                    StatusCode::FORBIDDEN,
                    &WrongTenantPage {
                        lang,
                        partner,
                        signed_in_tenant: signed_in,
                        signed_in_as: &signed_in_as,
                        expected: &expected,
                        retry_csrf,
                    },
                )
            }
            Refusal::AlreadyUsed { signed_in, signed_in_as, bound } => {
                let retry_csrf = self.retry_csrf.filter(|c| !c.is_empty());
                render(
                    StatusCode::CONFLICT,
                    &AlreadyUsedPage { lang, partner, signed_in_tenant: signed_in, signed_in_as: &signed_in_as, bound, retry_csrf },
                )
            }
            Refusal::IncompleteAnswer => refused(StatusCode::BAD_REQUEST, "refused-answer-title", "refused-answer"),
            Refusal::ForgedRequest => forbidden("refused-request-title", "refused-request"),
            Refusal::NoSession => forbidden("refused-session-title", "refused-session"),
            Refusal::NoSignIn => forbidden("refused-no-sign-in-title", "refused-no-sign-in"),
            Refusal::SignInDone => forbidden("refused-no-sign-in-title", "refused-sign-in-done"),
            Refusal::SignInState => forbidden("refused-sign-in-state-title", "refused-sign-in-state"),
            Refusal::SignInSlow => forbidden("refused-sign-in-slow-title", "refused-sign-in-slow"),
            Refusal::SignInUnverified => forbidden("refused-sign-in-title", "refused-sign-in"),
            Refusal::ConsentUnverified => forbidden("refused-unverified-title", "refused-unverified"),
            Refusal::ApprovalUnknown => forbidden("refused-approval-title", "refused-approval-unknown"),
            Refusal::ApprovalElsewhere => forbidden("refused-approval-title", "refused-approval-elsewhere"),
            Refusal::ApprovalTenant => forbidden("refused-approval-title", "refused-approval-tenant"),
            Refusal::StateUsed => forbidden("refused-used-title", "refused-used"),
            Refusal::ApprovalSlow => forbidden("refused-slow-title", "refused-slow"),
        }
    }
}

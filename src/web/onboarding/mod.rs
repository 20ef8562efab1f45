//! Customer onboarding over HTTP: the invite link → Microsoft sign-in → admin consent → the result.
//! Each step is a use case of `crate::onboarding`; here requests are parsed, the step is called and its
//! answer shown — its refusals on the customer's problem page, in the invite's language ([`problem`]).
//!
//! Links are read by machines first (mail scanners, previews): `GET /onboard/{token}` changes nothing;
//! every state change is a POST carrying a CSRF token, and cross-site POSTs are refused.

mod pages;
mod problem;
mod session;

use axum::Form;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

pub use pages::roles_in_plain_words;
pub(super) use problem::Customer;

use crate::app::AppState;
use crate::db::invites::InviteWithCustomer;
use crate::domain::TenantId;
use crate::entra::{Answer, PendingSignIn, SignInPurpose};
use crate::i18n::Language;
use crate::onboarding::{Error, Onboarding, Refusal, Started};
use crate::web::client_address::ClientAddress;
use crate::web::error::AppError;
use crate::web::kit::csrf::{CookieToken, same_origin, tokens_match};
use crate::web::kit::{oidc, paths, render};
use crate::web::language::LanguageChoice;
use pages::{LandingPage, ResultPage};
use session::OnboardingSession;

/// The landing page's form token, before there is a session.
const CSRF_COOKIE: CookieToken = CookieToken { name: "portal_csrf", path: "/onboard" };

/// A page, or the page that says why not.
type Reply = Result<Response, Response>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/onboard/retry", post(retry))
        .route("/onboard/{token}", get(landing).post(start))
        .route("/consent/callback", get(consent_callback))
}

/// `GET /onboard/{token}`: what the app will do and who can approve, and one button. Changes nothing.
async fn landing(
    State(onboarding): State<Onboarding>,
    client: ClientAddress,
    Path(token): Path<String>,
    choice: LanguageChoice,
    headers: HeaderMap,
) -> Reply {
    let customer = Customer { config: &onboarding.config, choice: &choice, retry_csrf: None };
    let invite = onboarding.open_link(&token, client.0).await.map_err(|e| customer.answer(e))?;
    let csrf = CSRF_COOKIE.for_page(&headers);
    let lang = choice.messages(Some(invite.invite.language));
    let granted_before = onboarding.granted_before(&invite).await.map_err(|e| customer.answer(e.into()))?;
    let page = LandingPage::new(&onboarding.config, lang, &invite, paths::onboard(&token), &csrf, granted_before.as_deref());
    let mut response = render(StatusCode::OK, &page);
    CSRF_COOKIE.set(&mut response, &csrf, onboarding.config.is_https());
    Ok(response)
}

#[derive(Deserialize)]
struct StartForm {
    csrf: String,
}

/// `POST /onboard/{token}`: "Continue with Microsoft".
async fn start(
    State(onboarding): State<Onboarding>,
    client: ClientAddress,
    Path(token): Path<String>,
    session: Session,
    choice: LanguageChoice,
    headers: HeaderMap,
    Form(form): Form<StartForm>,
) -> Reply {
    let customer = Customer { config: &onboarding.config, choice: &choice, retry_csrf: None };
    let invite = onboarding.open_link(&token, client.0).await.map_err(|e| customer.answer(e))?;
    if !CSRF_COOKIE.accepts(&onboarding.config.public_url, &headers, &form.csrf) {
        return Err(customer.answer(Error::refused(Refusal::ForgedRequest, Some(invite.invite.language))));
    }
    begin(&onboarding, &session, &invite, false, choice.resolve(Some(invite.invite.language))).await
}

/// `POST /onboard/retry`: sign in again (another account), for the invite of this session.
async fn retry(
    State(onboarding): State<Onboarding>,
    session: Session,
    choice: LanguageChoice,
    headers: HeaderMap,
    Form(form): Form<StartForm>,
) -> Reply {
    let customer = Customer { config: &onboarding.config, choice: &choice, retry_csrf: None };
    let Some(current) = OnboardingSession::load(&session).await else {
        return Err(customer.answer(Error::refused(Refusal::NoSession, None)));
    };
    if !same_origin(&onboarding.config.public_url, &headers) || !tokens_match(&current.csrf, &form.csrf) {
        return Err(customer.answer(Error::refused(Refusal::ForgedRequest, None)));
    }
    let invite = onboarding.reopen(&current.invite_id).await.map_err(|e| customer.answer(e))?;
    begin(&onboarding, &session, &invite, true, choice.resolve(Some(invite.invite.language))).await
}

/// Starts the onboarding of `invite` in a new session: a sign-in (v2) or the one-step consent (v1).
async fn begin(onboarding: &Onboarding, session: &Session, invite: &InviteWithCustomer, select_account: bool, language: Language) -> Reply {
    session.cycle_id().await.map_err(AppError::from)?;
    let current = OnboardingSession::new(&invite.invite.id);
    let target = match onboarding.start(invite, &current.binding, select_account, language).await.map_err(AppError::from)? {
        Started::SignIn { url, pending } => {
            oidc::start(session, pending).await?;
            url
        }
        Started::Consent { url } => {
            // A sign-in of an earlier onboarding in this browser is over.
            if oidc::pending(session).await.is_some_and(|p| p.purpose == SignInPurpose::Onboarding) {
                oidc::end(session).await?;
            }
            url
        }
    };
    current.store(session).await?;
    Ok(Redirect::to(&target).into_response())
}

/// The end of an onboarding sign-in (`/auth/callback` dispatches here): the answer is checked, the
/// pending sign-in ends, the tenant is proven, and the admin goes on to consent for it.
pub(super) async fn sign_in_callback(
    onboarding: &Onboarding,
    session: &Session,
    choice: &LanguageChoice,
    answer: &Answer,
    pending: Option<PendingSignIn>,
) -> Reply {
    let customer = Customer { config: &onboarding.config, choice, retry_csrf: None };
    let Some(mut current) = OnboardingSession::load(session).await else {
        return Err(customer.answer(Error::refused(Refusal::NoSignIn, None)));
    };
    let invite = onboarding.invite(&current.invite_id).await.map_err(AppError::from)?;
    let language = invite.as_ref().map(|i| i.invite.language);
    let customer = Customer { retry_csrf: Some(&current.csrf), ..customer };
    let Some(pending) = pending else {
        return Err(customer.answer(Error::refused(Refusal::SignInDone, language)));
    };
    let code = onboarding.accept_sign_in_answer(&pending, answer, language).map_err(|e| customer.answer(e))?;
    // Single use: the pending sign-in goes, whatever happens next.
    oidc::end(session).await?;
    let signed_in = onboarding.sign_in(invite, &pending, &code, &current.binding).await.map_err(|e| customer.answer(e))?;
    current.admin = Some(signed_in.admin);
    current.store(session).await?;
    Ok(Redirect::to(&signed_in.consent_url).into_response())
}

/// `GET /consent/callback`: the end of the admin consent; the tenant is recorded (once) and the result
/// page follows.
async fn consent_callback(
    State(onboarding): State<Onboarding>,
    session: Session,
    choice: LanguageChoice,
    RawQuery(query): RawQuery,
) -> Reply {
    let customer = Customer { config: &onboarding.config, choice: &choice, retry_csrf: None };
    let answer = Answer::parse(query.as_deref()).map_err(|_| customer.answer(Error::refused(Refusal::IncompleteAnswer, None)))?;
    let current = OnboardingSession::load(&session).await;
    let issued =
        onboarding.issued(&answer, current.as_ref().map(|c| (c.binding.as_str(), c.invite_id.as_str()))).await.map_err(AppError::from)?;
    let language = issued.language();
    let customer = Customer { retry_csrf: current.as_ref().map(|c| c.csrf.as_str()), ..customer };
    let admin = current.as_ref().and_then(|c| c.admin.as_ref());
    let tenant = onboarding.consent(issued, &answer, admin).await.map_err(|e| customer.answer(e))?;
    result_page(&onboarding, &customer, tenant, language).await
}

/// The result page of a recorded tenant, from what the database holds (so a replayed callback answers
/// the same page).
async fn result_page(onboarding: &Onboarding, customer: &Customer<'_>, tenant: TenantId, language: Option<Language>) -> Reply {
    let result = onboarding.result(tenant, language).await.map_err(|e| customer.answer(e))?;
    let page = ResultPage::new(&onboarding.config, onboarding.entra.client_id(), customer.choice.messages(language), result);
    Ok(render(StatusCode::OK, &page))
}

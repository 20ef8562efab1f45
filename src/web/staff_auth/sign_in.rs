//! Partner staff sign-in: OpenID Connect (code, PKCE, nonce, state) against the partner's own tenant
//! only; then the allow-list decides the level. Its refusals are the staff problem page (English).

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use tower_sessions::Session;

use super::{CsrfForm, Level, Nav, Refusal, STAFF_KEY, StaffSession, admit, audit, is_signed_in};
use crate::app::AppState;
use crate::domain::AuditKind;
use crate::domain::aadsts::{self, Explanation};
use crate::entra::{Answer, MicrosoftError, PendingSignIn, SignInPurpose};
use crate::i18n::Messages;
use crate::web::error::AppError;
use crate::web::kit::csrf::{CookieToken, new_token};
use crate::web::kit::{oidc, paths, render};

/// The sign-in page's form token, before there is a session.
const CSRF_COOKIE: CookieToken = CookieToken { name: "portal_staff_csrf", path: "/staff" };

#[derive(Template)]
#[template(path = "staff/sign_in.html")]
struct SignInPage<'a> {
    nav: Option<Nav>,
    partner: &'a str,
    csrf: &'a str,
}

#[derive(Template)]
#[template(path = "staff/problem.html")]
struct ProblemPage {
    nav: Option<Nav>,
    explanation: Explanation,
    code: Option<String>,
    trace_id: Option<String>,
    sign_in_again: bool,
}

/// Why a staff sign-in did not get in: each answered by the staff problem page, with "Sign in again".
enum StaffProblem {
    /// A step refused by the portal's own checks: what happened.
    Refused(&'static str),
    /// Microsoft redirected with an error (or the person chose Cancel).
    Microsoft(MicrosoftError),
    /// Microsoft did not redeem the code.
    CodeRefused { aadsts: Option<u32>, trace_id: Option<String> },
    /// A refusal of the allow-list.
    Admission(Refusal),
}

impl IntoResponse for StaffProblem {
    fn into_response(self) -> Response {
        let words = |title: &str, what_happened: &str, what_to_do: &str| Explanation {
            title: title.into(),
            what_happened: what_happened.into(),
            what_to_do: what_to_do.into(),
        };
        let (status, explanation, code, trace_id) = match self {
            Self::Refused(what_happened) => {
                let explanation = words("This sign-in was refused", what_happened, "Start the sign-in again from the partner dashboard.");
                (StatusCode::FORBIDDEN, explanation, None, None)
            }
            Self::Microsoft(error) if error.cancelled => {
                let explanation = words("You cancelled the sign-in", "Nothing was changed.", "Sign in again when you are ready.");
                (StatusCode::FORBIDDEN, explanation, error.aadsts, None)
            }
            Self::Microsoft(error) => (StatusCode::FORBIDDEN, aadsts::explain(error.aadsts).words(Messages::default()), error.aadsts, None),
            Self::CodeRefused { aadsts, trace_id } => {
                (StatusCode::BAD_GATEWAY, aadsts::explain(aadsts).words(Messages::default()), aadsts, trace_id)
            }
            Self::Admission(Refusal::OtherTenant) => {
                let explanation = words(
                    "This account is not one of the partner's",
                    "The partner dashboard is for accounts of the partner's own Microsoft tenant; you signed in with an account of another tenant.",
                    "Sign in again with your account in the partner's tenant.",
                );
                (StatusCode::FORBIDDEN, explanation, None, None)
            }
            Self::Admission(Refusal::NotAllowed) => {
                let explanation = words(
                    "You do not have access to the partner dashboard",
                    "Your account belongs to the partner's tenant, but it has neither the dashboard's admin nor its viewer role.",
                    "Ask a partner administrator to give you the dashboard's viewer or admin role (an app role of the portal's application in Entra ID), then sign in again.",
                );
                (StatusCode::FORBIDDEN, explanation, None, None)
            }
        };
        let code = code.map(|c| format!("AADSTS{c}"));
        render(status, &ProblemPage { nav: None, explanation, code, trace_id, sign_in_again: true })
    }
}

/// `GET /staff/sign-in`: one button. Signed-in staff go straight to their home, the overview.
pub(super) async fn page(State(state): State<AppState>, session: Session, headers: HeaderMap) -> Response {
    if is_signed_in(&session).await {
        return Redirect::to(paths::HOME).into_response();
    }
    let csrf = CSRF_COOKIE.for_page(&headers);
    let mut response = render(StatusCode::OK, &SignInPage { nav: None, partner: &state.config.partner_name, csrf: &csrf });
    CSRF_COOKIE.set(&mut response, &csrf, state.config.is_https());
    response
}

/// `POST /staff/sign-in`: "Sign in with Microsoft", against the partner's tenant only.
pub(super) async fn start(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Response> {
    if !CSRF_COOKIE.accepts(&state.config.public_url, &headers, &form.csrf) {
        return Err(StaffProblem::Refused("The form was not sent from this portal's page, or it is too old.").into_response());
    }
    let partner = state.config.partner_tenant_id.to_string();
    let request = state.entra.sign_in(&partner, None, false, None).map_err(AppError::Internal)?;
    // A new session id, and whoever was signed in on this browser is not any more.
    session.cycle_id().await.map_err(AppError::from)?;
    let _ = session.remove::<StaffSession>(STAFF_KEY).await;
    let url = request.url.clone();
    oidc::start(&session, PendingSignIn::new(SignInPurpose::Staff, request, partner, state.clock.now())).await?;
    Ok(Redirect::to(&url).into_response())
}

/// The end of a staff sign-in (`/auth/callback` dispatches here). The pending sign-in ends first (each
/// is answered once); then an error, the state (15 minutes at most), the code redeemed and the ID token
/// verified (signature, `iss`, `aud`, `exp`, `nonce`); then `tid` must be the partner's tenant and the
/// allow-list must give a level.
pub(crate) async fn callback(state: &AppState, session: &Session, answer: &Answer) -> Result<Response, Response> {
    let refused = |what_happened| StaffProblem::Refused(what_happened).into_response();
    let pending = oidc::end(session).await?.ok_or_else(|| refused("This browser has no staff sign-in in progress."))?;
    if let Some(error) = answer.error() {
        return Err(StaffProblem::Microsoft(error).into_response());
    }
    if !pending.answered_by(answer) {
        return Err(refused("The answer from Microsoft does not belong to the sign-in this browser started."));
    }
    if pending.expired(state.clock.now()) {
        return Err(refused("For your security, a sign-in must finish within 15 minutes."));
    }
    let code = answer.code().ok_or_else(|| AppError::BadRequest("The answer from Microsoft has no code.".into()))?;
    let tokens = state.entra.redeem_sign_in_code(&pending.tenant_segment, code, &pending.pkce_verifier).await.map_err(|error| {
        tracing::warn!(%error, "staff sign-in code redemption refused");
        StaffProblem::CodeRefused { aadsts: error.aadsts, trace_id: error.trace_id }.into_response()
    })?;
    let id_token = tokens.id_token.ok_or_else(|| refused("Microsoft's answer carried no ID token."))?;
    let claims = state.entra.verify_id_token(&id_token, &pending.nonce_hash).await.map_err(|error| {
        tracing::warn!(%error, "a staff ID token did not verify");
        refused("The answer from Microsoft did not pass the portal's checks, so it was not used.")
    })?;
    let who = claims.upn.clone().unwrap_or_else(|| claims.object_id.clone());
    let level = match admit(state.config.partner_tenant_id, &state.config.staff, &claims) {
        Ok(level) => level,
        Err(refusal) => {
            let detail = match refusal {
                Refusal::OtherTenant => json!({ "reason": "other_tenant", "tenant_id": claims.tenant_id.to_string() }),
                Refusal::NotAllowed => json!({ "reason": "not_allowed" }),
            };
            audit(state, AuditKind::StaffRefused, Some(&who), detail).await;
            return Err(StaffProblem::Admission(refusal).into_response());
        }
    };
    signed_in(state, session, who, claims.name, level).await
}

/// A new session id at sign-in (whatever id this browser had before is worth nothing now), and the
/// staff member in it.
async fn signed_in(state: &AppState, session: &Session, upn: String, name: Option<String>, level: Level) -> Result<Response, Response> {
    session.cycle_id().await.map_err(AppError::from)?;
    let staff = StaffSession { upn: upn.clone(), name, level, csrf: new_token(), signed_in_at: state.clock.now().unix_timestamp() };
    session.insert(STAFF_KEY, staff).await.map_err(AppError::from)?;
    audit(state, AuditKind::StaffSignedIn, Some(&upn), json!({ "level": level.label() })).await;
    Ok(Redirect::to(paths::HOME).into_response())
}

//! Partner staff sign-in: OpenID Connect (code, PKCE, nonce, state) against the partner's own tenant
//! only, the allow-list (an app role in the ID token's `roles`, or e-mail addresses), two levels, and the
//! guard every staff page and export goes through.
//!
//! SECURITY.md, "Sessions and forms": a new session id at sign-in, server-side expiry (the session layer
//! expires a session after an hour of inactivity; a staff sign-in also ends after [`MAX_SESSION_AGE`]),
//! sign-out flushes the session, every POST carries the session's CSRF token and cross-site POSTs are
//! refused. Staff routes answer nobody without a session: a GET is sent to the sign-in page (with no data
//! in the body), anything else gets 403.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::kit::csrf::{CookieToken, new_token, same_origin, tokens_match};
use super::kit::render;
use crate::app::AppState;
use crate::config::StaffAccess;
use crate::db;
use crate::db::audit::NewAuditEvent;
use crate::domain::aadsts::{self, Explanation};
use crate::domain::{AuditKind, TenantId, clock, hash_secret};
use crate::entra::IdTokenClaims;
use crate::i18n::Messages;
use crate::web::error::AppError;
use crate::web::kit::paths;

/// The session key of a signed-in staff member.
pub const STAFF_KEY: &str = "staff";
/// The session key of a staff sign-in on its way to Microsoft and back.
pub const SIGN_IN_KEY: &str = "staff_sign_in";
/// The sign-in page's form token, before there is a session.
const CSRF_COOKIE: CookieToken = CookieToken { name: "portal_staff_csrf", path: "/staff" };
/// How long a sign-in may take between the button and the callback.
const SIGN_IN_LIFETIME_S: i64 = 15 * 60;
/// The longest a staff sign-in lasts, however active (inactivity ends it after an hour before that).
pub const MAX_SESSION_AGE_S: i64 = 12 * 3600;

pub fn routes() -> Router<AppState> {
    Router::new().route("/staff/sign-in", get(sign_in_page).post(start_sign_in)).route("/staff/sign-out", post(sign_out))
}

/// What a staff member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Read everything.
    Viewer,
    /// Also create and revoke invites, re-check and remove tenants.
    Admin,
}

impl Level {
    pub fn label(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Admin => "admin",
        }
    }
}

/// The level the allow-list gives a partner user, if any: admin by the admin role or the admins list;
/// viewer by the viewer role, the viewers list, or an open dashboard.
pub fn level_for(access: &StaffAccess, upn: Option<&str>, roles: &[String]) -> Option<Level> {
    let upn = upn.map(str::to_lowercase);
    let listed = |list: &[String]| upn.as_ref().is_some_and(|u| list.iter().any(|e| e == u));
    let has_role = |role: &str| roles.iter().any(|r| r == role);
    if has_role(&access.admin_role) || listed(&access.admins) {
        Some(Level::Admin)
    } else if has_role(&access.viewer_role) || listed(&access.viewers) || access.open {
        Some(Level::Viewer)
    } else {
        None
    }
}

/// Why a verified sign-in does not get into the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The ID token's `tid` is not the partner's tenant.
    OtherTenant,
    /// A partner user the allow-list gives no level.
    NotAllowed,
}

/// The decision on a verified staff sign-in: the partner's tenant only, then the allow-list.
pub fn admit(partner: TenantId, access: &StaffAccess, claims: &IdTokenClaims) -> Result<Level, Refusal> {
    if claims.tenant_id != partner {
        return Err(Refusal::OtherTenant);
    }
    level_for(access, claims.upn.as_deref(), &claims.roles).ok_or(Refusal::NotAllowed)
}

/// A signed-in staff member, as the session keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StaffSession {
    upn: String,
    name: Option<String>,
    level: Level,
    /// The CSRF token of this session's forms.
    csrf: String,
    signed_in_at: i64,
}

/// A staff sign-in on its way: hashes of its state and nonce, and the PKCE verifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingStaffSignIn {
    state_hash: String,
    nonce_hash: String,
    pkce_verifier: String,
    started_at: i64,
}

/// The guard of every staff page: a signed-in staff member (extracting it refuses anyone else).
#[derive(Debug, Clone)]
pub struct StaffUser {
    pub upn: String,
    pub name: Option<String>,
    pub level: Level,
    pub csrf: String,
}

impl FromRequestParts<AppState> for StaffUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let refuse = |method: &Method| -> Response {
            if *method == Method::GET || *method == Method::HEAD {
                Redirect::to(paths::STAFF_SIGN_IN).into_response()
            } else {
                AppError::Forbidden("Sign in to the partner dashboard first.".into()).into_response()
            }
        };
        let Ok(session) = Session::from_request_parts(parts, state).await else {
            return Err(refuse(&parts.method));
        };
        let current = session.get::<StaffSession>(STAFF_KEY).await.ok().flatten();
        match current {
            Some(current) if OffsetDateTime::now_utc().unix_timestamp() - current.signed_in_at <= MAX_SESSION_AGE_S => {
                Ok(Self { upn: current.upn, name: current.name, level: current.level, csrf: current.csrf })
            }
            Some(_) => {
                let _ = session.flush().await;
                Err(refuse(&parts.method))
            }
            None => Err(refuse(&parts.method)),
        }
    }
}

impl StaffUser {
    pub fn is_admin(&self) -> bool {
        self.level == Level::Admin
    }

    /// Checks a staff POST: sent from our own pages, with this session's CSRF token, by an admin when
    /// `admin_only`.
    pub fn check_form(&self, state: &AppState, headers: &HeaderMap, csrf: &str, admin_only: bool) -> Result<(), AppError> {
        if !same_origin(&state.config.public_url, headers) || !tokens_match(&self.csrf, csrf) {
            return Err(AppError::Forbidden("The form was not sent from this portal's page, or it is too old.".into()));
        }
        if admin_only && !self.is_admin() {
            return Err(AppError::Forbidden("Only dashboard admins can do this. Ask a partner admin for the admin role.".into()));
        }
        Ok(())
    }

    /// [`Self::check_form`], with the refusal as a response.
    #[allow(clippy::result_large_err)]
    pub fn check_post(&self, state: &AppState, headers: &HeaderMap, csrf: &str, admin_only: bool) -> Result<(), Response> {
        self.check_form(state, headers, csrf, admin_only).map_err(IntoResponse::into_response)
    }

    /// The navigation bar of a staff page.
    pub fn nav(&self, current: &'static str) -> Nav {
        Nav { upn: self.upn.clone(), level: self.level.label(), csrf: self.csrf.clone(), current }
    }
}

/// The navigation of staff pages: who is signed in, and the sign-out form.
#[derive(Debug, Clone)]
pub struct Nav {
    pub upn: String,
    pub level: &'static str,
    pub csrf: String,
    /// `tenants` or `invites`.
    pub current: &'static str,
}

/// Is a staff member signed in on this session? (For `/`.)
pub async fn is_signed_in(session: &Session) -> bool {
    session.get::<StaffSession>(STAFF_KEY).await.ok().flatten().is_some()
}

/// The state hash of the staff sign-in pending on this session, if any (the callback dispatches on it).
pub async fn pending_state_hash(session: &Session) -> Option<String> {
    session.get::<PendingStaffSignIn>(SIGN_IN_KEY).await.ok().flatten().map(|p| p.state_hash)
}

// ---------------------------------------------------------------------------------------------------
// Pages

#[derive(Template)]
#[template(path = "staff/sign_in.html")]
struct SignInPage<'a> {
    nav: Option<Nav>,
    partner: &'a str,
    csrf: &'a str,
}

#[derive(Template)]
#[template(path = "staff/problem.html")]
pub(crate) struct ProblemPage {
    pub nav: Option<Nav>,
    pub explanation: Explanation,
    pub code: Option<String>,
    pub trace_id: Option<String>,
    pub sign_in_again: bool,
}

fn problem(status: StatusCode, title: &'static str, what_happened: &'static str, what_to_do: &'static str) -> Response {
    let page = ProblemPage {
        nav: None,
        explanation: Explanation { title: title.into(), what_happened: what_happened.into(), what_to_do: what_to_do.into() },
        code: None,
        trace_id: None,
        sign_in_again: true,
    };
    render(status, &page)
}

fn refused(what_happened: &'static str) -> Response {
    problem(StatusCode::FORBIDDEN, "This sign-in was refused", what_happened, "Start the sign-in again from the partner dashboard.")
}

async fn audit(state: &AppState, kind: AuditKind, actor: Option<&str>, detail: serde_json::Value) {
    let event = NewAuditEvent { detail, ..NewAuditEvent::new(kind, actor) };
    if let Err(error) = db::audit::record(&state.db, event, clock::now(&*state.clock)).await {
        tracing::error!(%error, %kind, "cannot record an audit event");
    }
}

// ---------------------------------------------------------------------------------------------------
// Handlers

/// `GET /staff/sign-in`: one button. Signed-in staff go straight to the tenants.
async fn sign_in_page(State(state): State<AppState>, session: Session, headers: HeaderMap) -> Response {
    if is_signed_in(&session).await {
        return Redirect::to(paths::TENANTS).into_response();
    }
    let csrf = CSRF_COOKIE.for_page(&headers);
    let page = SignInPage { nav: None, partner: &state.config.partner_name, csrf: &csrf };
    let mut response = render(StatusCode::OK, &page);
    CSRF_COOKIE.set(&mut response, &csrf, state.config.is_https());
    response
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    pub csrf: String,
}

/// `POST /staff/sign-in`: "Sign in with Microsoft", against the partner's tenant only.
async fn start_sign_in(State(state): State<AppState>, session: Session, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    if !CSRF_COOKIE.accepts(&state.config.public_url, &headers, &form.csrf) {
        return refused("The form was not sent from this portal's page, or it is too old.");
    }
    let partner = state.config.partner_tenant_id.to_string();
    let request = match state.entra.sign_in(&partner, None, false, None) {
        Ok(request) => request,
        Err(error) => return AppError::Internal(error).into_response(),
    };
    // A new session id, and whoever was signed in on this browser is not any more.
    if let Err(error) = session.cycle_id().await {
        return AppError::Internal(anyhow::anyhow!("session: {error}")).into_response();
    }
    let _ = session.remove::<StaffSession>(STAFF_KEY).await;
    let pending = PendingStaffSignIn {
        state_hash: hash_secret(&request.state),
        nonce_hash: hash_secret(&request.nonce),
        pkce_verifier: request.pkce_verifier,
        started_at: OffsetDateTime::now_utc().unix_timestamp(),
    };
    if let Err(error) = session.insert(SIGN_IN_KEY, pending).await {
        return AppError::Internal(anyhow::anyhow!("session: {error}")).into_response();
    }
    Redirect::to(&request.url).into_response()
}

/// The end of a staff sign-in, reached through `GET /auth/callback` (shared with onboarding, which
/// dispatches here). Error first; then the state (single use, 15 minutes); then the code is redeemed
/// and the ID token verified (signature, `iss`, `aud`, `exp`, `nonce`); then `tid` must be the
/// partner's tenant and the allow-list must give a level.
pub(crate) async fn callback(state: &AppState, session: &Session, params: &HashMap<String, String>) -> Response {
    // Single use: the pending sign-in goes, whatever happens next.
    let pending = session.remove::<PendingStaffSignIn>(SIGN_IN_KEY).await.ok().flatten();
    let Some(pending) = pending else {
        return refused("This browser has no staff sign-in in progress.");
    };
    let state_ok = params.get("state").is_some_and(|s| tokens_match(&hash_secret(s), &pending.state_hash));
    if params.contains_key("error") {
        let code = params.get("error_description").and_then(|d| aadsts::code_in(d));
        let page = ProblemPage {
            nav: None,
            explanation: if params.get("error_subcode").map(String::as_str) == Some("cancel") {
                Explanation {
                    title: "You cancelled the sign-in".into(),
                    what_happened: "Nothing was changed.".into(),
                    what_to_do: "Sign in again when you are ready.".into(),
                }
            } else {
                aadsts::explain(code).words(Messages::default())
            },
            code: code.map(|c| format!("AADSTS{c}")),
            trace_id: None,
            sign_in_again: true,
        };
        return render(StatusCode::FORBIDDEN, &page);
    }
    if !state_ok {
        return refused("The answer from Microsoft does not belong to the sign-in this browser started.");
    }
    if OffsetDateTime::now_utc().unix_timestamp() - pending.started_at > SIGN_IN_LIFETIME_S {
        return refused("For your security, a sign-in must finish within 15 minutes.");
    }
    let Some(code) = params.get("code") else {
        return AppError::BadRequest("The answer from Microsoft has no code.".into()).into_response();
    };
    let partner = state.config.partner_tenant_id.to_string();
    let tokens = match state.entra.redeem_sign_in_code(&partner, code, &pending.pkce_verifier).await {
        Ok(tokens) => tokens,
        Err(error) => {
            tracing::warn!(%error, "staff sign-in code redemption refused");
            let page = ProblemPage {
                nav: None,
                explanation: aadsts::explain(error.aadsts).words(Messages::default()),
                code: error.aadsts.map(|c| format!("AADSTS{c}")),
                trace_id: error.trace_id,
                sign_in_again: true,
            };
            return render(StatusCode::BAD_GATEWAY, &page);
        }
    };
    let Some(id_token) = tokens.id_token else {
        return refused("Microsoft's answer carried no ID token.");
    };
    let claims = match state.entra.verify_id_token(&id_token, &pending.nonce_hash).await {
        Ok(claims) => claims,
        Err(error) => {
            tracing::warn!(%error, "a staff ID token did not verify");
            return refused("The answer from Microsoft did not pass the portal's checks, so it was not used.");
        }
    };
    let who = claims.upn.clone().unwrap_or_else(|| claims.object_id.clone());
    let level = match admit(state.config.partner_tenant_id, &state.config.staff, &claims) {
        Ok(level) => level,
        Err(Refusal::OtherTenant) => {
            audit(
                state,
                AuditKind::StaffRefused,
                Some(&who),
                json!({ "reason": "other_tenant", "tenant_id": claims.tenant_id.to_string() }),
            )
            .await;
            return problem(
                StatusCode::FORBIDDEN,
                "This account is not one of the partner's",
                "The partner dashboard is for accounts of the partner's own Microsoft tenant; you signed in with an account of another tenant.",
                "Sign in again with your account in the partner's tenant.",
            );
        }
        Err(Refusal::NotAllowed) => {
            audit(state, AuditKind::StaffRefused, Some(&who), json!({ "reason": "not_allowed" })).await;
            return problem(
                StatusCode::FORBIDDEN,
                "You do not have access to the partner dashboard",
                "Your account belongs to the partner's tenant, but it has neither the dashboard's admin nor its viewer role.",
                "Ask a partner administrator to give you the dashboard's viewer or admin role (an app role of the portal's application in Entra ID), then sign in again.",
            );
        }
    };
    // A new session id at sign-in: whatever id this browser had before is worth nothing now.
    if let Err(error) = session.cycle_id().await {
        return AppError::Internal(anyhow::anyhow!("session: {error}")).into_response();
    }
    let staff = StaffSession {
        upn: who.clone(),
        name: claims.name,
        level,
        csrf: new_token(),
        signed_in_at: OffsetDateTime::now_utc().unix_timestamp(),
    };
    if let Err(error) = session.insert(STAFF_KEY, staff).await {
        return AppError::Internal(anyhow::anyhow!("session: {error}")).into_response();
    }
    audit(state, AuditKind::StaffSignedIn, Some(&who), json!({ "level": level.label() })).await;
    Redirect::to(paths::TENANTS).into_response()
}

/// `POST /staff/sign-out`: the session ends on the server (flushed), the cookie with it.
async fn sign_out(
    State(state): State<AppState>,
    staff: StaffUser,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = staff.check_post(&state, &headers, &form.csrf, false) {
        return refused;
    }
    if let Err(error) = session.flush().await {
        return AppError::Internal(anyhow::anyhow!("session: {error}")).into_response();
    }
    audit(&state, AuditKind::StaffSignedOut, Some(&staff.upn), json!({})).await;
    Redirect::to(paths::STAFF_SIGN_IN).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(names: &[&str]) -> Vec<String> {
        names.iter().map(|r| r.to_string()).collect()
    }

    #[test]
    fn only_the_partners_tenant_is_admitted_whatever_the_roles() {
        let partner = TenantId::new_random();
        let claims = |tenant_id: TenantId, roles: &[&str]| IdTokenClaims {
            tenant_id,
            object_id: "oid".into(),
            upn: Some("alex@fabrikampartner.example".into()),
            name: None,
            roles: roles.iter().map(|r| r.to_string()).collect(),
        };
        let access = StaffAccess { admins: vec!["alex@fabrikampartner.example".into()], open: true, ..StaffAccess::default() };
        assert_eq!(admit(partner, &access, &claims(TenantId::new_random(), &["Portal.Admin"])), Err(Refusal::OtherTenant));
        assert_eq!(admit(partner, &access, &claims(partner, &[])), Ok(Level::Admin));
        assert_eq!(admit(partner, &StaffAccess::default(), &claims(partner, &[])), Err(Refusal::NotAllowed));
        assert_eq!(admit(partner, &StaffAccess::default(), &claims(partner, &["Portal.Viewer"])), Ok(Level::Viewer));
    }

    #[test]
    fn levels_by_role_list_and_openness() {
        let mut access = StaffAccess::default();
        assert_eq!(level_for(&access, Some("a@x.example"), &roles(&["Portal.Admin"])), Some(Level::Admin));
        assert_eq!(level_for(&access, Some("a@x.example"), &roles(&["Portal.Viewer"])), Some(Level::Viewer));
        assert_eq!(level_for(&access, Some("a@x.example"), &roles(&["Portal.admin"])), None, "roles are compared exactly");
        assert_eq!(level_for(&access, Some("a@x.example"), &[]), None);
        access.admins = vec!["boss@x.example".into()];
        access.viewers = vec!["reader@x.example".into()];
        assert_eq!(level_for(&access, Some("Boss@X.example"), &[]), Some(Level::Admin));
        assert_eq!(level_for(&access, Some("reader@x.example"), &[]), Some(Level::Viewer));
        assert_eq!(level_for(&access, None, &[]), None);
        access.open = true;
        assert_eq!(level_for(&access, Some("anyone@x.example"), &[]), Some(Level::Viewer));
        assert_eq!(level_for(&access, Some("anyone@x.example"), &roles(&["Portal.Admin"])), Some(Level::Admin));
    }
}

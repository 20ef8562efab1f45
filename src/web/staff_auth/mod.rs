//! Partner staff sign-in: OpenID Connect (code, PKCE, nonce, state) against the partner's own tenant
//! only, the allow-list (an app role in the ID token's `roles`, or e-mail addresses), two levels, and the
//! guard every staff page and export goes through.
//!
//! Sessions and forms: a new session id at sign-in, server-side expiry (the session layer expires a
//! session after an hour of inactivity; a staff sign-in also ends after [`MAX_SESSION_AGE_S`]), sign-out
//! flushes the session, every POST carries the session's CSRF token and cross-site POSTs are refused.
//! Staff routes answer nobody without a session: a GET is sent to the sign-in page (with no data in the
//! body), anything else gets 403. The sign-in itself is in [`sign_in`].

mod retirement;
mod sign_in;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_sessions::Session;

pub use retirement::RetirementBanner;
pub(super) use sign_in::callback;

use super::kit::csrf::{same_origin, tokens_match};
use crate::app::AppState;
use crate::config::StaffAccess;
use crate::db;
use crate::db::audit::NewAuditEvent;
use crate::domain::{AuditKind, TenantId, clock};
use crate::entra::IdTokenClaims;
use crate::web::error::AppError;
use crate::web::kit::paths;

/// The session key of a signed-in staff member.
pub const STAFF_KEY: &str = "staff";
/// The longest a staff sign-in lasts, however active (inactivity ends it after an hour before that).
pub const MAX_SESSION_AGE_S: i64 = 12 * 3600;

pub fn routes() -> Router<AppState> {
    Router::new().route("/staff/sign-in", get(sign_in::page).post(sign_in::start)).route("/staff/sign-out", post(sign_out))
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

/// The guard of every staff page: a signed-in staff member (extracting it refuses anyone else).
#[derive(Debug, Clone)]
pub struct StaffUser {
    pub upn: String,
    pub name: Option<String>,
    pub level: Level,
    pub csrf: String,
    /// What every staff page must say while a required API retires, as of this request.
    pub retirement: Option<RetirementBanner>,
    /// The portal's own credentials that expire within 30 days (or have expired), as of this request.
    pub credentials: Vec<crate::credentials::CredentialExpiry>,
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
            Some(current) if state.clock.now().unix_timestamp() - current.signed_in_at <= MAX_SESSION_AGE_S => Ok(Self {
                upn: current.upn,
                name: current.name,
                level: current.level,
                csrf: current.csrf,
                // The application's clock, so a test can set the day.
                retirement: RetirementBanner::on(&state.config.required, state.clock.now().date()),
                credentials: crate::credentials::expiring(&state.config, state.clock.now()),
            }),
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

    /// The navigation bar of a staff page.
    pub fn nav(&self, current: &'static str) -> Nav {
        Nav {
            upn: self.upn.clone(),
            level: self.level.label(),
            csrf: self.csrf.clone(),
            current,
            retirement: self.retirement.clone(),
            credentials: self.credentials.clone(),
        }
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
    /// The banner of a retiring API, shown by the staff layout on every page.
    pub retirement: Option<RetirementBanner>,
    /// The banner of the portal's own credentials that expire soon, on every page.
    pub credentials: Vec<crate::credentials::CredentialExpiry>,
}

/// Is a staff member signed in on this session? (For `/`.)
pub async fn is_signed_in(session: &Session) -> bool {
    session.get::<StaffSession>(STAFF_KEY).await.ok().flatten().is_some()
}

/// Records a staff event; one that cannot be written is logged (what it records already happened).
async fn audit(state: &AppState, kind: AuditKind, actor: Option<&str>, detail: serde_json::Value) {
    let event = NewAuditEvent { detail, ..NewAuditEvent::new(kind, actor) };
    if let Err(error) = db::audit::record(&state.db, event, clock::now(&*state.clock)).await {
        tracing::error!(%error, %kind, "cannot record an audit event");
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    pub csrf: String,
}

/// `POST /staff/sign-out`: the session ends on the server (flushed), the cookie with it.
async fn sign_out(
    State(state): State<AppState>,
    staff: StaffUser,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    staff.check_form(&state, &headers, &form.csrf, false)?;
    session.flush().await?;
    audit(&state, AuditKind::StaffSignedOut, Some(&staff.upn), json!({})).await;
    Ok(Redirect::to(paths::STAFF_SIGN_IN).into_response())
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

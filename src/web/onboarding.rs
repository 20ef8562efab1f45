//! Customer onboarding: the invite link → Microsoft sign-in → admin consent → a proven tenant recorded.
//!
//! SECURITY.md, "The tenant must be proven": a tenant is recorded for a customer only when the person
//! signed in with OpenID Connect first (the verified ID token's `tid` is the tenant, and equals the
//! invite's pinned tenant if any), the consent redirect carries a `state` this portal issued for this
//! invite, this browser session and this tenant — unexpired, used once — and its `tenant` equals that
//! `tid`. In the v1 flow the tenant is proven by redeeming the code and verifying the returned token.
//!
//! "Links that are read by machines first": `GET /onboard/{token}` changes nothing; every state change
//! is a POST carrying a CSRF token, and cross-site POSTs are refused.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_sessions::Session;

use crate::app::AppState;
use crate::config::ConsentFlow;
use crate::db;
use crate::db::audit::NewAuditEvent;
use crate::db::invites::InviteWithCustomer;
use crate::db::tenants::Recorded;
use crate::domain::aadsts::{self, ExplanationKeys};
use crate::domain::{AuditKind, InviteToken, RoleList, TenantId, TenantStatus, clock, hash_secret};
use crate::i18n::{Language, Messages};
use crate::monitor;
use crate::web::client_address::ClientAddress;
use crate::web::error::AppError;
use crate::web::kit::csrf::{CookieToken, new_token, same_origin, tokens_match};
use crate::web::kit::paths;
use crate::web::kit::render;
use crate::web::language::{LanguageChoice, PageLanguage};

const SESSION_KEY: &str = "onboarding";
/// The landing page's form token, before there is a session.
const CSRF_COOKIE: CookieToken = CookieToken { name: "portal_csrf", path: "/onboard" };
/// How long a sign-in or a consent `state` stays valid.
const STEP_LIFETIME: time::Duration = time::Duration::minutes(15);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/onboard/retry", post(retry))
        .route("/onboard/{token}", get(landing).post(start))
        .route("/auth/callback", get(sign_in_callback))
        .route("/consent/callback", get(consent_callback))
}

/// What the browser's session holds during an onboarding.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct OnboardingSession {
    /// Random; consent states are bound to it (and so to this browser session).
    binding: String,
    /// The CSRF token of this session's forms.
    csrf: String,
    invite_id: String,
    sign_in: Option<PendingSignIn>,
    admin: Option<SignedInAdmin>,
}

/// A sign-in on its way: hashes of its state and nonce, and the PKCE verifier (useless without the
/// one-time code).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingSignIn {
    state_hash: String,
    nonce_hash: String,
    pkce_verifier: String,
    tenant_segment: String,
    started_at: i64,
}

/// Who signed in, proven by a verified ID token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SignedInAdmin {
    tenant_id: String,
    upn: Option<String>,
    object_id: String,
}

// ---------------------------------------------------------------------------------------------------
// Pages

#[derive(Template)]
#[template(path = "onboarding/landing.html")]
struct LandingPage<'a> {
    lang: PageLanguage,
    partner: &'a str,
    customer: &'a str,
    roles: Vec<(String, String)>,
    action: String,
    csrf: &'a str,
    pinned: Option<String>,
    /// The tenant a completed invite onboarded (and is bound to).
    connected_tenant: Option<String>,
    one_step: bool,
}

#[derive(Template)]
#[template(path = "onboarding/problem.html")]
struct ProblemPage<'a> {
    lang: PageLanguage,
    partner: &'a str,
    explanation: aadsts::Explanation,
    code: Option<String>,
    trace_id: Option<String>,
    retry_csrf: Option<String>,
    contact: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "onboarding/wrong_tenant.html")]
struct WrongTenantPage<'a> {
    lang: PageLanguage,
    partner: &'a str,
    signed_in_tenant: String,
    signed_in_as: String,
    expected: String,
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

#[derive(Template)]
#[template(path = "onboarding/result.html")]
struct ResultPage<'a> {
    lang: PageLanguage,
    partner: &'a str,
    customer: String,
    tenant_id: TenantId,
    consented_by: String,
    consented_at: String,
    client_id: &'a str,
    requested: Vec<(String, String)>,
    granted: Vec<String>,
    still_to_appear: Vec<String>,
    status_label: String,
    status_tone: &'static str,
    verified: bool,
    propagating: bool,
    problem: Option<aadsts::Explanation>,
    code: Option<String>,
}

fn problem(
    state: &AppState,
    lang: &PageLanguage,
    status: StatusCode,
    explanation: ExplanationKeys,
    code: Option<String>,
    trace_id: Option<String>,
    retry_csrf: Option<String>,
) -> Response {
    let page = ProblemPage {
        lang: lang.clone(),
        partner: &state.config.partner_name,
        explanation: explanation.words(lang.tr),
        code,
        trace_id,
        retry_csrf,
        contact: None,
    };
    render(status, &page)
}

/// A step refused by the portal's own checks: what happened, and "start again from the e-mail".
fn refused(state: &AppState, lang: &PageLanguage, status: StatusCode, title: &'static str, what_happened: &'static str) -> Response {
    problem(state, lang, status, ExplanationKeys::new(title, what_happened, "refused-start-over"), None, None, None)
}

/// An answer from Microsoft that lacks a part the flow needs (a forged or truncated redirect).
fn incomplete_answer(state: &AppState, lang: &PageLanguage) -> Response {
    refused(state, lang, StatusCode::BAD_REQUEST, "refused-answer-title", "refused-answer")
}

fn not_found(state: &AppState, lang: &PageLanguage) -> Response {
    // The same page for every unknown token: no switch links, which would repeat the path.
    let lang = &PageLanguage { tr: lang.tr, switch: Vec::new() };
    let explanation = ExplanationKeys::new("not-found-title", "not-found", "not-found-what-to-do");
    problem(state, lang, StatusCode::NOT_FOUND, explanation, None, None, None)
}

fn gone(state: &AppState, lang: &PageLanguage) -> Response {
    let page = ProblemPage {
        lang: lang.clone(),
        partner: &state.config.partner_name,
        explanation: ExplanationKeys::new("gone-title", "gone", "gone-what-to-do").words(lang.tr),
        code: None,
        trace_id: None,
        retry_csrf: None,
        contact: Some(state.config.partner_contact.as_deref().unwrap_or(&state.config.partner_name)),
    };
    render(StatusCode::GONE, &page)
}

/// The roles the application asks for, each with its description in the page's language.
pub(crate) fn roles_in_plain_words(state: &AppState, tr: Messages) -> Vec<(String, String)> {
    state.config.required_roles.iter().map(|r| (r.to_string(), tr.t(aadsts::describe_role(r.as_str())))).collect()
}

// ---------------------------------------------------------------------------------------------------
// Helpers

async fn audit(
    state: &AppState,
    kind: AuditKind,
    actor: Option<&str>,
    invite: Option<&InviteWithCustomer>,
    tenant: Option<TenantId>,
    detail: serde_json::Value,
) {
    let event = NewAuditEvent {
        customer_id: invite.map(|i| i.invite.customer_id.as_str()),
        invite_id: invite.map(|i| i.invite.id.as_str()),
        tenant_id: tenant,
        detail,
        ..NewAuditEvent::new(kind, actor)
    };
    if let Err(error) = db::audit::record(&state.db, event, clock::now(&*state.clock)).await {
        tracing::error!(%error, %kind, "cannot record an audit event");
    }
}

/// The invite of a link, or the page to answer instead: the same 404 for every unknown token, 410 for an
/// expired or revoked one. Only unknown tokens count against the client address's quota of failed
/// lookups, and past it they get 429; a known token is always looked up and answered, so a customer
/// is not locked out by someone else guessing from the same address.
async fn invite_for_link(
    state: &AppState,
    choice: &LanguageChoice,
    client: ClientAddress,
    token: &str,
) -> Result<InviteWithCustomer, Response> {
    let invite = match InviteToken::parse(token) {
        Ok(token) => db::invites::find_by_token_hash(&state.db, &token.hash()).await.map_err(|e| AppError::from(e).into_response())?,
        Err(_) => None,
    };
    let Some(invite) = invite else {
        if !state.onboarding_limiter.record_failure(client.0) {
            return Err(AppError::TooManyRequests.into_response());
        }
        return Err(not_found(state, &choice.messages(None)));
    };
    if !invite.invite.link_works(clock::now(&*state.clock)) {
        return Err(gone(state, &choice.messages(Some(invite.invite.language))));
    }
    Ok(invite)
}

async fn load_session(session: &Session) -> Option<OnboardingSession> {
    session.get::<OnboardingSession>(SESSION_KEY).await.ok().flatten()
}

/// Query parameters; a parameter given twice is refused (a sign of tampering).
fn single_valued(query: Option<&str>) -> Result<HashMap<String, String>, ()> {
    let mut params = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if params.insert(name.into_owned(), value.into_owned()).is_some() {
            return Err(());
        }
    }
    Ok(params)
}

// ---------------------------------------------------------------------------------------------------
// Handlers

/// `GET /onboard/{token}`: what the app will do and who can approve, and one button. Changes nothing.
async fn landing(
    State(state): State<AppState>,
    client: ClientAddress,
    Path(token): Path<String>,
    choice: LanguageChoice,
    headers: HeaderMap,
) -> Response {
    let invite = match invite_for_link(&state, &choice, client, &token).await {
        Ok(invite) => invite,
        Err(response) => return response,
    };
    let lang = choice.messages(Some(invite.invite.language));
    let csrf = CSRF_COOKIE.for_page(&headers);
    let page = LandingPage {
        roles: roles_in_plain_words(&state, lang.tr),
        lang,
        partner: &state.config.partner_name,
        customer: &invite.customer_name,
        action: paths::onboard(&token),
        csrf: &csrf,
        pinned: invite.invite.pinned(),
        connected_tenant: invite.invite.completed_tenant_id.map(|t| t.to_string()),
        one_step: state.config.consent_flow == ConsentFlow::V1,
    };
    let mut response = render(StatusCode::OK, &page);
    CSRF_COOKIE.set(&mut response, &csrf, state.config.is_https());
    response
}

#[derive(Deserialize)]
struct StartForm {
    csrf: String,
}

/// `POST /onboard/{token}`: "Continue with Microsoft".
async fn start(
    State(state): State<AppState>,
    client: ClientAddress,
    Path(token): Path<String>,
    session: Session,
    choice: LanguageChoice,
    headers: HeaderMap,
    Form(form): Form<StartForm>,
) -> Response {
    let invite = match invite_for_link(&state, &choice, client, &token).await {
        Ok(invite) => invite,
        Err(response) => return response,
    };
    if !CSRF_COOKIE.accepts(&state.config.public_url, &headers, &form.csrf) {
        let lang = choice.messages(Some(invite.invite.language));
        return refused(&state, &lang, StatusCode::FORBIDDEN, "refused-request-title", "refused-request");
    }
    let language = choice.resolve(Some(invite.invite.language));
    begin(&state, &session, &invite, false, language).await
}

/// `POST /onboard/retry`: sign in again (another account), for the invite of this session.
async fn retry(
    State(state): State<AppState>,
    session: Session,
    choice: LanguageChoice,
    headers: HeaderMap,
    Form(form): Form<StartForm>,
) -> Response {
    let lang = choice.messages(None);
    let Some(current) = load_session(&session).await else {
        return refused(&state, &lang, StatusCode::FORBIDDEN, "refused-session-title", "refused-session");
    };
    if !same_origin(&state.config.public_url, &headers) || !tokens_match(&current.csrf, &form.csrf) {
        return refused(&state, &lang, StatusCode::FORBIDDEN, "refused-request-title", "refused-request");
    }
    let invite = match db::invites::find(&state.db, &current.invite_id).await {
        Ok(Some(invite)) if invite.invite.link_works(clock::now(&*state.clock)) => invite,
        Ok(invite) => return gone(&state, &choice.messages(invite.as_ref().map(|i| i.invite.language))),
        Err(error) => return AppError::from(error).into_response(),
    };
    let language = choice.resolve(Some(invite.invite.language));
    begin(&state, &session, &invite, true, language).await
}

/// Starts the sign-in (v2) or the one-step consent (v1) in a new session.
async fn begin(state: &AppState, session: &Session, invite: &InviteWithCustomer, select_account: bool, language: Language) -> Response {
    if let Err(error) = session.cycle_id().await {
        return AppError::Internal(anyhow::anyhow!("session: {error}")).into_response();
    }
    let mut data =
        OnboardingSession { binding: new_token(), csrf: new_token(), invite_id: invite.invite.id.clone(), sign_in: None, admin: None };
    let target = match state.config.consent_flow {
        ConsentFlow::V2 => {
            let segment = invite.invite.pinned_tenant_id.map_or_else(|| "organizations".to_owned(), |t| t.to_string());
            let request = match state.entra.sign_in(&segment, None, select_account, Some(language.code())) {
                Ok(request) => request,
                Err(error) => return AppError::Internal(error).into_response(),
            };
            data.sign_in = Some(PendingSignIn {
                state_hash: hash_secret(&request.state),
                nonce_hash: hash_secret(&request.nonce),
                pkce_verifier: request.pkce_verifier,
                tenant_segment: segment,
                started_at: state.clock.now().unix_timestamp(),
            });
            request.url
        }
        ConsentFlow::V1 => {
            let state_value = match issue_consent_state(state, &data.binding, invite, None, ConsentFlow::V1).await {
                Ok(value) => value,
                Err(error) => return AppError::from(error).into_response(),
            };
            state.entra.v1_consent_url(&state_value)
        }
    };
    if let Err(error) = session.insert(SESSION_KEY, data).await {
        return AppError::Internal(anyhow::anyhow!("session: {error}")).into_response();
    }
    Redirect::to(&target).into_response()
}

/// A new consent `state` for this browser session and invite (and the signed-in tenant, in v2): only
/// its hash is stored. Returns the value to send to Microsoft.
async fn issue_consent_state(
    state: &AppState,
    session_binding: &str,
    invite: &InviteWithCustomer,
    tenant: Option<TenantId>,
    flow: ConsentFlow,
) -> Result<String, sqlx::Error> {
    let value = new_token();
    let now = clock::now(&*state.clock);
    let new = db::consent_states::NewConsentState {
        state_hash: &hash_secret(&value),
        session_binding,
        invite_id: &invite.invite.id,
        tenant_id: tenant,
        flow,
        expires_at: now + STEP_LIFETIME,
    };
    db::consent_states::insert(&state.db, new, now).await?;
    Ok(value)
}

/// An error redirect from Microsoft: the explanation of its AADSTS code (never its description).
fn microsoft_error(
    state: &AppState,
    lang: &PageLanguage,
    params: &HashMap<String, String>,
    retry_csrf: Option<String>,
) -> (Response, Option<u32>) {
    if params.get("error_subcode").map(String::as_str) == Some("cancel") {
        return (problem(state, lang, StatusCode::OK, aadsts::cancelled(), None, None, retry_csrf), None);
    }
    let code = params.get("error_description").and_then(|d| aadsts::code_in(d));
    let shown = code
        .map(|c| format!("AADSTS{c}"))
        .or_else(|| params.get("error").filter(|e| e.len() <= 40 && e.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).cloned());
    (problem(state, lang, StatusCode::FORBIDDEN, aadsts::explain(code), shown, None, retry_csrf), code)
}

/// `GET /auth/callback`: the end of the sign-in. Verifies the ID token, then sends the admin to consent
/// for the tenant it proves.
async fn sign_in_callback(State(state): State<AppState>, session: Session, choice: LanguageChoice, RawQuery(query): RawQuery) -> Response {
    let Ok(params) = single_valued(query.as_deref()) else {
        return incomplete_answer(&state, &choice.messages(None));
    };
    // The same callback serves the staff sign-in: it goes there when this browser has a staff sign-in
    // pending and the answer carries its state (or no onboarding sign-in is pending).
    if let Some(staff_state_hash) = super::staff_auth::pending_state_hash(&session).await {
        let onboarding_pending = load_session(&session).await.and_then(|c| c.sign_in).is_some();
        let for_staff = params.get("state").is_some_and(|s| tokens_match(&hash_secret(s), &staff_state_hash));
        if for_staff || !onboarding_pending {
            return super::staff_auth::callback(&state, &session, &params).await;
        }
    }
    let Some(mut current) = load_session(&session).await else {
        return refused(&state, &choice.messages(None), StatusCode::FORBIDDEN, "refused-no-sign-in-title", "refused-no-sign-in");
    };
    let invite = match db::invites::find(&state.db, &current.invite_id).await {
        Ok(invite) => invite,
        Err(error) => return AppError::from(error).into_response(),
    };
    let lang = choice.messages(invite.as_ref().map(|i| i.invite.language));
    let Some(pending) = current.sign_in.clone() else {
        return refused(&state, &lang, StatusCode::FORBIDDEN, "refused-no-sign-in-title", "refused-sign-in-done");
    };
    if params.contains_key("error") {
        return microsoft_error(&state, &lang, &params, Some(current.csrf.clone())).0;
    }
    let state_ok = params.get("state").is_some_and(|s| tokens_match(&hash_secret(s), &pending.state_hash));
    if !state_ok {
        return refused(&state, &lang, StatusCode::FORBIDDEN, "refused-sign-in-state-title", "refused-sign-in-state");
    }
    if state.clock.now().unix_timestamp() - pending.started_at > STEP_LIFETIME.whole_seconds() {
        return refused(&state, &lang, StatusCode::FORBIDDEN, "refused-sign-in-slow-title", "refused-sign-in-slow");
    }
    let Some(code) = params.get("code") else {
        return incomplete_answer(&state, &lang);
    };
    // Single use: the pending sign-in goes, whatever happens next.
    current.sign_in = None;
    if let Err(error) = session.insert(SESSION_KEY, current.clone()).await {
        return AppError::Internal(anyhow::anyhow!("session: {error}")).into_response();
    }
    let tokens = match state.entra.redeem_sign_in_code(&pending.tenant_segment, code, &pending.pkce_verifier).await {
        Ok(tokens) => tokens,
        Err(error) => {
            tracing::warn!(%error, "sign-in code redemption refused");
            let shown = error.aadsts.map(|c| format!("AADSTS{c}"));
            return problem(
                &state,
                &lang,
                StatusCode::BAD_GATEWAY,
                aadsts::explain(error.aadsts),
                shown,
                error.trace_id,
                Some(current.csrf),
            );
        }
    };
    let Some(id_token) = tokens.id_token else {
        return problem(&state, &lang, StatusCode::BAD_GATEWAY, aadsts::explain(None), None, None, Some(current.csrf));
    };
    let claims = match state.entra.verify_id_token(&id_token, &pending.nonce_hash).await {
        Ok(claims) => claims,
        Err(error) => {
            tracing::warn!(%error, "an ID token did not verify");
            return refused(&state, &lang, StatusCode::FORBIDDEN, "refused-sign-in-title", "refused-sign-in");
        }
    };
    let invite = match invite {
        Some(invite) if invite.invite.link_works(clock::now(&*state.clock)) => invite,
        _ => return gone(&state, &lang),
    };
    let tenant = claims.tenant_id;
    let actor = claims.upn.clone().unwrap_or_else(|| claims.object_id.clone());
    if let Some(pinned) = invite.invite.pinned_tenant_id
        && pinned != tenant
    {
        audit(&state, AuditKind::InviteWrongTenant, Some(&actor), Some(&invite), Some(tenant), json!({ "expected": pinned.to_string() }))
            .await;
        let page = WrongTenantPage {
            lang,
            partner: &state.config.partner_name,
            signed_in_tenant: tenant.to_string(),
            signed_in_as: actor,
            expected: invite.invite.pinned().unwrap_or_default(),
            retry_csrf: &current.csrf,
        };
        return render(StatusCode::FORBIDDEN, &page);
    }
    if let Some(bound) = invite.invite.completed_tenant_id
        && bound != tenant
    {
        return already_used(&state, &lang, &invite, tenant, &actor, bound, Some(&current.csrf)).await;
    }
    if let Some(conflict) = onboarded_elsewhere(&state, &lang, &invite, tenant, &actor).await {
        return conflict;
    }
    audit(&state, AuditKind::InviteSignedIn, Some(&actor), Some(&invite), Some(tenant), json!({ "object_id": claims.object_id })).await;
    let state_value = match issue_consent_state(&state, &current.binding, &invite, Some(tenant), ConsentFlow::V2).await {
        Ok(value) => value,
        Err(error) => return AppError::from(error).into_response(),
    };
    current.admin = Some(SignedInAdmin { tenant_id: tenant.to_string(), upn: claims.upn, object_id: claims.object_id });
    if let Err(error) = session.insert(SESSION_KEY, current).await {
        return AppError::Internal(anyhow::anyhow!("session: {error}")).into_response();
    }
    Redirect::to(&state.entra.admin_consent_url(claims.tenant_id, &state_value)).into_response()
}

/// The 409 answer when the tenant is already onboarded for another customer (and its audit event).
async fn onboarded_elsewhere(
    state: &AppState,
    lang: &PageLanguage,
    invite: &InviteWithCustomer,
    tenant: TenantId,
    actor: &str,
) -> Option<Response> {
    let existing = match db::tenants::find(&state.db, tenant).await {
        Ok(existing) => existing,
        Err(error) => return Some(AppError::from(error).into_response()),
    };
    let other = existing.filter(|t| t.customer_id != invite.invite.customer_id)?;
    Some(conflict(state, lang, invite, tenant, actor, &other.customer_id).await)
}

/// A tenant already onboarded for another customer: an audit event for staff, and the 409 page.
/// Nothing of the other customer changes.
async fn conflict(
    state: &AppState,
    lang: &PageLanguage,
    invite: &InviteWithCustomer,
    tenant: TenantId,
    actor: &str,
    other_customer: &str,
) -> Response {
    audit(state, AuditKind::TenantConflict, Some(actor), Some(invite), Some(tenant), json!({ "onboarded_for_customer": other_customer }))
        .await;
    let explanation = ExplanationKeys::new("conflict-title", "conflict", "conflict-what-to-do");
    problem(state, lang, StatusCode::CONFLICT, explanation, None, None, None)
}

/// An invite that already onboarded another tenant: an audit event for staff, and the page that names
/// the tenant the link is bound to. Nothing is recorded.
async fn already_used(
    state: &AppState,
    lang: &PageLanguage,
    invite: &InviteWithCustomer,
    tenant: TenantId,
    actor: &str,
    bound: TenantId,
    retry_csrf: Option<&str>,
) -> Response {
    audit(state, AuditKind::InviteAlreadyUsed, Some(actor), Some(invite), Some(tenant), json!({ "bound_to": bound.to_string() })).await;
    let page = AlreadyUsedPage {
        lang: lang.clone(),
        partner: &state.config.partner_name,
        signed_in_tenant: tenant,
        signed_in_as: actor,
        bound,
        retry_csrf: retry_csrf.filter(|c| !c.is_empty()),
    };
    render(StatusCode::CONFLICT, &page)
}

/// `GET /consent/callback`: the end of the admin consent. Errors first; then the state; then the
/// tenant; then the consent is recorded (once) and the first check runs.
async fn consent_callback(State(state): State<AppState>, session: Session, choice: LanguageChoice, RawQuery(query): RawQuery) -> Response {
    let Ok(params) = single_valued(query.as_deref()) else {
        return incomplete_answer(&state, &choice.messages(None));
    };
    let current = load_session(&session).await;
    let issued = match params.get("state") {
        Some(value) => match db::consent_states::find(&state.db, &hash_secret(value)).await {
            Ok(found) => found,
            Err(error) => return AppError::from(error).into_response(),
        },
        None => None,
    };
    let bound = |issued: &db::consent_states::ConsentState| {
        current.as_ref().is_some_and(|c| tokens_match(&c.binding, &issued.session_binding) && c.invite_id == issued.invite_id)
    };
    // The invite of a state this browser was given: its language is the page's.
    let invite = match issued.as_ref().filter(|i| bound(i)) {
        Some(issued) => match db::invites::find(&state.db, &issued.invite_id).await {
            Ok(invite) => invite,
            Err(error) => return AppError::from(error).into_response(),
        },
        None => None,
    };
    let lang = choice.messages(invite.as_ref().map(|i| i.invite.language));
    // Error redirects are checked before anything else: admin_consent=True can come with an error.
    if params.contains_key("error") {
        let (response, code) = microsoft_error(&state, &lang, &params, current.as_ref().map(|c| c.csrf.clone()));
        if let (Some(issued), Some(invite)) = (issued.as_ref(), invite.as_ref()) {
            let cancelled = params.get("error_subcode").map(String::as_str) == Some("cancel");
            let kind = if cancelled { AuditKind::InviteCancelled } else { AuditKind::InviteFailed };
            audit(&state, kind, None, Some(invite), issued.tenant_id, json!({ "aadsts": code })).await;
        }
        return response;
    }
    let Some(issued) = issued else {
        return refused(&state, &lang, StatusCode::FORBIDDEN, "refused-approval-title", "refused-approval-unknown");
    };
    if !bound(&issued) {
        return refused(&state, &lang, StatusCode::FORBIDDEN, "refused-approval-title", "refused-approval-elsewhere");
    }
    if issued.used_at.is_some() {
        return match issued.result_tenant_id {
            Some(tenant) => result_page(&state, &lang, tenant).await,
            None => refused(&state, &lang, StatusCode::FORBIDDEN, "refused-used-title", "refused-used"),
        };
    }
    if issued.expires_at <= clock::now(&*state.clock) {
        return refused(&state, &lang, StatusCode::FORBIDDEN, "refused-slow-title", "refused-slow");
    }
    let invite = match invite {
        Some(invite) if invite.invite.link_works(clock::now(&*state.clock)) => invite,
        _ => return gone(&state, &lang),
    };
    let (tenant, upn, object_id) = if issued.flow == ConsentFlow::V1 {
        match prove_tenant_v1(&state, &lang, &params, &invite, current.as_ref()).await {
            Ok(proven) => proven,
            Err(response) => return response,
        }
    } else {
        let tenant = params.get("tenant").and_then(|t| TenantId::parse(t).ok());
        let (Some(tenant), Some("True")) = (tenant, params.get("admin_consent").map(String::as_str)) else {
            return incomplete_answer(&state, &lang);
        };
        let admin = current.as_ref().and_then(|c| c.admin.clone()).filter(|a| a.tenant_id == tenant.to_string());
        match (issued.tenant_id == Some(tenant), admin) {
            (true, Some(admin)) => (tenant, admin.upn, Some(admin.object_id)),
            _ => return refused(&state, &lang, StatusCode::FORBIDDEN, "refused-approval-title", "refused-approval-tenant"),
        }
    };
    let actor = upn.clone().or(object_id.clone()).unwrap_or_default();
    let recorded = record(&state, &issued.state_hash, &invite, tenant, upn.as_deref(), object_id.as_deref(), issued.flow).await;
    match recorded {
        Ok(Some(Recorded::OtherCustomer { customer_id })) => conflict(&state, &lang, &invite, tenant, &actor, &customer_id).await,
        Ok(Some(Recorded::InviteUsedByOtherTenant { tenant_id })) => {
            already_used(&state, &lang, &invite, tenant, &actor, tenant_id, current.as_ref().map(|c| c.csrf.as_str())).await
        }
        // Another copy of this callback recorded it first: answer the same page.
        Ok(None) => result_page(&state, &lang, tenant).await,
        Ok(Some(_)) => {
            let checked = state.sweeper.check_now(monitor::sweep::Target::new(tenant, Some(state.clock.now()))).await;
            match checked {
                Ok(outcome) => {
                    let kind = if outcome.status == TenantStatus::Verified { AuditKind::InviteVerified } else { AuditKind::InviteChecked };
                    audit(
                        &state,
                        kind,
                        Some("system"),
                        Some(&invite),
                        Some(tenant),
                        json!({ "status": outcome.status.as_str(), "missing": outcome.roles_missing }),
                    )
                    .await;
                }
                Err(error) => tracing::error!(%error, "cannot record the first check"),
            }
            result_page(&state, &lang, tenant).await
        }
        Err(error) => AppError::from(error).into_response(),
    }
}

/// v1: the code proves the tenant once redeemed, by the `tid` of the verified access token.
async fn prove_tenant_v1(
    state: &AppState,
    lang: &PageLanguage,
    params: &HashMap<String, String>,
    invite: &InviteWithCustomer,
    current: Option<&OnboardingSession>,
) -> Result<(TenantId, Option<String>, Option<String>), Response> {
    let Some(code) = params.get("code") else {
        return Err(incomplete_answer(state, lang));
    };
    let tokens = state.entra.redeem_v1_consent_code(code).await.map_err(|error| {
        let shown = error.aadsts.map(|c| format!("AADSTS{c}"));
        problem(state, lang, StatusCode::BAD_GATEWAY, aadsts::explain(error.aadsts), shown, error.trace_id, current.map(|c| c.csrf.clone()))
    })?;
    let token =
        tokens.access_token.ok_or_else(|| problem(state, lang, StatusCode::BAD_GATEWAY, aadsts::explain(None), None, None, None))?;
    let (tenant, claims) = state.entra.verify_access_token(&token, None).await.map_err(|error| {
        tracing::warn!(%error, "the v1 consent token did not verify");
        refused(state, lang, StatusCode::FORBIDDEN, "refused-unverified-title", "refused-unverified")
    })?;
    let text = |name: &str| claims.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let upn = text("upn").or_else(|| text("unique_name"));
    if let Some(pinned) = invite.invite.pinned_tenant_id
        && pinned != tenant
    {
        audit(state, AuditKind::InviteWrongTenant, upn.as_deref(), Some(invite), Some(tenant), json!({ "expected": pinned.to_string() }))
            .await;
        let page = WrongTenantPage {
            lang: lang.clone(),
            partner: &state.config.partner_name,
            signed_in_tenant: tenant.to_string(),
            signed_in_as: upn.clone().unwrap_or_default(),
            expected: invite.invite.pinned().unwrap_or_default(),
            retry_csrf: current.map_or("", |c| c.csrf.as_str()),
        };
        return Err(render(StatusCode::FORBIDDEN, &page));
    }
    Ok((tenant, upn, text("oid")))
}

/// Records the consent once: marks the state used, the tenant recorded and the invite completed for it
/// in one write transaction.
/// `None`: the state was used by a concurrent copy of this callback, nothing changed.
async fn record(
    state: &AppState,
    state_hash: &str,
    invite: &InviteWithCustomer,
    tenant: TenantId,
    upn: Option<&str>,
    object_id: Option<&str>,
    flow: ConsentFlow,
) -> Result<Option<Recorded>, sqlx::Error> {
    let requested = RoleList::from(state.config.required_roles.as_slice());
    let now = clock::now(&*state.clock);
    let mut tx = db::begin_write(&state.db).await?;
    if !db::consent_states::mark_used(&mut tx, state_hash, tenant, now).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    let consent = db::tenants::Consent {
        tenant_id: tenant,
        customer_id: &invite.invite.customer_id,
        invite_id: &invite.invite.id,
        upn,
        oid: object_id,
        flow,
        roles_requested: &requested,
    };
    let recorded = db::tenants::record_consent(&mut tx, consent, now).await?;
    if matches!(recorded, Recorded::OtherCustomer { .. } | Recorded::InviteUsedByOtherTenant { .. }) {
        tx.rollback().await?;
        return Ok(Some(recorded));
    }
    let kind = if recorded == Recorded::New { AuditKind::TenantConsented } else { AuditKind::TenantReconsented };
    let event = NewAuditEvent {
        customer_id: Some(&invite.invite.customer_id),
        invite_id: Some(&invite.invite.id),
        tenant_id: Some(tenant),
        detail: json!({ "flow": db::types::flow_text(flow), "roles_requested": requested }),
        ..NewAuditEvent::new(kind, upn.or(object_id))
    };
    db::audit::record(&mut *tx, event, now).await?;
    crate::email::notify_tenant_connected(&mut tx, &state.config.email.notify, tenant, &invite.customer_name, upn.or(object_id), kind, now)
        .await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(Some(recorded))
}

/// The result page of a recorded tenant, from what the database holds (so a replayed callback answers
/// the same page).
async fn result_page(state: &AppState, lang: &PageLanguage, tenant: TenantId) -> Response {
    let (row, check) = match (db::tenants::find(&state.db, tenant).await, db::checks::latest(&state.db, tenant).await) {
        (Ok(Some(row)), Ok(check)) => (row, check),
        (Ok(None), _) => return AppError::NotFound.into_response(),
        (Err(error), _) | (_, Err(error)) => return AppError::from(error).into_response(),
    };
    let status = row.status;
    let granted = check.as_ref().map(|c| c.roles_present.names()).unwrap_or_default();
    let still_to_appear = match check.as_ref() {
        Some(c) => c.roles_missing.names(),
        None => state.config.required_roles.iter().map(ToString::to_string).collect(),
    };
    let code = check.as_ref().and_then(|c| c.error_code).map(|c| format!("AADSTS{c}"));
    let token_failed = status.is_token_failure();
    let page = ResultPage {
        lang: lang.clone(),
        partner: &state.config.partner_name,
        customer: row.customer.clone(),
        tenant_id: row.tenant_id,
        consented_by: row.consented_by().unwrap_or_default().to_owned(),
        consented_at: lang.tr.date_time(row.consented_at.as_datetime()),
        client_id: state.entra.client_id(),
        requested: roles_in_plain_words(state, lang.tr),
        granted,
        still_to_appear,
        status_label: lang.tr.t(customer_status_key(status)),
        status_tone: status.tone(),
        verified: status == TenantStatus::Verified,
        propagating: status.awaits_roles(),
        problem: token_failed.then(|| aadsts::explain(check.as_ref().and_then(|c| c.aadsts())).words(lang.tr)),
        code,
    };
    render(StatusCode::OK, &page)
}

/// The catalogue key of a tenant's status in the customer's words: the staff labels say more than a
/// customer can act on.
fn customer_status_key(status: TenantStatus) -> &'static str {
    match status {
        TenantStatus::Verified => "status-verified",
        TenantStatus::Propagating => "status-propagating",
        TenantStatus::MissingRoles => "status-missing-roles",
        TenantStatus::NeverChecked => "status-never-checked",
        _ => "status-problem",
    }
}

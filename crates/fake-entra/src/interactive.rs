//! The pages a person sees: OpenID Connect authorize (v2), the seed document's v1 consent link, admin
//! consent (v2), and the older admin-consent endpoint of the client-credentials document
//! (`/{tenant}/adminconsent`). Each validates the request as Microsoft does — unknown client
//! (AADSTS700016), unregistered redirect URI (AADSTS50011, shown, never redirected), missing scope
//! (AADSTS900144) — then asks who signs in (a page listing the tenant's users, or the auto-mode user),
//! then, for consent, shows the permissions with Accept and Cancel and redirects (302, as Microsoft)
//! with Microsoft's success, cancel or declined shapes: the v2 endpoint's Cancel is `access_denied`
//! with AADSTS65004, `error_uri` and `admin_consent=True`; the older endpoint's is
//! `error=access_denied&error_subcode=cancel`.
//!
//! A non-admin on a consent page gets the AADSTS90093 page (v1 link: AADSTS90094), which offers "Back
//! to the application": it returns to the redirect URI with `error=access_denied` and the AADSTS code,
//! so the app can explain and offer a retry. A user of another tenant is sent back to the app with
//! AADSTS50020 from the admin-consent endpoints (as reported of Microsoft's), and shown the AADSTS50020
//! page, with the same way back, at sign-in.
//!
//! The pages speak the language the app asks for with `ui_locales` (OpenID Connect's parameter, which
//! Microsoft honours), remembered in a cookie for the pages that follow (admin consent carries no
//! `ui_locales`), else the browser's `Accept-Language`: English or Italian. AADSTS messages stay
//! English, as Microsoft's do, and so do the API's own permission descriptions.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use url::Url;

use super::directory::{AppRegistration, Directory, Tenant, User};
use super::errors::{AadError, error_page, error_page_in};
use super::{AutoConsent, FakeEntra, SharedFake, TenantSegment, random_token, resolve_tenant, unix_now, with_log_detail};
use crate::cookies;
use crate::i18n::{Language, Messages};

const SESSION_COOKIE: &str = "fake_estsauth";
const LANGUAGE_COOKIE: &str = "fake_ui_locale";
const INTERACTION_LIFETIME: Duration = Duration::from_secs(15 * 60);
const CODE_LIFETIME_S: i64 = 600;

/// An authorization code waiting to be redeemed.
#[derive(Debug, Clone)]
pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub code_challenge: Option<String>,
    pub flow: CodeFlow,
    /// The `sid` of the ID token: the fake's browser session the sign-in happened in.
    pub session_id: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub enum CodeFlow {
    /// v2 sign-in: the answer carries an ID token with this nonce.
    OpenIdConnect { nonce: Option<String>, scope: String },
    /// The v1 link: the answer carries an access token for the resource.
    V1 { resource: Option<String> },
}

/// A sign-in or consent in progress.
#[derive(Debug, Clone)]
pub struct Interaction {
    pub tenant: TenantSegment,
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub kind: InteractionKind,
    pub user_id: Option<String>,
    /// The browser session this interaction runs in, once someone signed in.
    pub session_id: Option<String>,
    pub created: Instant,
    /// The language of the pages of this interaction.
    pub language: Language,
}

/// A person signed in to the fake in one browser (its cookie names it).
#[derive(Debug, Clone)]
pub struct BrowserSession {
    pub user_id: String,
    /// A GUID, the ID token's `sid` and the redirect's `session_state` for sign-ins in this session.
    pub session_id: String,
}

#[derive(Debug, Clone)]
pub enum InteractionKind {
    SignIn {
        nonce: Option<String>,
        code_challenge: Option<String>,
        scope: String,
        login_hint: Option<String>,
    },
    AdminConsent {
        scope: String,
    },
    /// `/{tenant}/adminconsent`: every permission the app registration lists, no scope.
    LegacyAdminConsent,
    V1 {
        resource: Option<String>,
        consent: bool,
    },
}

type Params = HashMap<String, String>;

/// The language of the pages: `ui_locales` (its first tag we speak), then the cookie an earlier
/// `ui_locales` left, then `Accept-Language`, then English.
fn page_language(params: &Params, headers: &HeaderMap) -> Language {
    let asked = params.get("ui_locales").and_then(|tags| tags.split_whitespace().find_map(Language::parse));
    let remembered = || cookies::read(headers, LANGUAGE_COOKIE).and_then(|value| Language::parse(&value));
    let accepted = || headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Language::from_accept_language);
    asked.or_else(remembered).or_else(accepted).unwrap_or_default()
}

/// Remembers a `ui_locales` language for the pages that follow, as Microsoft's cookies do.
fn remember_language(mut response: Response, params: &Params, language: Language) -> Response {
    if params.contains_key("ui_locales") {
        cookies::set(&mut response, LANGUAGE_COOKIE, language.code());
    }
    response
}

fn page(error: AadError) -> Response {
    error_page(&error, None)
}

/// `client_id` and `redirect_uri` checked against the app registration. `default_redirect` lets the v1
/// link omit `redirect_uri` (it then lands on the app's first registered URI).
fn validate_client(
    directory: &Directory,
    params: &Params,
    tenant: &str,
    default_redirect: bool,
) -> Result<(AppRegistration, String), Response> {
    let Some(client_id) = params.get("client_id") else {
        return Err(page(AadError::missing_parameter("client_id")));
    };
    let Some(app) = directory.app(client_id) else {
        return Err(page(AadError::app_not_found(client_id, tenant)));
    };
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) => uri.clone(),
        None if default_redirect && !app.redirect_uris.is_empty() => app.redirect_uris[0].clone(),
        None => return Err(page(AadError::missing_parameter("redirect_uri"))),
    };
    if !app.redirect_uris.contains(&redirect_uri) {
        return Err(page(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50011,
            format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application \
                 '{}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate \
                 to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.",
                app.client_id
            ),
        )));
    }
    Ok((app.clone(), redirect_uri))
}

/// The checks every interactive endpoint starts with: the client and its redirect URI, then the tenant
/// of the path. Each failure is Microsoft's error page (never a redirect).
fn validate_request(
    directory: &Directory,
    params: &Params,
    tenant: &str,
    default_redirect: bool,
) -> Result<(AppRegistration, String, TenantSegment), Response> {
    let (app, redirect_uri) = validate_client(directory, params, tenant, default_redirect)?;
    let segment = resolve_tenant(directory, tenant).map_err(page)?;
    Ok((app, redirect_uri, segment))
}

/// `redirect_uri` with these query parameters added: a 302, as Microsoft's endpoints redirect.
fn redirect_to(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    match Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (name, value) in params {
                    query.append_pair(name, value);
                }
            }
            found(url.as_str())
        }
        Err(_) => (StatusCode::BAD_REQUEST, "invalid redirect_uri").into_response(),
    }
}

fn found(location: &str) -> Response {
    match header::HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "invalid redirect_uri").into_response(),
    }
}

/// The v2 admin-consent endpoint's error redirect, as reported of Microsoft's (MicrosoftDocs/azure-docs
/// issue 114009): `error`, `error_description` with Trace ID, Correlation ID and Timestamp,
/// `error_uri`, `admin_consent=True`, then `state`.
fn consent_error_redirect(fake: &FakeEntra, interaction: &Interaction, error: &AadError) -> Response {
    let description = error.redirect_description();
    let error_uri = error.error_uri(&fake.public_url);
    let params = vec![
        ("error", error.error),
        ("error_description", description.as_str()),
        ("error_uri", error_uri.as_str()),
        ("admin_consent", "True"),
    ];
    redirect_to(&interaction.redirect_uri, &with_state(params, &interaction.state))
}

fn with_state<'a>(mut params: Vec<(&'a str, &'a str)>, state: &'a Option<String>) -> Vec<(&'a str, &'a str)> {
    if let Some(state) = state {
        params.push(("state", state));
    }
    params
}

fn store_interaction(fake: &FakeEntra, interaction: Interaction) -> String {
    let id = random_token();
    let mut state = fake.state();
    state.interactions.retain(|_, i| i.created.elapsed() < INTERACTION_LIFETIME);
    state.interactions.insert(id.clone(), interaction);
    id
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: OpenID Connect sign-in with code, PKCE (S256), nonce, state.
pub async fn authorize_v2(
    State(fake): State<SharedFake>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    let directory = fake.directory();
    let (app, redirect_uri, segment) = match validate_request(&directory, &params, &tenant, false) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let state = params.get("state").cloned();
    if params.get("response_type").map(String::as_str) != Some("code") {
        let description = "AADSTS700054: response_type 'id_token' is not enabled for the application. Use response_type=code.";
        return redirect_to(
            &redirect_uri,
            &with_state(vec![("error", "unsupported_response_type"), ("error_description", description)], &state),
        );
    }
    let code_challenge = params.get("code_challenge").cloned();
    if code_challenge.is_some() && params.get("code_challenge_method").map(String::as_str) != Some("S256") {
        let description = "AADSTS501491: Invalid code_challenge_method: use S256.";
        return redirect_to(&redirect_uri, &with_state(vec![("error", "invalid_request"), ("error_description", description)], &state));
    }
    let interaction = Interaction {
        tenant: segment,
        client_id: app.client_id.clone(),
        redirect_uri,
        state,
        kind: InteractionKind::SignIn {
            nonce: params.get("nonce").cloned(),
            code_challenge,
            scope: params.get("scope").cloned().unwrap_or_else(|| "openid".into()),
            login_hint: params.get("login_hint").cloned(),
        },
        user_id: None,
        session_id: None,
        created: Instant::now(),
        language: page_language(&params, &headers),
    };
    start(&fake, interaction, &params, false)
}

/// `GET /{tenant}/oauth2/authorize`: the v1 link of Microsoft's partner page
/// (`prompt=consent|admin_consent&response_type=code&client_id[&redirect_uri][&state][&resource]`).
pub async fn authorize_v1(
    State(fake): State<SharedFake>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    let directory = fake.directory();
    let (app, redirect_uri, segment) = match validate_request(&directory, &params, &tenant, true) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let state = params.get("state").cloned();
    if params.get("response_type").map(String::as_str) != Some("code") {
        return redirect_to(&redirect_uri, &with_state(vec![("error", "unsupported_response_type")], &state));
    }
    let consent = matches!(params.get("prompt").map(String::as_str), Some("consent" | "admin_consent"));
    let interaction = Interaction {
        tenant: segment,
        client_id: app.client_id.clone(),
        redirect_uri,
        state,
        kind: InteractionKind::V1 { resource: params.get("resource").cloned(), consent },
        user_id: None,
        session_id: None,
        created: Instant::now(),
        language: page_language(&params, &headers),
    };
    start(&fake, interaction, &params, consent)
}

/// `GET /{tenant}/v2.0/adminconsent?client_id&redirect_uri&scope&state`.
pub async fn admin_consent(
    State(fake): State<SharedFake>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    let directory = fake.directory();
    let (app, redirect_uri, segment) = match validate_request(&directory, &params, &tenant, false) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let state = params.get("state").cloned();
    if matches!(segment, TenantSegment::Common | TenantSegment::Consumers) {
        // What Microsoft answered on /common, as reported in MicrosoftDocs/azure-docs issue 45151: no
        // AADSTS code, a description about a parameter this endpoint does not take.
        let description = "The provided request must include a 'response_type' input parameter.";
        return redirect_to(&redirect_uri, &with_state(vec![("error", "invalid_request"), ("error_description", description)], &state));
    }
    let Some(scope) = params.get("scope").cloned() else {
        return page(AadError::missing_parameter("scope"));
    };
    // `/.default` of any API the fake knows: Microsoft then consents to every permission configured on
    // the app registration, across APIs, whichever API the scope names.
    let names_known_apis =
        scope.split_whitespace().all(|one| one.strip_suffix("/.default").is_some_and(|resource| directory.api_named(resource).is_some()));
    if scope.trim().is_empty() || !names_known_apis {
        let error = AadError::invalid_scope(&scope);
        let description = format!("AADSTS{}: {}", error.code, error.message);
        return redirect_to(&redirect_uri, &with_state(vec![("error", "invalid_scope"), ("error_description", &description)], &state));
    }
    let interaction = Interaction {
        tenant: segment,
        client_id: app.client_id.clone(),
        redirect_uri,
        state,
        kind: InteractionKind::AdminConsent { scope },
        user_id: None,
        session_id: None,
        created: Instant::now(),
        language: page_language(&params, &headers),
    };
    with_log_detail(start_consent(&fake, &headers, &params, interaction), Some(tenant), None)
}

/// `GET /{tenant}/adminconsent?client_id&redirect_uri&state`: the older admin-consent endpoint of
/// Microsoft's client-credentials document. It takes no scope (the admin approves every permission the
/// app registration lists) and accepts `common`, where the consent lands in the admin's own tenant.
pub async fn legacy_admin_consent(
    State(fake): State<SharedFake>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    let directory = fake.directory();
    let (app, redirect_uri, segment) = match validate_request(&directory, &params, &tenant, false) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let interaction = Interaction {
        tenant: segment,
        client_id: app.client_id.clone(),
        redirect_uri,
        state: params.get("state").cloned(),
        kind: InteractionKind::LegacyAdminConsent,
        user_id: None,
        session_id: None,
        created: Instant::now(),
        language: page_language(&params, &headers),
    };
    with_log_detail(start_consent(&fake, &headers, &params, interaction), Some(tenant), None)
}

/// A consent goes to the account picker (or the auto-mode user), or, for a person already signed in to
/// the fake in this browser, straight to the consent page.
fn start_consent(fake: &FakeEntra, headers: &HeaderMap, params: &Params, interaction: Interaction) -> Response {
    let reuse_session = !matches!(params.get("prompt").map(String::as_str), Some("login" | "select_account"));
    let session_user = reuse_session.then(|| session_user(fake, headers)).flatten();
    // Bound first: a lock guard in the match scrutinee would live through the arms, which lock again.
    let auto_upn = fake.state().auto.upn.clone();
    match (auto_upn, session_user) {
        (None, Some(session)) => {
            let id = store_interaction(fake, Interaction { session_id: Some(session.session_id), ..interaction });
            continue_as(fake, &id, &session.user_id)
        }
        _ => start(fake, interaction, params, true),
    }
}

/// Signs the auto-mode user in, or shows the account picker.
fn start(fake: &FakeEntra, interaction: Interaction, params: &Params, consent: bool) -> Response {
    let auto_upn = fake.state().auto.upn.clone();
    let directory = fake.directory();
    let (tenant, language) = (interaction.tenant, interaction.language);
    let id = store_interaction(fake, interaction);
    if let Some(upn) = auto_upn {
        return match directory.user_by_upn(&upn) {
            Some((_, user)) => continue_as(fake, &id, &user.id),
            None => page(AadError::new(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                50034,
                format!(
                    "The user account {upn} does not exist in the directory. To sign into this application, the account must be added to the directory."
                ),
            )),
        };
    }
    let login_hint = params.get("login_hint").map(String::as_str);
    remember_language(render_picker(fake, &directory, &id, tenant, login_hint, consent, language), params, language)
}

#[derive(Template)]
#[template(path = "signin.html")]
struct PickerTemplate<'a> {
    tr: Messages,
    interaction: &'a str,
    app_name: &'a str,
    groups: Vec<(&'a Tenant, Vec<&'a User>)>,
    consent: bool,
}

fn render_picker(
    fake: &FakeEntra,
    directory: &Directory,
    interaction: &str,
    tenant: TenantSegment,
    login_hint: Option<&str>,
    consent: bool,
    language: Language,
) -> Response {
    let app_name = fake
        .state()
        .interactions
        .get(interaction)
        .and_then(|i| directory.app(&i.client_id).map(|a| a.display_name.clone()))
        .unwrap_or_default();
    let groups: Vec<(&Tenant, Vec<&User>)> = directory
        .tenants
        .iter()
        .filter(|t| match tenant {
            TenantSegment::Tenant(id) => t.id == id,
            _ => true,
        })
        .map(|t| {
            let mut users: Vec<&User> = t.users.iter().collect();
            // The hinted account first.
            users.sort_by_key(|u| login_hint.is_none_or(|hint| !u.upn.eq_ignore_ascii_case(hint)));
            (t, users)
        })
        .filter(|(_, users)| !users.is_empty())
        .collect();
    let template = PickerTemplate { tr: Messages::new(language), interaction, app_name: &app_name, groups, consent };
    render(template.render())
}

fn render(rendered: askama::Result<String>) -> Response {
    match rendered {
        Ok(html) => Html(html).into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

#[derive(Deserialize)]
pub struct PickForm {
    interaction: String,
    user_id: String,
}

/// `POST /_fake/ui/login`: the person picked an account.
pub async fn pick_user(State(fake): State<SharedFake>, Form(form): Form<PickForm>) -> Response {
    // Signed in to the fake in this browser from now on (an SSO cookie, as Microsoft's): a new session.
    let cookie = random_token();
    let session = BrowserSession { user_id: form.user_id.clone(), session_id: uuid::Uuid::new_v4().to_string() };
    {
        let mut state = fake.state();
        if let Some(interaction) = state.interactions.get_mut(&form.interaction) {
            interaction.session_id = Some(session.session_id.clone());
        }
        state.sessions.insert(cookie.clone(), session);
    }
    let mut response = continue_as(&fake, &form.interaction, &form.user_id);
    cookies::set(&mut response, SESSION_COOKIE, &cookie);
    response
}

fn session_user(fake: &FakeEntra, headers: &HeaderMap) -> Option<BrowserSession> {
    let cookie = cookies::read(headers, SESSION_COOKIE)?;
    let state = fake.state();
    let session = state.sessions.get(&cookie)?.clone();
    state.directory.user(&session.user_id).map(|_| session)
}

/// Goes on with an interaction as this user: a code for a sign-in, the consent page (or the auto-mode
/// decision) for a consent.
fn continue_as(fake: &FakeEntra, interaction_id: &str, user_id: &str) -> Response {
    let directory = fake.directory();
    let Some(interaction) = fake.state().interactions.get(interaction_id).cloned() else {
        return page(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90015,
            "The sign-in session has expired. Go back to the application and start again.",
        ));
    };
    let Some((tenant, user)) = directory.user(user_id) else {
        return page(AadError::new(StatusCode::BAD_REQUEST, "invalid_grant", 50034, "The user account does not exist in the directory."));
    };
    let back = |code: u32, message: &str| {
        let description = format!("AADSTS{code}: {message}");
        let mut url = Url::parse(&interaction.redirect_uri).ok()?;
        url.query_pairs_mut().append_pair("error", "access_denied").append_pair("error_description", &description);
        if let Some(state) = &interaction.state {
            url.query_pairs_mut().append_pair("state", state);
        }
        Some(url.to_string())
    };
    if let TenantSegment::Tenant(expected) = interaction.tenant
        && expected != tenant.id
    {
        let message = format!(
            "User account '{}' from identity provider 'https://sts.windows.net/{}/' does not exist in tenant '{}' and cannot access the application \
             '{}' in that tenant. The account needs to be added as an external user in the tenant first.",
            user.upn,
            tenant.id,
            directory.tenant(expected).map_or("", |t| t.display_name.as_str()),
            interaction.client_id
        );
        let error = AadError::new(StatusCode::BAD_REQUEST, "invalid_request", 50020, message.clone());
        if matches!(interaction.kind, InteractionKind::AdminConsent { .. } | InteractionKind::LegacyAdminConsent) {
            fake.state().interactions.remove(interaction_id);
            return consent_error_redirect(fake, &interaction, &AadError { error: "access_denied", ..error });
        }
        return error_page_in(&error, back(50020, &message).as_deref(), interaction.language);
    }
    match &interaction.kind {
        InteractionKind::SignIn { nonce, code_challenge, scope, .. } => {
            let flow = CodeFlow::OpenIdConnect { nonce: nonce.clone(), scope: scope.clone() };
            finish_with_code(fake, interaction_id, &interaction, user, code_challenge.clone(), flow)
        }
        InteractionKind::V1 { resource, consent: false } => {
            finish_with_code(fake, interaction_id, &interaction, user, None, CodeFlow::V1 { resource: resource.clone() })
        }
        InteractionKind::AdminConsent { .. } | InteractionKind::LegacyAdminConsent | InteractionKind::V1 { consent: true, .. } => {
            if !user.admin {
                let (code, message) = match interaction.kind {
                    InteractionKind::V1 { .. } => (90094, "The grant requires admin permission."),
                    _ => (
                        90093,
                        "This operation can only be performed by an administrator. Sign out and sign in as an administrator or contact one of your organization's administrators.",
                    ),
                };
                let error = AadError::new(StatusCode::FORBIDDEN, "access_denied", code, message);
                return error_page_in(&error, back(code, message).as_deref(), interaction.language);
            }
            if let Some(found) = fake.state().interactions.get_mut(interaction_id) {
                found.user_id = Some(user.id.clone());
            }
            let auto = fake.state().auto.consent;
            match auto {
                Some(decision) => decide(fake, interaction_id, decision),
                None => render_consent(fake, &directory, interaction_id, &interaction, tenant, user),
            }
        }
    }
}

fn finish_with_code(
    fake: &FakeEntra,
    interaction_id: &str,
    interaction: &Interaction,
    user: &User,
    code_challenge: Option<String>,
    flow: CodeFlow,
) -> Response {
    let code = format!("1.{}", random_token());
    // Auto mode signs in without a browser session: each of its sign-ins is a session of its own.
    let session_id = interaction.session_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let pending = AuthCode {
        client_id: interaction.client_id.clone(),
        redirect_uri: interaction.redirect_uri.clone(),
        user_id: user.id.clone(),
        code_challenge,
        flow,
        session_id: session_id.clone(),
        expires_at: unix_now() + CODE_LIFETIME_S,
    };
    {
        let mut state = fake.state();
        state.interactions.remove(interaction_id);
        state.codes.retain(|_, c| c.expires_at > unix_now());
        state.codes.insert(code.clone(), pending);
    }
    redirect_to(&interaction.redirect_uri, &with_state(vec![("code", &code), ("session_state", &session_id)], &interaction.state))
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentTemplate<'a> {
    tr: Messages,
    interaction: &'a str,
    app_name: &'a str,
    client_id: &'a str,
    user: &'a User,
    tenant: &'a Tenant,
    /// Per API: its display name, then each permission's value and description.
    permissions: Vec<(String, Vec<(String, String)>)>,
}

fn render_consent(
    fake: &FakeEntra,
    directory: &Directory,
    interaction_id: &str,
    interaction: &Interaction,
    tenant: &Tenant,
    user: &User,
) -> Response {
    let Some(app) = directory.app(&interaction.client_id) else {
        return page(AadError::app_not_found(&interaction.client_id, &tenant.display_name));
    };
    // In the order of the API table, as Microsoft's page groups permissions by API.
    let permissions = directory
        .apis
        .iter()
        .filter(|api| !app.permissions.roles(&api.name).is_empty())
        .map(|api| {
            let roles = app.permissions.roles(&api.name).iter().map(|role| (role.clone(), api.describe(role))).collect();
            (api.display_name.clone(), roles)
        })
        .collect();
    let _ = fake;
    let template = ConsentTemplate {
        tr: Messages::new(interaction.language),
        interaction: interaction_id,
        app_name: &app.display_name,
        client_id: &app.client_id,
        user,
        tenant,
        permissions,
    };
    render(template.render())
}

#[derive(Deserialize)]
pub struct ConsentForm {
    interaction: String,
    decision: String,
}

/// `POST /_fake/ui/consent`: Accept, Cancel, or "use another account".
pub async fn consent_decision(State(fake): State<SharedFake>, Form(form): Form<ConsentForm>) -> Response {
    match form.decision.as_str() {
        "accept" => decide(&fake, &form.interaction, AutoConsent::Accept),
        "cancel" => decide(&fake, &form.interaction, AutoConsent::Cancel),
        "switch" => {
            let directory = fake.directory();
            let Some(interaction) = fake.state().interactions.get(&form.interaction).cloned() else {
                return page(AadError::new(StatusCode::BAD_REQUEST, "invalid_request", 90015, "The sign-in session has expired."));
            };
            render_picker(&fake, &directory, &form.interaction, interaction.tenant, None, true, interaction.language)
        }
        _ => (StatusCode::BAD_REQUEST, "unknown decision").into_response(),
    }
}

/// Applies a consent decision and redirects with Microsoft's shape for it.
fn decide(fake: &FakeEntra, interaction_id: &str, decision: AutoConsent) -> Response {
    let Some(interaction) = fake.state().interactions.get(interaction_id).cloned() else {
        return page(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90015,
            "The sign-in session has expired. Go back to the application and start again.",
        ));
    };
    let directory = fake.directory();
    let Some((tenant, user)) = interaction.user_id.as_deref().and_then(|id| directory.user(id)) else {
        return page(AadError::new(StatusCode::BAD_REQUEST, "invalid_request", 90015, "Nobody is signed in for this consent."));
    };
    let (tenant_id, user) = (tenant.id, user.clone());
    if decision != AutoConsent::Accept {
        fake.state().interactions.remove(interaction_id);
    }
    match (decision, &interaction.kind) {
        (AutoConsent::Accept, kind) => {
            let Some(app) = directory.app(&interaction.client_id) else {
                return page(AadError::app_not_found(&interaction.client_id, &tenant.display_name));
            };
            let granted = app.permissions.allowed_by(&tenant.grantable_permissions);
            let client_id = app.client_id.clone();
            fake.update_directory(|directory| {
                if let Some(tenant) = directory.tenant_mut(tenant_id) {
                    let enabled = tenant.grant(&client_id).is_none_or(|g| g.enabled || g.deleted);
                    tenant.set_grant(&client_id, granted, enabled, OffsetDateTime::now_utc());
                }
            });
            let tenant = tenant_id.to_string();
            match kind {
                InteractionKind::V1 { resource, .. } => {
                    finish_with_code(fake, interaction_id, &interaction, &user, None, CodeFlow::V1 { resource: resource.clone() })
                }
                InteractionKind::AdminConsent { scope } => {
                    fake.state().interactions.remove(interaction_id);
                    redirect_to(
                        &interaction.redirect_uri,
                        &with_state(vec![("admin_consent", "True"), ("tenant", &tenant), ("scope", scope)], &interaction.state),
                    )
                }
                InteractionKind::LegacyAdminConsent => {
                    fake.state().interactions.remove(interaction_id);
                    // The client-credentials document's order: tenant, state, admin_consent.
                    let mut params = vec![("tenant", tenant.as_str())];
                    if let Some(state) = &interaction.state {
                        params.push(("state", state));
                    }
                    params.push(("admin_consent", "True"));
                    redirect_to(&interaction.redirect_uri, &params)
                }
                InteractionKind::SignIn { .. } => (StatusCode::BAD_REQUEST, "not a consent").into_response(),
            }
        }
        (AutoConsent::Cancel, InteractionKind::AdminConsent { .. }) => {
            let error = AadError::new(StatusCode::FOUND, "access_denied", 65004, "User declined to consent to access the app.");
            consent_error_redirect(fake, &interaction, &error)
        }
        (AutoConsent::Decline, InteractionKind::AdminConsent { .. }) => {
            // The error example of Microsoft's admin-consent document, admin_consent=True first.
            let error = AadError::new(
                StatusCode::FOUND,
                "consent_required",
                65004,
                "The resource owner or authorization server denied the request.",
            );
            let description = error.redirect_description();
            redirect_to(
                &interaction.redirect_uri,
                &with_state(
                    vec![("admin_consent", "True"), ("error", "consent_required"), ("error_description", &description)],
                    &interaction.state,
                ),
            )
        }
        (AutoConsent::Cancel, InteractionKind::LegacyAdminConsent) => {
            // As reported of the older endpoint (MicrosoftDocs/azure-docs issue 41053).
            redirect_to(
                &interaction.redirect_uri,
                &with_state(vec![("error", "access_denied"), ("error_subcode", "cancel")], &interaction.state),
            )
        }
        (AutoConsent::Decline, InteractionKind::LegacyAdminConsent) => {
            // The error example of the client-credentials document.
            let params = vec![("error", "permission_denied"), ("error_description", "The admin canceled the request")];
            redirect_to(&interaction.redirect_uri, &with_state(params, &interaction.state))
        }
        (AutoConsent::Cancel | AutoConsent::Decline, _) => {
            let error = AadError::new(StatusCode::FOUND, "access_denied", 65004, "User declined to consent to access the app.");
            let description = error.redirect_description();
            let error_uri = error.error_uri(&fake.public_url);
            let params = vec![("error", "access_denied"), ("error_description", description.as_str()), ("error_uri", error_uri.as_str())];
            redirect_to(&interaction.redirect_uri, &with_state(params, &interaction.state))
        }
    }
}

//! The control API under `/_fake/`, JSON in and out — exact, because tests and tools drive it:
//!
//! | request | effect |
//! |---|---|
//! | `GET /_fake/directory` | everything, as JSON (the shape `--directory FILE` loads) |
//! | `POST /_fake/apps` `{"client_id","secret"?,"secret_expires_at"?,"certificate_pem"?,"redirect_uris":[],"permissions"?:{"graph":[],"defender":[],"mde":[]},"roles"?:[]}` | 201, the app |
//! | `POST /_fake/tenants` `{"id"?,"display_name","domains":[]}` | 201, the tenant (id generated if absent) |
//! | `POST /_fake/tenants/{tid}/users` `{"upn","display_name","admin":bool}` | 201, the user |
//! | `PUT /_fake/tenants/{tid}/grants/{client_id}` `{"permissions":{…}}` or `{"roles":[]}` | 204, as if an admin consented |
//! | `DELETE /_fake/tenants/{tid}/grants/{client_id}` | 204, the service principal deleted |
//! | `PUT /_fake/tenants/{tid}/faults` `{"token_latency_ms"?,"token_status"?,"retry_after_s"?,"garbage"?,"api_status"?,"roles_delay_s"?}` | 204 |
//! | `DELETE /_fake/tenants/{tid}/faults` | 204 |
//! | `PUT /_fake/auto` `{"upn":string\|null,"consent":"accept"\|"cancel"\|null}` | 204 |
//! | `GET /_fake/log`, `DELETE /_fake/log` | the requests received; clear it |
//! | `POST /_fake/keys/rotate` | 204, a new signing key |
//!
//! `permissions` is per API (`graph`, `defender`, `mde`); `roles` is the older form, the Defender XDR
//! API's roles. One of them, never both; an API the fake does not know, or a role that API does not
//! define, is a 400 naming it.
//!
//! Beyond that contract, optional fields: an app's `display_name`; a tenant's
//! `grantable_permissions` (per API: its consent grants only these; `grantable_roles` is the Defender
//! form), `unprovisioned_apis` (their tokens are AADSTS500011; `"defender_provisioned": false` is the
//! Defender form); a user's `app_roles`; a grant's `enabled` (false: the service principal is
//! disabled); faults `api_latency_ms` and `drop_connection`; auto `consent` also takes `decline`.

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::directory::{AppRegistration, AppSecret, Faults, Permissions, Tenant, User, one_form};
use super::{AutoMode, SharedFake};
use crate::TenantId;

pub fn routes() -> Router<SharedFake> {
    Router::new()
        .route("/_fake/directory", get(directory))
        .route("/_fake/apps", post(create_app))
        .route("/_fake/tenants", post(create_tenant))
        .route("/_fake/tenants/{tid}/users", post(create_user))
        .route("/_fake/tenants/{tid}/grants/{client_id}", put(put_grant).delete(delete_grant))
        .route("/_fake/tenants/{tid}/faults", put(put_faults).delete(delete_faults))
        .route("/_fake/auto", put(put_auto).get(get_auto))
        .route("/_fake/log", get(get_log).delete(clear_log))
        .route("/_fake/keys/rotate", post(rotate_keys))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// The JSON body, or a 400 that says what is wrong with it. Only a JSON object is accepted (serde
/// would otherwise read an array as a struct's fields in order).
fn body<T: serde::de::DeserializeOwned>(payload: Result<Json<serde_json::Value>, JsonRejection>) -> Result<T, Response> {
    let Json(value) = payload.map_err(|rejection| error(StatusCode::BAD_REQUEST, rejection.body_text()))?;
    if !value.is_object() {
        return Err(error(StatusCode::BAD_REQUEST, "the body must be a JSON object"));
    }
    serde_json::from_value(value).map_err(|e| error(StatusCode::BAD_REQUEST, e.to_string()))
}

/// The tenant of the path and the JSON body, or the 404/400 answer.
fn tenant_and_body<T: serde::de::DeserializeOwned>(
    tid: &str,
    payload: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<(TenantId, T), Response> {
    Ok((tenant_id(tid)?, body(payload)?))
}

fn tenant_id(value: &str) -> Result<TenantId, Response> {
    TenantId::parse(value).map_err(|_| error(StatusCode::NOT_FOUND, format!("no tenant {value}")))
}

async fn directory(State(fake): State<SharedFake>) -> Response {
    Json(fake.directory()).into_response()
}

#[derive(Deserialize)]
struct NewApp {
    client_id: String,
    display_name: Option<String>,
    secret: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    secret_expires_at: Option<OffsetDateTime>,
    certificate_pem: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    roles: Option<Vec<String>>,
    permissions: Option<Permissions>,
}

async fn create_app(State(fake): State<SharedFake>, payload: Result<Json<serde_json::Value>, JsonRejection>) -> Response {
    let new: NewApp = match body(payload) {
        Ok(new) => new,
        Err(response) => return response,
    };
    if TenantId::parse(&new.client_id).is_err() {
        return error(StatusCode::BAD_REQUEST, "client_id must be a GUID");
    }
    if let Some(pem) = &new.certificate_pem
        && x509_parser::pem::parse_x509_pem(pem.as_bytes()).is_err()
    {
        return error(StatusCode::BAD_REQUEST, "certificate_pem is not a PEM certificate");
    }
    let permissions = match one_form(new.roles, new.permissions) {
        Ok(permissions) => permissions,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let app = AppRegistration {
        client_id: new.client_id.to_ascii_lowercase(),
        display_name: new.display_name.unwrap_or_else(|| "Partner app".into()),
        secrets: new.secret.map(|value| AppSecret { value, expires_at: new.secret_expires_at }).into_iter().collect(),
        certificates: new.certificate_pem.into_iter().collect(),
        redirect_uris: new.redirect_uris,
        permissions,
    };
    let created = fake.update_directory(|directory| {
        directory.check_permissions(&app.permissions).map_err(|message| error(StatusCode::BAD_REQUEST, message))?;
        if directory.app(&app.client_id).is_some() {
            return Err(error(StatusCode::CONFLICT, format!("an app {} exists already", app.client_id)));
        }
        directory.apps.push(app.clone());
        Ok(())
    });
    match created {
        Ok(()) => (StatusCode::CREATED, Json(app)).into_response(),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct NewTenant {
    id: Option<TenantId>,
    display_name: String,
    #[serde(default)]
    domains: Vec<String>,
    grantable_roles: Option<Vec<String>>,
    grantable_permissions: Option<Permissions>,
    #[serde(default)]
    unprovisioned_apis: Vec<String>,
    defender_provisioned: Option<bool>,
}

async fn create_tenant(State(fake): State<SharedFake>, payload: Result<Json<serde_json::Value>, JsonRejection>) -> Response {
    let new: NewTenant = match body(payload) {
        Ok(new) => new,
        Err(response) => return response,
    };
    let mut tenant = Tenant::new(new.id.unwrap_or_else(TenantId::new_random), &new.display_name, new.domains);
    if tenant.domains.is_empty() {
        let slug: String = new.display_name.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
        tenant.domains.push(format!("{}.onmicrosoft.com", if slug.is_empty() { "tenant".into() } else { slug }));
    }
    tenant.grantable_permissions = match one_form(new.grantable_roles, new.grantable_permissions) {
        Ok(grantable) => grantable,
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "give either grantable_roles (the Defender XDR API's) or grantable_permissions, not both",
            );
        }
    };
    for api in new.unprovisioned_apis {
        tenant.set_provisioned(&api, false);
    }
    if let Some(provisioned) = new.defender_provisioned {
        tenant.set_provisioned(crate::apis::DEFENDER_API, provisioned);
    }
    let created = fake.update_directory(|directory| {
        let invalid = |message: String| (StatusCode::BAD_REQUEST, message);
        directory.check_permissions(&tenant.grantable_permissions).map_err(invalid)?;
        if let Some(unknown) = tenant.unprovisioned_apis.iter().find(|name| directory.api(name).is_none()) {
            return Err(invalid(format!("unprovisioned_apis: no API named {unknown:?}")));
        }
        if directory.tenant(tenant.id).is_some() {
            return Err((StatusCode::CONFLICT, format!("a tenant {} exists already", tenant.id)));
        }
        if let Some(taken) = tenant.domains.iter().find(|d| directory.tenant_by_domain(d).is_some()) {
            return Err((StatusCode::CONFLICT, format!("the domain {taken} belongs to another tenant")));
        }
        directory.tenants.push(tenant.clone());
        Ok(())
    });
    match created {
        Ok(()) => (StatusCode::CREATED, Json(tenant)).into_response(),
        Err((status, message)) => error(status, message),
    }
}

#[derive(Deserialize)]
struct NewUser {
    upn: String,
    display_name: String,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    app_roles: Vec<String>,
}

async fn create_user(
    State(fake): State<SharedFake>,
    Path(tid): Path<String>,
    payload: Result<Json<serde_json::Value>, JsonRejection>,
) -> Response {
    let (tid, new): (TenantId, NewUser) = match tenant_and_body(&tid, payload) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let user = User {
        id: uuid::Uuid::new_v4().to_string(),
        upn: new.upn,
        display_name: new.display_name,
        admin: new.admin,
        app_roles: new.app_roles,
    };
    let created = fake.update_directory(|directory| {
        if directory.user_by_upn(&user.upn).is_some() {
            return Err(StatusCode::CONFLICT);
        }
        let tenant = directory.tenant_mut(tid).ok_or(StatusCode::NOT_FOUND)?;
        tenant.users.push(user.clone());
        Ok(())
    });
    match created {
        Ok(()) => (StatusCode::CREATED, Json(user)).into_response(),
        Err(StatusCode::CONFLICT) => error(StatusCode::CONFLICT, format!("a user {} exists already", user.upn)),
        Err(status) => error(status, format!("no tenant {tid}")),
    }
}

#[derive(Deserialize)]
struct GrantBody {
    roles: Option<Vec<String>>,
    permissions: Option<Permissions>,
    #[serde(default = "enabled")]
    enabled: bool,
}

fn enabled() -> bool {
    true
}

async fn put_grant(
    State(fake): State<SharedFake>,
    Path((tid, client_id)): Path<(String, String)>,
    payload: Result<Json<serde_json::Value>, JsonRejection>,
) -> Response {
    let (tid, grant): (TenantId, GrantBody) = match tenant_and_body(&tid, payload) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let permissions = match (&grant.roles, &grant.permissions) {
        (None, None) => return error(StatusCode::BAD_REQUEST, "the grant needs permissions (per API) or roles (the Defender XDR API's)"),
        _ => match one_form(grant.roles, grant.permissions) {
            Ok(permissions) => permissions,
            Err(message) => return error(StatusCode::BAD_REQUEST, message),
        },
    };
    let done = fake.update_directory(|directory| {
        directory.check_permissions(&permissions).map_err(|message| error(StatusCode::BAD_REQUEST, message))?;
        let tenant = directory.tenant_mut(tid).ok_or_else(|| error(StatusCode::NOT_FOUND, format!("no tenant {tid}")))?;
        tenant.set_grant(&client_id.to_ascii_lowercase(), permissions, grant.enabled, OffsetDateTime::now_utc());
        Ok(())
    });
    match done {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(response) => response,
    }
}

async fn delete_grant(State(fake): State<SharedFake>, Path((tid, client_id)): Path<(String, String)>) -> Response {
    let tid = match tenant_id(&tid) {
        Ok(tid) => tid,
        Err(response) => return response,
    };
    let done = fake.update_directory(|directory| {
        let tenant = directory.tenant_mut(tid).ok_or_else(|| format!("no tenant {tid}"))?;
        let grant = tenant
            .grants
            .iter_mut()
            .find(|g| g.client_id.eq_ignore_ascii_case(&client_id))
            .ok_or_else(|| format!("no grant of {client_id} in {tid}"))?;
        grant.deleted = true;
        grant.permissions = Permissions::new();
        Ok::<(), String>(())
    });
    match done {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(message) => error(StatusCode::NOT_FOUND, message),
    }
}

async fn put_faults(
    State(fake): State<SharedFake>,
    Path(tid): Path<String>,
    payload: Result<Json<serde_json::Value>, JsonRejection>,
) -> Response {
    let (tid, faults): (TenantId, Faults) = match tenant_and_body(&tid, payload) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let forced = [faults.token_status, faults.api_status];
    if forced.iter().flatten().any(|status| !(400..=599).contains(status)) {
        return error(StatusCode::BAD_REQUEST, "token_status and api_status must be HTTP error statuses (400 to 599)");
    }
    set_faults(&fake, tid, faults)
}

async fn delete_faults(State(fake): State<SharedFake>, Path(tid): Path<String>) -> Response {
    match tenant_id(&tid) {
        Ok(tid) => set_faults(&fake, tid, Faults::default()),
        Err(response) => response,
    }
}

fn set_faults(fake: &SharedFake, tid: TenantId, faults: Faults) -> Response {
    let done = fake.update_directory(|directory| directory.tenant_mut(tid).map(|tenant| tenant.faults = faults));
    match done {
        Some(()) => StatusCode::NO_CONTENT.into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no tenant {tid}")),
    }
}

async fn put_auto(State(fake): State<SharedFake>, payload: Result<Json<serde_json::Value>, JsonRejection>) -> Response {
    match body::<AutoMode>(payload) {
        Ok(auto) => {
            fake.state().auto = auto;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(response) => response,
    }
}

async fn get_auto(State(fake): State<SharedFake>) -> Response {
    Json(fake.state().auto.clone()).into_response()
}

async fn get_log(State(fake): State<SharedFake>) -> Response {
    Json(fake.state().log.clone()).into_response()
}

async fn clear_log(State(fake): State<SharedFake>) -> Response {
    fake.state().log.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn rotate_keys(State(fake): State<SharedFake>) -> Response {
    let rotated = tokio::task::spawn_blocking(move || fake.rotate_keys()).await;
    match rotated {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

//! OpenID Connect discovery (v1 and v2) and the JWKS, per tenant id, verified domain, or
//! `organizations`/`common` (whose issuer carries the literal `{tenantid}` placeholder). A domain's
//! document names the tenant's GUID in its issuer and in every endpoint, as Microsoft's does (tools
//! read the tenant id from them).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{SharedFake, TenantSegment, issuer_v1, resolve_tenant, with_log_detail};

/// The tenant part of an issuer: the tenant id, or `{tenantid}` for the multi-tenant endpoints.
fn issuer_tenant(segment: TenantSegment) -> String {
    match segment {
        TenantSegment::Tenant(id) => id.to_string(),
        _ => "{tenantid}".to_owned(),
    }
}

/// The tenant part of the endpoints: the tenant id for a tenant (also when asked by domain), the
/// segment as given for the multi-tenant endpoints.
fn endpoint_tenant(segment: TenantSegment, asked: &str) -> String {
    match segment {
        TenantSegment::Tenant(id) => id.to_string(),
        _ => asked.to_owned(),
    }
}

fn resolve(fake: &SharedFake, tenant: &str) -> Result<TenantSegment, Response> {
    let resolved = resolve_tenant(&fake.state().directory, tenant);
    resolved.map_err(|error| error.into_json_response(&fake.public_url))
}

pub async fn openid_configuration_v2(State(fake): State<SharedFake>, Path(tenant): Path<String>) -> Response {
    let segment = match resolve(&fake, &tenant) {
        Ok(segment) => segment,
        Err(response) => return response,
    };
    let host = &fake.public_url;
    let issuer = fake.issuer_v2(&issuer_tenant(segment));
    let endpoint = endpoint_tenant(segment, &tenant);
    let body = json!({
        "token_endpoint": format!("{host}/{endpoint}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{host}/{endpoint}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer,
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": format!("{host}/{endpoint}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{host}/{endpoint}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{host}/{endpoint}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": format!("{host}/{endpoint}/kerberos"),
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    });
    with_log_detail(Json(body).into_response(), Some(tenant), None)
}

pub async fn openid_configuration_v1(State(fake): State<SharedFake>, Path(tenant): Path<String>) -> Response {
    let segment = match resolve(&fake, &tenant) {
        Ok(segment) => segment,
        Err(response) => return response,
    };
    let host = &fake.public_url;
    let issuer = match segment {
        TenantSegment::Tenant(id) => issuer_v1(id),
        _ => "https://sts.windows.net/{tenantid}/".to_owned(),
    };
    let endpoint = endpoint_tenant(segment, &tenant);
    let body = json!({
        "token_endpoint": format!("{host}/{endpoint}/oauth2/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{host}/{endpoint}/discovery/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
        "scopes_supported": ["openid"],
        "issuer": issuer,
        "microsoft_multi_refresh_token": true,
        "authorization_endpoint": format!("{host}/{endpoint}/oauth2/authorize"),
        "device_authorization_endpoint": format!("{host}/{endpoint}/oauth2/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{host}/{endpoint}/oauth2/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "email", "given_name", "family_name", "nickname"],
        "check_session_iframe": format!("{host}/{endpoint}/oauth2/checksession"),
        "userinfo_endpoint": format!("{host}/{endpoint}/openid/userinfo"),
        "kerberos_endpoint": format!("{host}/{endpoint}/kerberos"),
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    });
    with_log_detail(Json(body).into_response(), Some(tenant), None)
}

pub async fn keys_v2(State(fake): State<SharedFake>, Path(tenant): Path<String>) -> Response {
    let segment = match resolve(&fake, &tenant) {
        Ok(segment) => segment,
        Err(response) => return response,
    };
    let issuer = fake.issuer_v2(&issuer_tenant(segment));
    let jwks = fake.keys().jwks(&issuer);
    with_log_detail(Json(jwks).into_response(), Some(tenant), None)
}

pub async fn keys_v1(State(fake): State<SharedFake>, Path(tenant): Path<String>) -> Response {
    let segment = match resolve(&fake, &tenant) {
        Ok(segment) => segment,
        Err(response) => return response,
    };
    let issuer = match segment {
        TenantSegment::Tenant(id) => issuer_v1(id),
        _ => "https://sts.windows.net/{tenantid}/".to_owned(),
    };
    let jwks = fake.keys().jwks(&issuer);
    with_log_detail(Json(jwks).into_response(), Some(tenant), None)
}

//! Microsoft's error answers: the JSON body of the token endpoint (and its headers), and the HTML page
//! the interactive endpoints show when they cannot redirect.

use askama::Template;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::i18n::{Language, Messages};

/// An AADSTS error.
#[derive(Debug, Clone)]
pub struct AadError {
    pub status: StatusCode,
    /// The OAuth `error` value, e.g. `invalid_client`.
    pub error: &'static str,
    pub code: u32,
    pub message: String,
}

impl AadError {
    pub fn new(status: StatusCode, error: &'static str, code: u32, message: impl Into<String>) -> Self {
        Self { status, error, code, message: message.into() }
    }

    pub fn tenant_not_found(tenant: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_tenant",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. \
                 Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        )
    }

    pub fn malformed_tenant(tenant: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900023,
            format!("Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid external domain."),
        )
    }

    pub fn app_not_found(client_id: &str, tenant_name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant_name}'. This can happen if the application \
                 has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your \
                 authentication request to the wrong tenant."
            ),
        )
    }

    pub fn service_principal_missing(client_id: &str, tenant_id: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            7000229,
            format!(
                "The client application {client_id} is missing service principal in the tenant {tenant_id}. \
                 See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119"
            ),
        )
    }

    pub fn service_principal_disabled(client_id: &str, app_name: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", 7000112, format!("Application '{client_id}'({app_name}) is disabled."))
    }

    pub fn wrong_secret(client_id: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client \
                 secret ID, for a secret added to app '{client_id}'."
            ),
        )
    }

    pub fn expired_secret(client_id: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000222,
            format!(
                "The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to create new keys for your app: \
                 https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."
            ),
        )
    }

    pub fn missing_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    }

    /// Microsoft names the resource as requested and the tenant by its GUID.
    pub fn resource_missing(resource: &str, tenant_id: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500011,
            format!(
                "The resource principal named {resource} was not found in the tenant named {tenant_id}. This can happen if the application \
                 has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent \
                 your authentication request to the wrong tenant."
            ),
        )
    }

    /// A scope the fake does not serve, in the words of Microsoft's own example.
    pub fn invalid_scope(scope: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            format!("The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."),
        )
    }

    /// Client credentials asked for a scope that is not `{resource}/.default`.
    pub fn scope_without_default(scope: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default \
                 suffixed to the resource identifier (application ID URI)."
            ),
        )
    }

    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    pub fn unsupported_grant_type() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
    }

    /// Client credentials on `/organizations`: nothing in the request says which tenant the token is for.
    pub fn no_tenant_in_request() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50059,
            "No tenant-identifying information found in either the request or implied by any provided credentials.",
        )
    }

    pub fn grant_not_on_common() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            9001023,
            "The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.",
        )
    }

    pub fn invalid_grant(code: u32, message: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", code, message)
    }

    pub fn invalid_assertion(code: u32, message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", code, message)
    }

    /// The `error_description` of an error redirect, as Microsoft writes it: the message, then the
    /// Trace ID, Correlation ID and Timestamp lines.
    pub fn redirect_description(&self) -> String {
        let timestamp = microsoft_timestamp(OffsetDateTime::now_utc());
        format!(
            "AADSTS{}: {}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {timestamp}",
            self.code,
            self.message,
            Uuid::new_v4(),
            Uuid::new_v4()
        )
    }

    /// The `error_uri` Microsoft adds to error answers: its error lookup page for this code.
    pub fn error_uri(&self, host: &str) -> String {
        format!("{host}/error?code={}", self.code)
    }

    /// The token endpoint's JSON answer, with Microsoft's headers.
    pub fn into_json_response(self, host: &str) -> Response {
        let trace_id = Uuid::new_v4().to_string();
        let correlation_id = Uuid::new_v4().to_string();
        let timestamp = microsoft_timestamp(OffsetDateTime::now_utc());
        let description = format!(
            "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
            self.code, self.message
        );
        let body = json!({
            "error": self.error,
            "error_description": description,
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": self.error_uri(host),
        });
        let mut response = (self.status, Json(body)).into_response();
        token_endpoint_headers(response.headers_mut());
        response
    }
}

/// `Cache-Control`, `Pragma` and `Content-Type` as the token endpoint sends them.
pub fn token_endpoint_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
}

/// Microsoft's timestamp form in error bodies: `2026-11-25 14:36:30Z`.
pub fn microsoft_timestamp(at: OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z", at.year(), u8::from(at.month()), at.day(), at.hour(), at.minute(), at.second())
}

/// `429 Too Many Requests` with `Retry-After`, as the token endpoint throttles.
pub fn throttled(retry_after_s: u64) -> Response {
    let mut response = (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response();
    if let Ok(value) = HeaderValue::from_str(&retry_after_s.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPageTemplate<'a> {
    tr: Messages,
    code: u32,
    message: &'a str,
    trace_id: String,
    correlation_id: String,
    timestamp: String,
    back_to_app: Option<&'a str>,
}

/// Microsoft's "Sorry, but we're having trouble signing you in" page. `back_to_app`, when given, is a
/// link that returns to the app with the error (what the page's "Back to the application" does).
pub fn error_page(error: &AadError, back_to_app: Option<&str>) -> Response {
    error_page_in(error, back_to_app, Language::English)
}

/// [`error_page`] in a language (its words; the AADSTS message stays English, as Microsoft's does).
pub fn error_page_in(error: &AadError, back_to_app: Option<&str>, language: Language) -> Response {
    let page = ErrorPageTemplate {
        tr: Messages::new(language),
        code: error.code,
        message: &error.message,
        trace_id: Uuid::new_v4().to_string(),
        correlation_id: Uuid::new_v4().to_string(),
        timestamp: microsoft_timestamp(OffsetDateTime::now_utc()),
        back_to_app,
    };
    match page.render() {
        Ok(html) => (error.status, Html(html)).into_response(),
        Err(_) => (error.status, format!("AADSTS{}: {}", error.code, error.message)).into_response(),
    }
}

//! Middleware that applies to every response: security headers, request size limits, and the rendering
//! of error pages.

use std::sync::Arc;

use askama::Template;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use crate::app::AppState;
use crate::config::Config;
use crate::web::error::ErrorPage;
use crate::web::language::{LanguageChoice, PageLanguage};

/// Paths of the staff pages and the API, which stay English.
fn is_staff_path(path: &str) -> bool {
    ["/tenants", "/invites", "/outbox", "/staff", "/api/"].iter().any(|prefix| path.starts_with(prefix))
}

/// Remembers a language switch (`?lang=`) in a cookie, on the response of the request that made it.
pub async fn remember_language(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let choice = LanguageChoice::from_request(request.method(), request.uri(), request.headers());
    let mut response = next.run(request).await;
    choice.remember(&mut response, state.config.is_https());
    response
}

/// Longest request target (path and query) accepted: an Entra redirect with code, state and session
/// state fits well inside it.
pub const MAX_URI_BYTES: usize = 4 * 1024;
/// Largest sum of request header names and values accepted.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Largest request body accepted (forms and CSP reports are small).
pub const MAX_BODY_BYTES: usize = 32 * 1024;

/// The headers every response carries, computed once from the configuration.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    content_security_policy: HeaderValue,
    strict_transport_security: Option<HeaderValue>,
}

impl SecurityHeaders {
    pub fn new(config: &Config) -> Self {
        // No inline script or style anywhere; forms may post to us, and the sign-in form's redirect may
        // go on to the sign-in host (browsers apply form-action to the redirects after a POST).
        let policy = format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
             form-action 'self' {authority}; frame-ancestors 'none'; base-uri 'none'; report-uri /csp-report",
            authority = config.authority(),
        );
        Self {
            content_security_policy: HeaderValue::from_str(&policy)
                .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'")),
            strict_transport_security: config.is_https().then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains")),
        }
    }
}

/// Adds the security headers of the threat model (docs/security.md) to every response, and `Cache-Control: no-store` to every
/// response that did not choose its own caching (pages can carry personal data).
pub async fn security_headers(State(policy): State<Arc<SecurityHeaders>>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let sandboxed = response.extensions().get::<SandboxedPolicy>().is_some();
    let headers = response.headers_mut();
    // One response may bring its own policy: the demo's e-mail preview, which is sandboxed (see
    // `SandboxedPolicy`). Any other response gets the portal's, whatever a handler set.
    if !(sandboxed && headers.contains_key(header::CONTENT_SECURITY_POLICY)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy.content_security_policy.clone());
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    headers.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"));
    if let Some(hsts) = &policy.strict_transport_security {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Marks a response whose own `Content-Security-Policy` replaces the portal's: a `sandbox` policy
/// with `default-src 'none'` and no script. Only the demo's preview of an e-mail's HTML part uses it:
/// e-mails need inline styles, so it allows `style-src 'unsafe-inline'`, and nothing else.
#[derive(Debug, Clone, Copy)]
pub struct SandboxedPolicy;

/// Refuses oversized request targets (414) and headers (431) before any handler sees them.
pub async fn limit_request_size(request: Request, next: Next) -> Response {
    let target_len = request.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target_len > MAX_URI_BYTES {
        return ErrorPage::for_status(StatusCode::URI_TOO_LONG).into_response();
    }
    if header_bytes(request.headers()) > MAX_HEADER_BYTES {
        return ErrorPage::for_status(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).into_response();
    }
    next.run(request).await
}

fn header_bytes(headers: &HeaderMap) -> usize {
    headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate<'a> {
    lang: PageLanguage,
    page: &'a ErrorPage,
    request_id: &'a str,
}

/// Renders error responses: those of `AppError` (which carry an [`ErrorPage`]) and the bare ones that
/// layers and the framework produce (413, 405, a panic). A handler's own HTML or JSON error page is
/// left alone. Under `/api/` the error is JSON: `{"error": {"status", "code", "message"}}`.
pub async fn render_error_pages(request: Request, next: Next) -> Response {
    let wants_json = request.uri().path().starts_with("/api/");
    // Customers' error pages speak their language; staff pages and the API stay English.
    let language = if is_staff_path(request.uri().path()) {
        LanguageChoice::default()
    } else {
        LanguageChoice::from_request(request.method(), request.uri(), request.headers())
    };
    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let page = match response.extensions().get::<ErrorPage>() {
        Some(page) => page.clone(),
        None if is_rendered(&response) => return response,
        None => ErrorPage::for_status(status),
    };
    // Keep headers such as Retry-After and Allow; the body and its headers are replaced.
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = if wants_json {
        Json(json!({ "error": { "status": status.as_u16(), "code": page.code, "message": page.message } })).into_response()
    } else {
        let lang = language.messages(None);
        let page = page.translated(lang.tr);
        let template = ErrorTemplate { lang, page: &page, request_id: &request_id };
        match template.render() {
            Ok(html) => Html(html).into_response(),
            Err(error) => {
                tracing::error!(%error, "cannot render the error page");
                (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.").into_response()
            }
        }
    };
    let (body_parts, body) = body.into_parts();
    parts.headers.extend(body_parts.headers);
    Response::from_parts(parts, body)
}

/// Did a handler render this error response on purpose (an HTML page or JSON of its own)?
fn is_rendered(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html") || ct.starts_with("application/json"))
}

/// The response for a panic in a handler: the generic 500 page, nothing of the panic's message.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ErrorPage::for_status(StatusCode::INTERNAL_SERVER_ERROR).into_response()
}

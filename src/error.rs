//! One error type for every handler. It logs what went wrong inside and shows the person (or the API
//! client) only a short, known explanation: never a SQL error, a path, or what Microsoft said verbatim.
//!
//! Handlers return `AppError`; its response carries an [`ErrorPage`] and no body. The
//! `render_error_pages` middleware (in `web::middleware`) turns it into the friendly HTML page, or into
//! JSON under `/api/`, so the format is decided in one place — also for errors raised by layers (413,
//! 431, 405) and for panics.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("gone: {0}")]
    Gone(String),
    #[error("too many requests")]
    TooManyRequests,
    /// The database cannot take writes right now (read-only, full, locked too long): 503, try later.
    #[error("database unavailable for writes: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        if crate::db::is_unavailable_for_writes(&error) { Self::Unavailable(error) } else { Self::Internal(error.into()) }
    }
}

/// What the error page says: attached to an error response for `render_error_pages` to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorPage {
    pub status: StatusCode,
    /// A stable machine-readable code for the JSON API, e.g. `not_found`.
    pub code: &'static str,
    pub title: String,
    pub message: String,
}

impl ErrorPage {
    pub fn new(status: StatusCode, code: &'static str, title: impl Into<String>, message: impl Into<String>) -> Self {
        Self { status, code, title: title.into(), message: message.into() }
    }

    /// The page for a bare status, as layers and the framework produce them.
    pub fn for_status(status: StatusCode) -> Self {
        let (code, title, message) = match status {
            StatusCode::BAD_REQUEST => ("bad_request", "Bad request", "The request could not be understood."),
            StatusCode::UNAUTHORIZED => ("unauthorized", "Sign-in needed", "You need to sign in to see this page."),
            StatusCode::FORBIDDEN => ("forbidden", "Not allowed", "You are not allowed to do this."),
            StatusCode::NOT_FOUND => (
                "not_found",
                "Page not found",
                "There is nothing at this address. Check the link, or start again from the email you received.",
            ),
            StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "Not allowed", "This address does not accept that kind of request."),
            StatusCode::REQUEST_TIMEOUT => ("request_timeout", "Too slow", "The request took too long to arrive. Please try again."),
            StatusCode::PAYLOAD_TOO_LARGE => {
                ("payload_too_large", "Too much data", "The request carried more data than this portal accepts.")
            }
            StatusCode::URI_TOO_LONG => ("uri_too_long", "Address too long", "The address is longer than this portal accepts."),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("unsupported_media_type", "Unsupported content", "The request carried content of a kind this portal does not accept.")
            }
            StatusCode::UNPROCESSABLE_ENTITY => ("unprocessable", "Invalid input", "Some of the information sent is not valid."),
            StatusCode::TOO_MANY_REQUESTS => {
                ("too_many_requests", "Too many requests", "Too many requests from your address. Please wait a minute and try again.")
            }
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (
                "headers_too_large",
                "Request too large",
                "The request headers are larger than this portal accepts. Clearing this site's cookies may help.",
            ),
            StatusCode::SERVICE_UNAVAILABLE => (
                "unavailable",
                "Temporarily unavailable",
                "The portal cannot complete this right now. Nothing was lost; please try again in a few minutes.",
            ),
            StatusCode::GATEWAY_TIMEOUT => ("timeout", "Timed out", "The portal took too long to answer. Please try again."),
            s if s.is_client_error() => ("client_error", "Request refused", "This request cannot be handled."),
            _ => {
                ("internal_error", "Something went wrong", "Something went wrong on our side. It has been logged; please try again later.")
            }
        };
        Self::new(status, code, title, message)
    }

    /// A response that carries this page and no body, for `render_error_pages` to render.
    pub fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let page = match &self {
            AppError::NotFound => ErrorPage::for_status(StatusCode::NOT_FOUND),
            AppError::BadRequest(message) => ErrorPage::new(StatusCode::BAD_REQUEST, "bad_request", "Bad request", message.clone()),
            AppError::Forbidden(message) => ErrorPage::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed", message.clone()),
            AppError::Conflict(message) => ErrorPage::new(StatusCode::CONFLICT, "conflict", "Already done elsewhere", message.clone()),
            AppError::Gone(message) => ErrorPage::new(StatusCode::GONE, "gone", "No longer valid", message.clone()),
            AppError::TooManyRequests => ErrorPage::for_status(StatusCode::TOO_MANY_REQUESTS),
            AppError::Unavailable(source) => {
                tracing::error!(error = %source, "database cannot take writes");
                ErrorPage::for_status(StatusCode::SERVICE_UNAVAILABLE)
            }
            AppError::Internal(source) => {
                tracing::error!(error = format!("{source:#}"), "request failed");
                ErrorPage::for_status(StatusCode::INTERNAL_SERVER_ERROR)
            }
        };
        let mut response = page.into_response();
        match self {
            AppError::Unavailable(_) => {
                response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("30"));
            }
            AppError::TooManyRequests => {
                response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("60"));
            }
            _ => {}
        }
        response
    }
}

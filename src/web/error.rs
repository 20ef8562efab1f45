//! One error type for every handler. It logs what went wrong inside and shows the person (or the API
//! client) only a short, known explanation: never a SQL error, a path, or what Microsoft said verbatim.
//!
//! Handlers return `AppError`; its response carries an [`ErrorPage`] and no body. The
//! `render_error_pages` middleware (in `web::middleware`) turns it into the friendly HTML page, or into
//! JSON under `/api/`, so the format is decided in one place — also for errors raised by layers (413,
//! 431, 405) and for panics.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::Failure;
use crate::i18n::Messages;

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
    /// A request that is well formed but cannot be done as asked (the JSON API's 422).
    #[error("unprocessable: {0}")]
    Unprocessable(String),
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
        Failure::from(error).into()
    }
}

impl From<Failure> for AppError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Unavailable(error) => Self::Unavailable(error),
            Failure::Internal(error) => Self::Internal(error),
        }
    }
}

/// The session could not be read or stored (the store's own 503 for a database that cannot take writes
/// is decided by `sessions::store_unavailable_is_503`).
impl From<tower_sessions::session::Error> for AppError {
    fn from(error: tower_sessions::session::Error) -> Self {
        Self::Internal(anyhow::anyhow!("session: {error}"))
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
    /// The catalogue key of the words, when they are the standard words of the status.
    pub message_key: Option<&'static str>,
}

impl ErrorPage {
    pub fn new(status: StatusCode, code: &'static str, title: impl Into<String>, message: impl Into<String>) -> Self {
        Self { status, code, title: title.into(), message: message.into(), message_key: None }
    }

    /// The page for a bare status, as layers and the framework produce them. Its words come from the
    /// catalogues, so a customer's error page can be shown in their language.
    pub fn for_status(status: StatusCode) -> Self {
        let (code, key) = match status {
            StatusCode::BAD_REQUEST => ("bad_request", "error-400"),
            StatusCode::UNAUTHORIZED => ("unauthorized", "error-401"),
            StatusCode::FORBIDDEN => ("forbidden", "error-403"),
            StatusCode::NOT_FOUND => ("not_found", "error-404"),
            StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "error-405"),
            StatusCode::REQUEST_TIMEOUT => ("request_timeout", "error-408"),
            StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "error-413"),
            StatusCode::URI_TOO_LONG => ("uri_too_long", "error-414"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "error-415"),
            StatusCode::UNPROCESSABLE_ENTITY => ("unprocessable", "error-422"),
            StatusCode::TOO_MANY_REQUESTS => ("too_many_requests", "error-429"),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ("headers_too_large", "error-431"),
            StatusCode::SERVICE_UNAVAILABLE => ("unavailable", "error-503"),
            StatusCode::GATEWAY_TIMEOUT => ("timeout", "error-504"),
            s if s.is_client_error() => ("client_error", "error-4xx"),
            _ => ("internal_error", "error-500"),
        };
        let mut page = Self::in_language(status, code, key, Messages::default());
        page.message_key = Some(key);
        page
    }

    fn in_language(status: StatusCode, code: &'static str, key: &'static str, tr: Messages) -> Self {
        Self::new(status, code, tr.t(&format!("{key}-title")), tr.t(key))
    }

    /// This page in another language, when its words come from the catalogues.
    pub fn translated(&self, tr: Messages) -> Self {
        match self.message_key {
            Some(key) => Self { message_key: Some(key), ..Self::in_language(self.status, self.code, key, tr) },
            None => self.clone(),
        }
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
            AppError::Unprocessable(message) => {
                ErrorPage::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", "Not created", message.clone())
            }
            AppError::TooManyRequests => ErrorPage::for_status(StatusCode::TOO_MANY_REQUESTS),
            AppError::Unavailable(source) => {
                tracing::error!(error = %source, "database cannot take writes");
                return unavailable_response();
            }
            AppError::Internal(source) => {
                tracing::error!(error = format!("{source:#}"), "request failed");
                ErrorPage::for_status(StatusCode::INTERNAL_SERVER_ERROR)
            }
        };
        let mut response = page.into_response();
        if let AppError::TooManyRequests = self {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("60"));
        }
        response
    }
}

/// Handlers that answer either a page or another page (a customer's problem page) return
/// `Result<Response, Response>`; an error page is one of those.
impl From<AppError> for Response {
    fn from(error: AppError) -> Self {
        error.into_response()
    }
}

/// The answer when the database cannot take a write: 503, the try-again page (JSON under `/api/`),
/// and Retry-After. Nothing was written, so trying again is safe.
pub fn unavailable_response() -> Response {
    let mut response = ErrorPage::for_status(StatusCode::SERVICE_UNAVAILABLE).into_response();
    response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("30"));
    response
}

//! What every handler uses: one function that renders a page ([`render`]), the forms' CSRF rules
//! ([`csrf`]), the portal's own cookies ([`cookies`]) and the paths of its pages ([`paths`]).

pub mod cookies;
pub mod csrf;
pub mod oidc;
pub mod paths;
mod render;

pub use render::render;

use axum::http::{HeaderValue, header};
use axum::response::Response;

/// `response` as a download named `filename` (an export).
pub fn attachment(mut response: Response, filename: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

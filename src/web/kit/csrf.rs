//! The forms' defences against cross-site requests. Every POST carries a token that must match the
//! session's (or, before there is a session, a double-submit cookie's), and must come from the portal's
//! own origin.

use axum::http::{HeaderMap, header};
use axum::response::Response;
use url::Url;

use super::cookies;
use crate::domain::random_value;
pub use crate::domain::tokens_match;

/// A new random token (256 bits, base64url): CSRF tokens, session bindings.
pub fn new_token() -> String {
    random_value()
}

/// Is this POST from our own pages? `Sec-Fetch-Site: cross-site` or a foreign `Origin` say no.
pub fn same_origin(public_url: &Url, headers: &HeaderMap) -> bool {
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return false;
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        // Browsers send `Origin: null` for a form POST from a page with `Referrer-Policy: no-referrer`
        // (ours): then only `Sec-Fetch-Site` can tell (every browser that sends `null` there sends it
        // too), and the CSRF token still has to match.
        Some("null") => headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("same-origin"),
        Some(origin) => origin.trim_end_matches('/') == public_url.origin().ascii_serialization(),
        None => true,
    }
}

/// A double-submit cookie, for a form shown before there is a session: the name of the cookie and the
/// path it is sent to.
#[derive(Debug, Clone, Copy)]
pub struct CookieToken {
    pub name: &'static str,
    pub path: &'static str,
}

impl CookieToken {
    /// The token the page's form carries: the browser's, when it holds one of ours, or a new one.
    pub fn for_page(&self, headers: &HeaderMap) -> String {
        cookies::read(headers, self.name).filter(|c| c.len() == 43).unwrap_or_else(new_token)
    }

    /// Sets the cookie on the page's response.
    pub fn set(&self, response: &mut Response, token: &str, secure: bool) {
        cookies::set(response, self.name, token, self.path, None, secure);
    }

    /// Does a POST carry the token of its cookie, from our own origin?
    pub fn accepts(&self, public_url: &Url, headers: &HeaderMap, form_token: &str) -> bool {
        let matches = cookies::read(headers, self.name).is_some_and(|cookie| tokens_match(&cookie, form_token));
        same_origin(public_url, headers) && matches
    }
}

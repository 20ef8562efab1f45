//! Reading a request's cookie and setting one: the portal's own small cookies (the double-submit CSRF
//! tokens, the language choice). The session cookie is tower-sessions'.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

/// The value of the cookie `name` in a request.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

/// Sets an `HttpOnly`, `SameSite=Lax` cookie for `path`, `Secure` when the site is https, kept for
/// `max_age_s` seconds (or the browser's session).
pub fn set(response: &mut Response, name: &str, value: &str, path: &str, max_age_s: Option<u32>, secure: bool) {
    let max_age = max_age_s.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    let secure = if secure { "; Secure" } else { "" };
    if let Ok(cookie) = HeaderValue::from_str(&format!("{name}={value}; Path={path}{max_age}; HttpOnly; SameSite=Lax{secure}")) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
}

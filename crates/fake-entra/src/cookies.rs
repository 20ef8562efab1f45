//! The fake's two cookies (its browser session and the remembered page language): reading one from a
//! request and setting one on a response.

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

/// Sets an `HttpOnly`, `SameSite=Lax` cookie on `/` for the browser's session. The fake is served over
/// plain http as often as over https, so the cookie is never `Secure`.
pub fn set(response: &mut Response, name: &str, value: &str) {
    if let Ok(cookie) = HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax")) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_named_cookie_among_several_headers() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; fake_session=xyz"));
        headers.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(read(&headers, "fake_session").as_deref(), Some("xyz"));
        assert_eq!(read(&headers, "b").as_deref(), Some("2"));
        assert_eq!(read(&headers, "session"), None);
    }
}

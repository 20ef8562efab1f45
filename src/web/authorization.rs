//! Reading the `Authorization` header: `<scheme> <credentials>`, the scheme compared without regard to
//! case (RFC 9110, section 11.1), so `Bearer`, `bearer` and `BEARER` are the same. Used by the JSON API.

use axum::http::{HeaderMap, header};

/// The credentials of the request's `Authorization` header when its scheme is `scheme` (`Bearer`,
/// `Basic`), without surrounding white space; `None` for another scheme or no credentials.
pub fn credentials<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (given, credentials) = value.trim_start().split_once([' ', '\t'])?;
    let credentials = credentials.trim();
    (given.eq_ignore_ascii_case(scheme) && !credentials.is_empty()).then_some(credentials)
}

/// The bearer token of the request, if it carries one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    credentials(headers, "Bearer")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_scheme_is_case_insensitive() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "bEaReR   abc ", "Bearer\tabc"] {
            assert_eq!(bearer_token(&with(value)), Some("abc"), "{value}");
        }
        for value in ["Bearerabc", "Bearer ", "Basic abc", "Bear abc", "abc"] {
            assert_eq!(bearer_token(&with(value)), None, "{value}");
        }
        assert_eq!(credentials(&with("BASIC dXNlcjpwYXNz"), "Basic"), Some("dXNlcjpwYXNz"));
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}

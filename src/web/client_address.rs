//! Who is asking: the client's address, and the request id, as far as they can be believed.
//!
//! In production the portal sits behind a TLS proxy or load balancer, so the connection's peer is that
//! proxy for every customer. The proxy reports the client in `X-Forwarded-For` or `Forwarded` (RFC
//! 7239), but anyone can send those headers: they are believed only when the peer is one of
//! `PORTAL_TRUSTED_PROXIES`, and only as far back as the chain of trusted proxies goes. One layer,
//! [`identify_client`], works this out once per request and leaves a [`ClientAddress`] for the rate
//! limiter and the logs; it also drops an `X-Request-Id` that must not be reused, so that a fresh one
//! is made.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
pub use crate::config::TrustedProxies;
use crate::web::error::AppError;

/// The client of a request: the peer, or the client a trusted proxy reported. Every handler that
/// needs the client's address takes this, never the connection's peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<ClientAddress>().copied().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("no client address: the router runs without its identify_client layer")).into_response()
        })
    }
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The outermost layer: resolves the [`ClientAddress`] and keeps a client's `X-Request-Id` only when a
/// trusted proxy sent it and it is a short plain token; otherwise the header is dropped, and the
/// request-id layer inside this one makes a new id (the one logs, error pages and the response carry).
pub async fn identify_client(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    // Without connection information (a router served without it) nothing is known of the peer, and
    // no header can be believed.
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip().to_canonical());
    let trusted = &state.config.trusted_proxies;
    let from_trusted_proxy = peer.is_some_and(|peer| trusted.contains(peer));
    let client = match peer {
        Some(peer) if from_trusted_proxy => resolve(peer, request.headers(), trusted),
        Some(peer) => peer,
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    let keep_request_id = from_trusted_proxy && {
        let mut given = request.headers().get_all(X_REQUEST_ID).iter();
        matches!((given.next(), given.next()), (Some(id), None) if is_plain_request_id(id.as_bytes()))
    };
    if !keep_request_id {
        request.headers_mut().remove(X_REQUEST_ID);
    }
    request.extensions_mut().insert(ClientAddress(client));
    next.run(request).await
}

/// 1 to 64 characters of `A-Z a-z 0-9 . _ -`: enough for a proxy's UUID or trace id, and nothing that
/// could forge a log line or markup.
fn is_plain_request_id(id: &[u8]) -> bool {
    (1..=64).contains(&id.len()) && id.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The client behind a trusted `peer`: walking the forwarding chain from the right (the hop nearest
/// to us), each hop is believed while the one after it is a trusted proxy; the first address that is
/// not a trusted proxy is the client. A hop that names no address (`unknown`, an obfuscated
/// identifier, garbage) ends the walk: whatever lies to its left was written by someone we cannot
/// vouch for, so the nearest address known is used.
///
/// `X-Forwarded-For` is read when present, `Forwarded` otherwise: the common proxies append to
/// `X-Forwarded-For`, and a proxy that writes only `Forwarded` is expected to drop the client's own
/// `X-Forwarded-For` (see docs/operations.md, "Behind a proxy").
fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let chain = if headers.contains_key(X_FORWARDED_FOR) { x_forwarded_for(headers) } else { forwarded(headers) };
    let mut client = peer;
    for hop in chain.iter().rev() {
        if !trusted.contains(client) {
            break;
        }
        match hop {
            Some(address) => client = *address,
            None => break,
        }
    }
    client
}

/// The hops of every `X-Forwarded-For` header, in order (several headers are one list); `None` for
/// an entry that is not an address.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut hops = Vec::new();
    for value in headers.get_all(X_FORWARDED_FOR) {
        match value.to_str() {
            Ok(text) => hops.extend(text.split(',').map(parse_node)),
            Err(_) => hops.push(None),
        }
    }
    hops
}

/// The `for=` of every element of every `Forwarded` header, in order; `None` for an element without
/// a usable `for=` (absent, `unknown`, obfuscated, or malformed).
fn forwarded(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut hops = Vec::new();
    for value in headers.get_all(header::FORWARDED) {
        match value.to_str().ok().and_then(|text| split_outside_quotes(text, ',')) {
            Some(elements) => hops.extend(elements.into_iter().map(forwarded_for)),
            None => hops.push(None),
        }
    }
    hops
}

/// The address of one `Forwarded` element's `for=` parameter (`for=192.0.2.60;proto=https`).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let mut found = None;
    for pair in split_outside_quotes(element, ';')? {
        let (name, value) = pair.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("for") {
            // A parameter given twice makes the element invalid (RFC 7239, section 4).
            if found.is_some() {
                return None;
            }
            found = Some(unquote(value.trim())?);
        }
    }
    parse_node(&found?)
}

/// Splits `text` at `separator`, except inside quoted strings; `None` when a quote is not closed.
fn split_outside_quotes(text: &str, separator: char) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (index, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..index]);
                start = index + c.len_utf8();
            }
            _ => {}
        }
    }
    if quoted {
        return None;
    }
    parts.push(&text[start..]);
    Some(parts)
}

/// A token as is, or the content of a quoted string with its escapes undone.
fn unquote(value: &str) -> Option<String> {
    let Some(inner) = value.strip_prefix('"') else { return Some(value.to_owned()) };
    let inner = inner.strip_suffix('"')?;
    let mut text = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        text.push(if c == '\\' { chars.next()? } else { c });
    }
    Some(text)
}

/// An address as proxies write it: `192.0.2.60`, `192.0.2.60:4711`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:443` (the port, even an obfuscated one, is ignored). `unknown`
/// and obfuscated identifiers (`_hidden`) are no address.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    let address = if let Some(rest) = node.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.starts_with(':')) {
            return None;
        }
        IpAddr::V6(Ipv6Addr::from_str(inner).ok()?)
    } else if let Ok(address) = IpAddr::from_str(node) {
        address
    } else {
        let (host, port) = node.split_once(':')?;
        if port.contains(':') {
            return None;
        }
        IpAddr::V4(Ipv4Addr::from_str(host).ok()?)
    };
    Some(address.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn nodes_as_proxies_write_them() {
        assert_eq!(parse_node(" 192.0.2.60 "), Some(ip("192.0.2.60")));
        assert_eq!(parse_node("192.0.2.60:4711"), Some(ip("192.0.2.60")));
        assert_eq!(parse_node("2001:db8::1"), Some(ip("2001:db8::1")));
        assert_eq!(parse_node("[2001:db8::1]"), Some(ip("2001:db8::1")));
        assert_eq!(parse_node("[2001:db8::1]:443"), Some(ip("2001:db8::1")));
        assert_eq!(parse_node("[2001:db8::1]:_port"), Some(ip("2001:db8::1")));
        assert_eq!(parse_node("::ffff:192.0.2.1"), Some(ip("192.0.2.1")));
        for junk in ["", "unknown", "_hidden", "[2001:db8::1", "[192.0.2.1]", "192.0.2.1:80:90", "<script>"] {
            assert_eq!(parse_node(junk), None, "{junk}");
        }
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let peer = ip("10.0.0.1");
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7"), ("x-forwarded-for", "10.0.0.9")]);
        assert_eq!(resolve(peer, &chain, &trusted), ip("198.51.100.7"));
        let all_trusted = headers(&[("x-forwarded-for", "10.0.0.3, 10.0.0.2")]);
        assert_eq!(resolve(peer, &all_trusted, &trusted), ip("10.0.0.3"));
        let unknown_hop = headers(&[("x-forwarded-for", "6.6.6.6, unknown, 10.0.0.2")]);
        assert_eq!(resolve(peer, &unknown_hop, &trusted), ip("10.0.0.2"), "nothing left of an unknown hop is believed");
        assert_eq!(resolve(peer, &HeaderMap::new(), &trusted), peer);
    }

    #[test]
    fn forwarded_elements() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let peer = ip("10.0.0.1");
        let cases = [
            (r#"for=192.0.2.43, for="[2001:db8:cafe::17]:4711";proto=https"#, "2001:db8:cafe::17"),
            (r#"For="192.0.2.43:80";by=10.0.0.1, for=10.0.0.5"#, "192.0.2.43"),
            ("for=_hidden", "10.0.0.1"),
            ("for=unknown", "10.0.0.1"),
            ("for=198.51.100.1, for=unknown", "10.0.0.1"),
            ("proto=https", "10.0.0.1"),
            ("for=192.0.2.1;for=192.0.2.2", "10.0.0.1"),
            (r#"for="192.0.2.1"#, "10.0.0.1"),
            (r#"for="\[2001:db8::9\]";by="a,b", for=10.0.0.7"#, "2001:db8::9"),
        ];
        for (value, expected) in cases {
            assert_eq!(resolve(peer, &headers(&[("forwarded", value)]), &trusted), ip(expected), "{value}");
        }
        let two = headers(&[("forwarded", "for=203.0.113.5"), ("forwarded", "for=10.1.1.1")]);
        assert_eq!(resolve(peer, &two, &trusted), ip("203.0.113.5"));
    }

    #[test]
    fn request_ids() {
        assert!(is_plain_request_id(b"0f4b2c9e-5a1d-4d7e-9c3b-2f1e0d9c8b7a"));
        assert!(is_plain_request_id(b"a.b_c-D9"));
        assert!(is_plain_request_id("x".repeat(64).as_bytes()));
        for bad in ["", "<script>", "a b", "x".repeat(65).as_str(), "id\u{e9}"] {
            assert!(!is_plain_request_id(bad.as_bytes()), "{bad}");
        }
    }
}

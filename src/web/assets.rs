//! Static files (CSS, icons), embedded in the binary so one file is the whole deployment.
//!
//! Pages link them as `/static/NAME?v=HASH`, HASH being a digest of the file's content: a response
//! whose `v` matches is cached for a year (`immutable`), so a new release is picked up at once and an
//! unchanged file is never fetched twice.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::Embed;
use serde::Deserialize;

use crate::app::AppState;
use crate::web::error::AppError;

#[derive(Embed)]
#[folder = "static/"]
struct StaticFiles;

/// Content digest of each static file, computed once.
static VERSIONS: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    StaticFiles::iter()
        .filter_map(|name| {
            let file = StaticFiles::get(&name)?;
            let version = hex::encode(&file.metadata.sha256_hash()[..6]);
            Some((name.into_owned(), version))
        })
        .collect()
});

/// The URL of a static file, with its cache-busting version.
pub fn url(name: &str) -> String {
    match VERSIONS.get(name) {
        Some(version) => format!("/static/{name}?v={version}"),
        None => format!("/static/{name}"),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/static/{*path}", get(serve))
}

#[derive(Deserialize)]
struct VersionQuery {
    v: Option<String>,
}

async fn serve(Path(path): Path<String>, Query(query): Query<VersionQuery>) -> Result<Response, AppError> {
    let file = StaticFiles::get(&path).ok_or(AppError::NotFound)?;
    let mime = mime_guess::from_path(&path).first_or_octet_stream();
    let current = VERSIONS.get(&path);
    let cache = if query.v.is_some() && query.v.as_ref() == current { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut response = file.data.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime.as_ref()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Some(Ok(etag)) = current.map(|v| HeaderValue::from_str(&format!("\"{v}\""))) {
        headers.insert(header::ETAG, etag);
    }
    Ok(response)
}

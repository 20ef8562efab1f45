use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::web::error::AppError;

/// The one way a page is answered: `page` rendered as HTML with `status`. A template that cannot render
/// is an internal error (the 500 page), never half a page.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => AppError::Internal(error.into()).into_response(),
    }
}

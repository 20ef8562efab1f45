//! Pages that belong to no feature: the front page.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_sessions::Session;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomeTemplate {
    required_roles: Vec<String>,
}

/// What this portal is, for someone who arrives without an invite link; signed-in staff go to the
/// tenants.
async fn home(State(state): State<AppState>, session: Session) -> Response {
    if super::staff_auth::is_signed_in(&session).await {
        return Redirect::to("/tenants").into_response();
    }
    HomeTemplate { required_roles: state.config.required_roles.iter().map(ToString::to_string).collect() }.into_response()
}

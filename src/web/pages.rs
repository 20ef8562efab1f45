//! Pages that belong to no feature: the front page.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::routing::get;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomeTemplate {
    required_roles: Vec<String>,
}

/// What this portal is, for someone who arrives without an invite link.
async fn home(State(state): State<AppState>) -> HomeTemplate {
    HomeTemplate { required_roles: state.config.required_roles.iter().map(ToString::to_string).collect() }
}

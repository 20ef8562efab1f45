//! Browser sessions, kept in SQLite (tower-sessions): the cookie holds only a random id. HttpOnly,
//! SameSite=Lax (Strict would drop the cookie on the return from Microsoft), Secure with the `__Host-`
//! prefix when the portal is served over https, and expiry after an hour of inactivity.

use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore;

use crate::app::AppState;

pub fn cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-portal_session" } else { "portal_session" }
}

pub fn layer(state: &AppState) -> SessionManagerLayer<SqliteStore> {
    let secure = state.config.is_https();
    SessionManagerLayer::new(SqliteStore::new(state.db.clone()))
        .with_name(cookie_name(secure))
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(1)))
}

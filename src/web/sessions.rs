//! Browser sessions, kept in SQLite (tower-sessions): the cookie holds only a random id. HttpOnly,
//! SameSite=Lax (Strict would drop the cookie on the return from Microsoft), Secure with the `__Host-`
//! prefix when the portal is served over https, and expiry after an hour of inactivity.
//!
//! The store is the portal's own (its SQL in `db::sessions`) so that a session that cannot be written
//! because the database cannot take writes answers 503 with Retry-After, like every other write: the
//! session layer itself turns any store error into a bare 500, so the store notes the cause for the
//! request and [`store_unavailable_is_503`] turns that 500 into the 503.

use std::cell::Cell;
use std::time::Duration;

use crate::db::Pool;
use async_trait::async_trait;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use time::OffsetDateTime;
use tower_sessions::cookie::SameSite;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::app::AppState;
use crate::db;

/// How often expired sessions are deleted (the store already ignores them).
const CLEANUP_INTERVAL: Duration = Duration::from_secs(3600);

pub fn cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-portal_session" } else { "portal_session" }
}

pub fn layer(state: &AppState) -> SessionManagerLayer<PortalSessionStore> {
    let secure = state.config.is_https();
    SessionManagerLayer::new(PortalSessionStore { db: state.db.clone() })
        .with_name(cookie_name(secure))
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(1)))
}

tokio::task_local! {
    /// Set during a request when the session store failed because the database cannot take writes.
    static STORE_UNAVAILABLE: Cell<bool>;
}

/// Middleware just outside the session layer: a request whose session could not be stored because
/// the database cannot take writes answers 503 with Retry-After (the try-again page) instead of the
/// 500 that the session layer, or a handler that met the error, gives.
pub async fn store_unavailable_is_503(request: Request, next: Next) -> Response {
    let (response, unavailable) = STORE_UNAVAILABLE
        .scope(Cell::new(false), async move {
            let response = next.run(request).await;
            (response, STORE_UNAVAILABLE.with(Cell::get))
        })
        .await;
    if unavailable && response.status() == StatusCode::INTERNAL_SERVER_ERROR {
        return crate::web::error::unavailable_response();
    }
    response
}

/// The session store on the portal's database.
#[derive(Debug, Clone)]
pub struct PortalSessionStore {
    db: Pool,
}

fn store_error(error: sqlx::Error) -> session_store::Error {
    if db::is_unavailable_for_writes(&error) {
        // Outside a request (the clean-up task) there is nobody to answer.
        let _ = STORE_UNAVAILABLE.try_with(|unavailable| unavailable.set(true));
    }
    session_store::Error::Backend(error.to_string())
}

fn encode(record: &Record) -> session_store::Result<Vec<u8>> {
    rmp_serde::to_vec(record).map_err(|error| session_store::Error::Encode(error.to_string()))
}

#[async_trait]
impl SessionStore for PortalSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            let data = encode(record)?;
            if db::sessions::insert_new(&self.db, &record.id.to_string(), &data, record.expiry_date).await.map_err(store_error)? {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        db::sessions::upsert(&self.db, &record.id.to_string(), &encode(record)?, record.expiry_date).await.map_err(store_error)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match db::sessions::load(&self.db, &id.to_string(), OffsetDateTime::now_utc()).await.map_err(store_error)? {
            Some(data) => rmp_serde::from_slice(&data).map(Some).map_err(|error| session_store::Error::Decode(error.to_string())),
            None => Ok(None),
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        db::sessions::delete(&self.db, &id.to_string()).await.map_err(store_error)
    }
}

/// Deletes expired sessions now and every hour. A failure (a full disk) is logged and tried again at
/// the next round, so the clean-up outlives it.
pub fn spawn_cleanup(db: Pool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut rounds = tokio::time::interval(CLEANUP_INTERVAL);
        loop {
            rounds.tick().await;
            if let Err(error) = db::sessions::delete_expired(&db, time::OffsetDateTime::now_utc()).await {
                tracing::error!(%error, "deleting expired sessions failed; trying again in an hour");
            }
        }
    })
}

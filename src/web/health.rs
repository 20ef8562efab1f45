//! `GET /healthz` (the process is up) and `GET /readyz` (the database takes a write), for load
//! balancers and container health checks.

use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;
use sqlx::SqlitePool;
use tokio::sync::Mutex;

use crate::app::AppState;

/// How long one write probe's answer stands: `/readyz` is unauthenticated and polled, and each probe
/// is a synced write, so however often it is asked the database sees at most one probe a second.
const PROBE_STANDS_FOR: Duration = Duration::from_secs(1);

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.readiness.database_takes_writes(&state.db).await {
        (StatusCode::OK, Json(json!({ "status": "ready", "database": "ok" })))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "database": "unavailable" })))
    }
}

/// The last write probe's answer, shared by the requests of the next second. Requests that come
/// while a probe runs wait for it (one probe at a time) and take its answer.
#[derive(Debug, Default)]
pub struct Readiness {
    last: Mutex<Option<(Instant, bool)>>,
}

impl Readiness {
    pub async fn database_takes_writes(&self, db: &SqlitePool) -> bool {
        let mut last = self.last.lock().await;
        if let Some((at, answer)) = *last
            && at.elapsed() < PROBE_STANDS_FOR
        {
            return answer;
        }
        let answer = match crate::db::write_probe::write(db).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, "readiness check: the database does not take a write");
                false
            }
        };
        *last = Some((Instant::now(), answer));
        answer
    }
}

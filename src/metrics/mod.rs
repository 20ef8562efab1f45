//! Metrics for Prometheus: `GET /metrics` in the OpenMetrics text format (what Prometheus asks for
//! first), built with `prometheus-client`.
//!
//! Two kinds: what the process counts as it runs (checks, token requests and their latency,
//! Microsoft's 429s, HTTP requests; held in [`METRICS`], one set per process) and what the database
//! holds, read at each scrape (tenants by status, e-mails and webhook deliveries by state, the age of
//! the oldest e-mail waiting), so every replica reports the same, current figures.
//!
//! No label value is ever a tenant id, a customer's name or a raw path: labels are statuses, API
//! names, route patterns (`/tenants/{tid}`), credential labels — a small, fixed set each, which keeps
//! the number of series bounded and no customer data in the monitoring stack.

use std::sync::LazyLock;
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::db::{self, Pool};
use crate::domain::{TenantStatus, Timestamp};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    api: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrantLabels {
    grant_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CredentialLabels {
    credential: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

/// Seconds: from 25 ms to 20 s, the span of a token request from a fast answer to a timeout.
const TOKEN_BUCKETS: [f64; 10] = [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0];

fn token_histogram() -> Histogram {
    Histogram::new(TOKEN_BUCKETS)
}

/// What the process counts.
pub struct Metrics {
    checks: Family<CheckLabels, Counter>,
    token_requests: Family<GrantLabels, Histogram, fn() -> Histogram>,
    throttled: Family<SourceLabels, Counter>,
    http_requests: Family<HttpLabels, Counter>,
    credential_days_left: Family<CredentialLabels, Gauge>,
}

/// The process's counters.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    checks: Family::default(),
    token_requests: Family::new_with_constructor(token_histogram),
    throttled: Family::default(),
    http_requests: Family::default(),
    credential_days_left: Family::default(),
});

/// One API's part of a check ended in `outcome` (a tenant status).
pub fn count_check(api: &str, outcome: TenantStatus) {
    METRICS.checks.get_or_create(&CheckLabels { api: api.to_owned(), outcome: outcome.as_str().to_owned() }).inc();
}

/// A request to Microsoft's token endpoint took `elapsed` (whatever its answer).
pub fn observe_token_request(grant_type: &str, elapsed: Duration) {
    let grant_type = match grant_type {
        "client_credentials" | "authorization_code" => grant_type,
        _ => "other",
    };
    METRICS.token_requests.get_or_create(&GrantLabels { grant_type: grant_type.to_owned() }).observe(elapsed.as_secs_f64());
}

/// Microsoft answered 429: at the token endpoint (`token`) or an API's probe (`api`).
pub fn count_throttled(source: &'static str) {
    METRICS.throttled.get_or_create(&SourceLabels { source: source.to_owned() }).inc();
}

/// Sets the days left before the portal's own credential `label` expires (a client secret's or
/// certificate's label, never its value). The credential-expiry check calls this; negative once expired.
pub fn set_credential_days_left(label: &str, days_left: i64) {
    METRICS.credential_days_left.get_or_create(&CredentialLabels { credential: label.to_owned() }).set(days_left);
}

/// Forgets every credential's days-left (a credential removed from the configuration stops showing).
pub fn clear_credentials() {
    METRICS.credential_days_left.clear();
}

/// Middleware: counts each request by method, route pattern (never the path: it may carry a token or
/// a tenant id) and status.
pub async fn track_http(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(|| "(unmatched)".to_owned(), |p| p.as_str().to_owned());
    let method = match request.method().as_str() {
        method @ ("GET" | "POST" | "PUT" | "DELETE" | "HEAD" | "OPTIONS" | "PATCH") => method.to_owned(),
        _ => "other".to_owned(),
    };
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    METRICS.http_requests.get_or_create(&HttpLabels { method, route, status }).inc();
    response
}

/// Every metric, as of now: the process's counters and the database's figures at `now`.
pub async fn render(db: &Pool, now: Timestamp) -> Result<String, sqlx::Error> {
    let mut registry = Registry::with_prefix("portal");

    let tenants = Family::<StatusLabels, Gauge>::default();
    for status in TenantStatus::ALL {
        tenants.get_or_create(&StatusLabels { status: status.as_str().to_owned() }).set(0);
    }
    for (status, count) in db::tenants::count_by_status(db).await? {
        tenants.get_or_create(&StatusLabels { status }).set(count);
    }
    registry.register("tenants", "Tenants on the dashboard (not removed), by status", tenants);

    let emails = Family::<StateLabels, Gauge>::default();
    for state in ["queued", "sending", "sent", "failed", "interrupted", "cancelled"] {
        emails.get_or_create(&StateLabels { state: state.to_owned() }).set(0);
    }
    for (state, count) in db::outbox::count_by_status(db).await? {
        emails.get_or_create(&StateLabels { state }).set(count);
    }
    registry.register("emails", "E-mails in the outbox, by state", emails);

    let oldest = db::outbox::oldest_pending(db).await?;
    let age = oldest.map_or(0, |oldest| (now.as_datetime() - oldest.as_datetime()).whole_seconds().max(0));
    let outbox_age = Gauge::<i64>::default();
    outbox_age.set(age);
    registry.register_with_unit(
        "outbox_oldest_pending_age",
        "Age of the oldest e-mail waiting to be sent (0 when none waits)",
        Unit::Seconds,
        outbox_age,
    );

    let deliveries = Family::<StateLabels, Gauge>::default();
    for state in ["queued", "sending", "delivered", "failed"] {
        deliveries.get_or_create(&StateLabels { state: state.to_owned() }).set(0);
    }
    for (state, count) in db::webhooks::count_by_status(db).await? {
        deliveries.get_or_create(&StateLabels { state }).set(count);
    }
    registry.register("webhook_deliveries", "Webhook deliveries (one per event and receiver), by state", deliveries);

    let metrics = &*METRICS;
    registry.register("checks", "Checks of a tenant's API, by API and outcome (the tenant status it gave)", metrics.checks.clone());
    registry.register_with_unit(
        "token_request_duration",
        "Time of requests to Microsoft's token endpoint, by grant type",
        Unit::Seconds,
        metrics.token_requests.clone(),
    );
    registry.register("microsoft_throttled", "429 answers from Microsoft, at the token endpoint or an API", metrics.throttled.clone());
    registry.register("http_requests", "HTTP requests answered, by method, route pattern and status", metrics.http_requests.clone());
    registry.register(
        "credential_days_left",
        "Days before the portal's own client secret or certificate expires, by credential label",
        metrics.credential_days_left.clone(),
    );

    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
    Ok(text)
}

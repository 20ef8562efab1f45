-- Signed webhooks: one row per event and endpoint, queued in the transaction of the change it reports
-- (the outbox pattern), delivered by a background worker. The body is stored exactly as it is signed
-- and sent, so every attempt (and a resend) carries the same bytes under the same webhook-id.
-- No endpoint URL is stored (one may carry a token in its path or query): `endpoint` is a hash of the
-- configured URL, `endpoint_origin` its scheme, host and port, for the staff page.

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT, -- also the order of events: per tenant and endpoint, lower ids go first
    message_id       TEXT NOT NULL,                     -- the webhook-id header: the same on every attempt and endpoint
    endpoint         TEXT NOT NULL,                     -- SHA-256 of the configured URL, hex (first 32 characters)
    endpoint_origin  TEXT NOT NULL,                     -- scheme://host[:port] of that URL
    event_type       TEXT NOT NULL,                     -- tenant.connected, campaign.completed, ...
    tenant_id        TEXT,                              -- the tenant an event is about, for ordering; NULL for others
    body             TEXT NOT NULL,                     -- the JSON sent, byte for byte
    status           TEXT NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'sending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    give_up_at       TEXT NOT NULL,                     -- no attempt is scheduled after this time: the row fails instead
    last_attempt_at  TEXT,
    last_http_status INTEGER,                           -- the receiver's HTTP status at the last attempt, if it answered
    last_error       TEXT,                              -- what went wrong at the last attempt (never a URL)
    created_at       TEXT NOT NULL,
    delivered_at     TEXT,
    requested_by     TEXT                               -- who resent it or sent a test event; NULL for the portal's own events
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries(endpoint, tenant_id, status);
CREATE INDEX webhook_deliveries_message ON webhook_deliveries(message_id);

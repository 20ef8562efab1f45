-- The fleet overview's daily history, the expiry e-mails of the portal's own credentials, and the
-- outbox kind of those e-mails (SQLite's 0012, which rebuilds the outbox for it).
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('onboarding', 'reminder', 'tenant_connected', 'tenant_degraded',
                    'campaign_progress', 'campaign_digest', 'credential_expiring'));

CREATE TABLE credential_notices (
    credential  TEXT NOT NULL,                         -- certificate:<SHA-1 thumbprint> or secret:<expiry>; never a secret
    threshold   BIGINT NOT NULL,                       -- days left
    noticed_at  TEXT NOT NULL,
    PRIMARY KEY (credential, threshold)
);

CREATE TABLE fleet_days (
    day              TEXT PRIMARY KEY NOT NULL,        -- YYYY-MM-DD
    verified         BIGINT NOT NULL,                  -- verified or roles read, not proven
    needs_attention  BIGINT NOT NULL,                  -- a status staff or the customer must act on
    total            BIGINT NOT NULL,                  -- tenants not removed
    recorded_at      TEXT NOT NULL
);

CREATE INDEX checks_tenant_finished ON checks(tenant_id, finished_at, status);

-- Re-consent campaigns: the sets of required permissions the portal has run with, and the campaigns
-- that ask customers to approve a new set.

-- Each distinct set of required permissions the portal started with: the sorted `api:Role` list, and
-- when it was first seen. A permission required since after a tenant's consent is one its admin never
-- approved: the tenant "needs re-consent".
CREATE TABLE permission_sets (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    permissions    TEXT NOT NULL UNIQUE,               -- JSON array of api:Role, sorted
    first_seen_at  TEXT NOT NULL
);

CREATE TABLE campaigns (
    id                 TEXT PRIMARY KEY NOT NULL,      -- UUID v7
    created_at         TEXT NOT NULL,
    created_by         TEXT NOT NULL,                  -- a staff UPN, "cli", "demo"
    permission_set_id  INTEGER NOT NULL REFERENCES permission_sets(id),
    selection          TEXT NOT NULL CHECK (selection IN ('all', 'needs_reconsent')),
    language_default   TEXT NOT NULL DEFAULT 'en',
    half_notified_at   TEXT,                           -- staff were told it passed 50 %
    completed_at       TEXT,                           -- every tenant in it shows every required role
    last_digest_at     TEXT                            -- the latest weekly digest to staff
);
CREATE INDEX campaigns_created_at ON campaigns(created_at);

-- One row per tenant asked: its invite (pinned to the tenant), where and in which language it is asked,
-- and the latest e-mail asked for it (a resend replaces it).
CREATE TABLE campaign_tenants (
    campaign_id  TEXT NOT NULL REFERENCES campaigns(id),
    tenant_id    TEXT NOT NULL REFERENCES tenants(tenant_id),
    invite_id    TEXT NOT NULL REFERENCES invites(id),
    recipient    TEXT,                                 -- NULL: no address known for the tenant
    language     TEXT NOT NULL DEFAULT 'en',
    outbox_id    TEXT REFERENCES outbox(id),
    PRIMARY KEY (campaign_id, tenant_id)
);
CREATE UNIQUE INDEX campaign_tenants_invite ON campaign_tenants(invite_id);
CREATE INDEX campaign_tenants_tenant ON campaign_tenants(tenant_id);

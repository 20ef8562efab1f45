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
-- and the latest e-mail asked for it (a resend replaces it). When the link stops working and the state
-- of that e-mail are copied here (kept so by the triggers below), so that a campaign's page reads one
-- table and the tenants, not four: it must stay fast with 10,000 tenants.
CREATE TABLE campaign_tenants (
    campaign_id      TEXT NOT NULL REFERENCES campaigns(id),
    tenant_id        TEXT NOT NULL REFERENCES tenants(tenant_id),
    invite_id        TEXT NOT NULL REFERENCES invites(id),
    customer         TEXT NOT NULL,                    -- the customer's name when asked: the page's order
    recipient        TEXT,                             -- NULL: no address known for the tenant
    language         TEXT NOT NULL DEFAULT 'en',
    outbox_id        TEXT REFERENCES outbox(id),
    link_expires_at  TEXT NOT NULL,                    -- the invite's expiry, or when it was revoked
    email_status     TEXT,                             -- the outbox status of outbox_id; NULL: none asked
    PRIMARY KEY (campaign_id, tenant_id)
);
CREATE UNIQUE INDEX campaign_tenants_invite ON campaign_tenants(invite_id);
CREATE INDEX campaign_tenants_tenant ON campaign_tenants(tenant_id);
CREATE INDEX campaign_tenants_by_customer ON campaign_tenants(campaign_id, customer, tenant_id);

-- The e-mail's state follows its outbox row, whoever changes it (the worker, a restart marking it
-- interrupted); a copy staff queue from the Outbox page takes its place.
CREATE TRIGGER campaign_email_status AFTER UPDATE OF status ON outbox
BEGIN
    UPDATE campaign_tenants SET email_status = NEW.status WHERE outbox_id = NEW.id;
END;
CREATE TRIGGER campaign_email_resent AFTER UPDATE OF resent_as ON outbox WHEN NEW.resent_as IS NOT NULL
BEGIN
    UPDATE campaign_tenants SET outbox_id = NEW.resent_as,
        email_status = (SELECT status FROM outbox WHERE id = NEW.resent_as) WHERE outbox_id = NEW.id;
END;
-- A revoked invite's link stops working when it is revoked.
CREATE TRIGGER campaign_link_revoked AFTER UPDATE OF revoked_at ON invites WHEN NEW.revoked_at IS NOT NULL
BEGIN
    UPDATE campaign_tenants SET link_expires_at = MIN(link_expires_at, NEW.revoked_at) WHERE invite_id = NEW.id;
END;

-- The fleet overview's daily history, the expiry e-mails of the portal's own credentials, and the
-- outbox kind of those e-mails.

-- The outbox learns the kind `credential_expiring`. SQLite cannot change a CHECK constraint in place,
-- so the table is rebuilt as 0010 did, inside this migration's transaction with foreign keys enforced
-- throughout: the tables that refer to the outbox (invite_links, campaign_tenants) are rebuilt with it,
-- referring to the new table, so that no row ever points at a dropped one; renaming the new tables to
-- the old names carries their references along. The triggers on the outbox go with the old table, and
-- the one on invites names campaign_tenants: all three are created again, as 0011 wrote them.
CREATE TABLE outbox_rebuilt (
    id               TEXT PRIMARY KEY NOT NULL,        -- UUID v7; also the Message-ID <id@portal-host>
    kind             TEXT NOT NULL CHECK (kind IN ('onboarding', 'reminder', 'tenant_connected', 'tenant_degraded',
                                                   'campaign_progress', 'campaign_digest', 'credential_expiring')),
    recipient        TEXT NOT NULL,                    -- one address
    language         TEXT NOT NULL DEFAULT 'en',
    invite_id        TEXT REFERENCES invites(id),      -- onboarding and reminder e-mails
    tenant_id        TEXT,                             -- staff notifications
    detail           TEXT NOT NULL DEFAULT '{}',       -- JSON for the template (never a token)
    follows          TEXT,                             -- a reminder: the id of the sent e-mail it follows
    status           TEXT NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'interrupted', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_reply       TEXT,                             -- the SMTP reply (or connection error) of the last attempt
    requested_by     TEXT,                             -- a staff UPN, "cli", "system"
    created_at       TEXT NOT NULL,
    sent_at          TEXT,
    resent_as        TEXT REFERENCES outbox_rebuilt(id) -- a failed or interrupted e-mail staff sent again: the copy
);
INSERT INTO outbox_rebuilt (id, kind, recipient, language, invite_id, tenant_id, detail, follows, status, attempts,
                            next_attempt_at, last_reply, requested_by, created_at, sent_at, resent_as)
    SELECT id, kind, recipient, language, invite_id, tenant_id, detail, follows, status, attempts,
           next_attempt_at, last_reply, requested_by, created_at, sent_at, resent_as FROM outbox;

CREATE TABLE invite_links_rebuilt (
    token_hash  TEXT PRIMARY KEY NOT NULL,             -- SHA-256 of the link's token, hex; never the token
    invite_id   TEXT NOT NULL REFERENCES invites(id),
    outbox_id   TEXT NOT NULL REFERENCES outbox_rebuilt(id),
    created_at  TEXT NOT NULL
);
INSERT INTO invite_links_rebuilt (token_hash, invite_id, outbox_id, created_at)
    SELECT token_hash, invite_id, outbox_id, created_at FROM invite_links;

CREATE TABLE campaign_tenants_rebuilt (
    campaign_id      TEXT NOT NULL REFERENCES campaigns(id),
    tenant_id        TEXT NOT NULL REFERENCES tenants(tenant_id),
    invite_id        TEXT NOT NULL REFERENCES invites(id),
    customer         TEXT NOT NULL,                    -- the customer's name when asked: the page's order
    recipient        TEXT,                             -- NULL: no address known for the tenant
    language         TEXT NOT NULL DEFAULT 'en',
    outbox_id        TEXT REFERENCES outbox_rebuilt(id),
    link_expires_at  TEXT NOT NULL,                    -- the invite's expiry, or when it was revoked
    email_status     TEXT,                             -- the outbox status of outbox_id; NULL: none asked
    PRIMARY KEY (campaign_id, tenant_id)
);
INSERT INTO campaign_tenants_rebuilt (campaign_id, tenant_id, invite_id, customer, recipient, language, outbox_id,
                                      link_expires_at, email_status)
    SELECT campaign_id, tenant_id, invite_id, customer, recipient, language, outbox_id, link_expires_at, email_status
    FROM campaign_tenants;

DROP TRIGGER campaign_link_revoked;
DROP TABLE campaign_tenants;
DROP TABLE invite_links;
DROP TABLE outbox;
ALTER TABLE outbox_rebuilt RENAME TO outbox;
ALTER TABLE invite_links_rebuilt RENAME TO invite_links;
ALTER TABLE campaign_tenants_rebuilt RENAME TO campaign_tenants;

CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_invite ON outbox(invite_id, kind);
CREATE INDEX outbox_created_at ON outbox(created_at);
-- At most one reminder per due moment: a reminder follows one sent e-mail.
CREATE UNIQUE INDEX outbox_follows ON outbox(follows) WHERE follows IS NOT NULL;
CREATE INDEX invite_links_invite ON invite_links(invite_id);
CREATE INDEX invite_links_outbox ON invite_links(outbox_id);
CREATE UNIQUE INDEX campaign_tenants_invite ON campaign_tenants(invite_id);
CREATE INDEX campaign_tenants_tenant ON campaign_tenants(tenant_id);
CREATE INDEX campaign_tenants_by_customer ON campaign_tenants(campaign_id, customer, tenant_id);

CREATE TRIGGER campaign_email_status AFTER UPDATE OF status ON outbox
BEGIN
    UPDATE campaign_tenants SET email_status = NEW.status WHERE outbox_id = NEW.id;
END;
CREATE TRIGGER campaign_email_resent AFTER UPDATE OF resent_as ON outbox WHEN NEW.resent_as IS NOT NULL
BEGIN
    UPDATE campaign_tenants SET outbox_id = NEW.resent_as,
        email_status = (SELECT status FROM outbox WHERE id = NEW.resent_as) WHERE outbox_id = NEW.id;
END;
CREATE TRIGGER campaign_link_revoked AFTER UPDATE OF revoked_at ON invites WHEN NEW.revoked_at IS NOT NULL
BEGIN
    UPDATE campaign_tenants SET link_expires_at = MIN(link_expires_at, NEW.revoked_at) WHERE invite_id = NEW.id;
END;

-- Which expiry e-mail (30, 14, 7 or 1 days left) was sent for which of the portal's own credentials:
-- each once, whatever restarts in between.
CREATE TABLE credential_notices (
    credential  TEXT NOT NULL,                         -- certificate:<SHA-1 thumbprint> or secret:<expiry>; never a secret
    threshold   INTEGER NOT NULL,                      -- days left
    noticed_at  TEXT NOT NULL,
    PRIMARY KEY (credential, threshold)
);

-- The fleet's counts at the end of each day (UTC; today's is rewritten until the day ends): the
-- overview's 30-day trend reads 30 rows instead of every tenant's history of checks.
CREATE TABLE fleet_days (
    day              TEXT PRIMARY KEY NOT NULL,        -- YYYY-MM-DD
    verified         INTEGER NOT NULL,                 -- verified or roles read, not proven
    needs_attention  INTEGER NOT NULL,                 -- a status staff or the customer must act on
    total            INTEGER NOT NULL,                 -- tenants not removed
    recorded_at      TEXT NOT NULL
);

-- The overview's "needs attention" list reads the last 7 days of checks of the tenants that need
-- attention: by tenant and time, not every check of theirs, and from the index alone (it holds the
-- status).
CREATE INDEX checks_tenant_finished ON checks(tenant_id, finished_at, status);

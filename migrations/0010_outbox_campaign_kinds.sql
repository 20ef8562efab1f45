-- The outbox learns two staff notifications of re-consent campaigns: a milestone (half way, complete)
-- and the weekly digest. SQLite cannot change a CHECK constraint in place, so the table is rebuilt
-- (SQLite's "making other kinds of table schema changes" procedure), inside this migration's
-- transaction, with foreign keys enforced throughout: invite_links, which refers to the outbox, is
-- rebuilt with it, referring to the new table, so that no row ever points at a dropped one. Renaming the
-- new tables to the old names carries their references along.
CREATE TABLE outbox_rebuilt (
    id               TEXT PRIMARY KEY NOT NULL,        -- UUID v7; also the Message-ID <id@portal-host>
    kind             TEXT NOT NULL CHECK (kind IN ('onboarding', 'reminder', 'tenant_connected', 'tenant_degraded',
                                                   'campaign_progress', 'campaign_digest')),
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

DROP TABLE invite_links;
DROP TABLE outbox;
ALTER TABLE outbox_rebuilt RENAME TO outbox;
ALTER TABLE invite_links_rebuilt RENAME TO invite_links;

CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_invite ON outbox(invite_id, kind);
CREATE INDEX outbox_created_at ON outbox(created_at);
-- At most one reminder per due moment: a reminder follows one sent e-mail.
CREATE UNIQUE INDEX outbox_follows ON outbox(follows) WHERE follows IS NOT NULL;
CREATE INDEX invite_links_invite ON invite_links(invite_id);
CREATE INDEX invite_links_outbox ON invite_links(outbox_id);

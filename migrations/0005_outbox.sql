-- E-mails: the outbox (one row per message to send, holding what to say and to whom — never a composed
-- body, since onboarding bodies carry a link) and the extra onboarding links each e-mail carries.

CREATE TABLE outbox (
    id               TEXT PRIMARY KEY NOT NULL,        -- UUID v7; also the Message-ID <id@portal-host>
    kind             TEXT NOT NULL CHECK (kind IN ('onboarding', 'reminder', 'tenant_connected', 'tenant_degraded')),
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
    resent_as        TEXT REFERENCES outbox(id)        -- a failed or interrupted e-mail staff sent again: the copy
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_invite ON outbox(invite_id, kind);
CREATE INDEX outbox_created_at ON outbox(created_at);
-- At most one reminder per due moment: a reminder follows one sent e-mail.
CREATE UNIQUE INDEX outbox_follows ON outbox(follows) WHERE follows IS NOT NULL;

CREATE TABLE invite_links (
    token_hash  TEXT PRIMARY KEY NOT NULL,             -- SHA-256 of the link's token, hex; never the token
    invite_id   TEXT NOT NULL REFERENCES invites(id),
    outbox_id   TEXT NOT NULL REFERENCES outbox(id),
    created_at  TEXT NOT NULL
);
CREATE INDEX invite_links_invite ON invite_links(invite_id);
CREATE INDEX invite_links_outbox ON invite_links(outbox_id);

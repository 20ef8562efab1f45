-- First schema: customers, their invites, the tenants they connected, the checks run on those
-- tenants, and an append-only audit trail. Times are RFC 3339 text in UTC (e.g. 2026-11-25T14:36:30Z),
-- which sorts as text and reads well in the sqlite3 shell.

CREATE TABLE customers (
    id             TEXT PRIMARY KEY NOT NULL,          -- UUID v7
    name           TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    contact_email  TEXT,
    created_at     TEXT NOT NULL
);

CREATE TABLE invites (
    id                TEXT PRIMARY KEY NOT NULL,       -- UUID v7
    customer_id       TEXT NOT NULL REFERENCES customers(id),
    token_hash        TEXT NOT NULL UNIQUE,            -- SHA-256 of the invite token, hex; never the token
    pinned_tenant_id  TEXT,                            -- the tenant the invite is for, when staff pinned one
    pinned_domain     TEXT,                            -- the verified domain it was pinned by, for display
    language          TEXT NOT NULL DEFAULT 'en',
    created_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    revoked_at        TEXT,
    completed_at      TEXT
);
CREATE INDEX invites_customer ON invites(customer_id);

CREATE TABLE tenants (
    tenant_id         TEXT PRIMARY KEY NOT NULL,       -- GUID, lower case; one customer per tenant
    customer_id       TEXT NOT NULL REFERENCES customers(id),
    invite_id         TEXT REFERENCES invites(id),
    consented_by_upn  TEXT,
    consented_by_oid  TEXT,
    consented_at      TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'never_checked',
    status_reason     TEXT,
    last_checked_at   TEXT,
    removed_at        TEXT
);
CREATE INDEX tenants_customer ON tenants(customer_id);
CREATE INDEX tenants_status ON tenants(status);

CREATE TABLE checks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id       TEXT NOT NULL REFERENCES tenants(tenant_id),
    started_at      TEXT NOT NULL,
    finished_at     TEXT NOT NULL,
    status          TEXT NOT NULL,
    roles_present   TEXT NOT NULL DEFAULT '[]',        -- JSON array of role names
    roles_missing   TEXT NOT NULL DEFAULT '[]',        -- JSON array of role names
    error_code      INTEGER,                           -- AADSTS code, when Microsoft gave one
    trace_id        TEXT,
    detail          TEXT                               -- a sentence for staff; never a token
);
CREATE INDEX checks_tenant ON checks(tenant_id, id);

CREATE TABLE audit_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT NOT NULL,
    kind         TEXT NOT NULL,                        -- e.g. invite.created, tenant.consented
    actor        TEXT,                                 -- who: a staff UPN, a customer admin's UPN, "cli", "system"
    customer_id  TEXT REFERENCES customers(id),
    invite_id    TEXT REFERENCES invites(id),
    tenant_id    TEXT,
    detail       TEXT NOT NULL DEFAULT '{}'            -- JSON object
);
CREATE INDEX audit_events_customer ON audit_events(customer_id, id);
CREATE INDEX audit_events_tenant ON audit_events(tenant_id, id);

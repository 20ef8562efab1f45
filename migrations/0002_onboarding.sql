-- Onboarding: the state values issued for admin consent (single use, bound to a browser session, an
-- invite and a tenant), and the history of consents (a re-consent updates the tenant and adds a row).

CREATE TABLE consent_states (
    state_hash        TEXT PRIMARY KEY NOT NULL,       -- SHA-256 of the state value; never the value
    session_binding   TEXT NOT NULL,                   -- random value kept in the browser's session
    invite_id         TEXT NOT NULL REFERENCES invites(id),
    tenant_id         TEXT,                            -- the signed-in tid (v2); NULL in the v1 flow
    flow              TEXT NOT NULL CHECK (flow IN ('v2', 'v1')),
    created_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    used_at           TEXT,
    result_tenant_id  TEXT                             -- the tenant recorded by this state's callback
);
CREATE INDEX consent_states_invite ON consent_states(invite_id);

CREATE TABLE consents (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id         TEXT NOT NULL REFERENCES tenants(tenant_id),
    customer_id       TEXT NOT NULL REFERENCES customers(id),
    invite_id         TEXT REFERENCES invites(id),
    consented_by_upn  TEXT,
    consented_by_oid  TEXT,
    consented_at      TEXT NOT NULL,
    flow              TEXT NOT NULL,
    roles_requested   TEXT NOT NULL DEFAULT '[]'       -- JSON array: what the app asked for at the time
);
CREATE INDEX consents_tenant ON consents(tenant_id, id);

ALTER TABLE tenants ADD COLUMN display_name TEXT;

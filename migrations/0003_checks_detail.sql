-- Checks keep what staff need to diagnose a tenant: the decoded token (header and claims, as jwt.ms
-- shows them; never the token itself or its signature) and the Defender API's answer. Tenants carry
-- when they are due for their next check.

ALTER TABLE checks ADD COLUMN token_header TEXT;    -- JSON object, or NULL when no token was issued
ALTER TABLE checks ADD COLUMN token_claims TEXT;    -- JSON object, or NULL
ALTER TABLE checks ADD COLUMN api_status INTEGER;   -- HTTP status of the API probe, NULL when not probed

ALTER TABLE tenants ADD COLUMN next_check_at TEXT;
CREATE INDEX tenants_next_check ON tenants(next_check_at);

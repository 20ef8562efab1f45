-- A check now asks one token per required API (Microsoft Graph, the Defender XDR API, Defender for
-- Endpoint). Each API's part of the check is kept as a JSON array: its status, the roles its token
-- carried and lacked, the probe's answer, how the token was trusted (signature or claims) and its decoded
-- header and claims. The check's own columns keep the tenant-wide result (the worst of its APIs).
-- Rows written before hold NULL here and bare role names in roles_present/roles_missing.

ALTER TABLE checks ADD COLUMN apis TEXT;

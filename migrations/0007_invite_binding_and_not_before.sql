-- An invite is bound to the tenant it onboarded: once completed, only that tenant can use its link again
-- (a re-consent); another tenant needs an invite of its own. Invites completed before this migration are
-- bound to the tenant of their first consent.
--
-- Tenants keep the time before which Microsoft asked not to be asked again (a 429's Retry-After), so no
-- check, sweep, `validate` run or other replica asks for that tenant's token sooner.

ALTER TABLE invites ADD COLUMN completed_tenant_id TEXT;   -- the tenant the invite onboarded (set with completed_at)
UPDATE invites SET completed_tenant_id =
    (SELECT c.tenant_id FROM consents c WHERE c.invite_id = invites.id ORDER BY c.id LIMIT 1)
    WHERE completed_at IS NOT NULL;

ALTER TABLE tenants ADD COLUMN not_before TEXT;            -- RFC 3339 UTC; NULL or past: no wait asked

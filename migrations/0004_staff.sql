-- The staff dashboard: indexes for the tenants page (search, filter, sort and pagination in SQL over
-- thousands of tenants), the invites page and its timelines, and the degradation banner.

CREATE INDEX customers_name ON customers(name);
CREATE INDEX tenants_consented_at ON tenants(consented_at);
CREATE INDEX tenants_last_checked_at ON tenants(last_checked_at);
CREATE INDEX invites_created_at ON invites(created_at);
CREATE INDEX audit_events_invite ON audit_events(invite_id, id);
CREATE INDEX audit_events_kind_at ON audit_events(kind, at);

-- One row that `/readyz` rewrites: the portal is ready only while the database takes a write.
CREATE TABLE write_probe (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    probed_at  TEXT NOT NULL
);

INSERT INTO write_probe (id, probed_at) VALUES (1, '');

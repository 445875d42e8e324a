-- The references incidents had in the system dsms replaced, kept by `dsms import` so people can
-- still find an incident by the number they know. One old reference names one incident.
CREATE TABLE incident_aliases (
    -- The old reference, trimmed and upper-cased (lookups normalise the same way).
    alias TEXT PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    -- The system it came from, as named in the import mapping.
    source TEXT NOT NULL,
    -- SHA-256 of the mapped export row: a re-run rewrites only incidents whose row changed.
    row_digest TEXT NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX incident_aliases_incident ON incident_aliases (incident_id);

-- Notes and work logs brought in by `dsms import`, by their id in the old system, so a re-run
-- updates them instead of adding them again.
CREATE TABLE imported_comments (
    source TEXT NOT NULL,
    external_id TEXT NOT NULL,
    comment_id BIGINT NOT NULL REFERENCES incident_comments (id),
    row_digest TEXT NOT NULL,
    PRIMARY KEY (source, external_id)
);

-- Access-token signing keys after `dsms admin rotate-signing-key`. Until the first rotation there
-- are no rows and tokens are signed with the key derived from auth.secret_key. A retired key
-- still verifies the tokens it signed until they expire, so a rotation logs nobody out.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    -- The key sealed under the master key; NULL for the derived key of before the first rotation.
    secret_sealed TEXT,
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
);

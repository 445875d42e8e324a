-- Files attached to incidents. The bytes are kept in the database itself, not in the data
-- directory: several server instances on one database need no shared file system, and a backup
-- of the database is a backup of every attachment. Sizes are capped by configuration
-- (incidents.max_attachment_mb). Attachments are never deleted, like the rest of the log.
-- `internal` marks a file attached to a work note: the raising organisation never sees it.
CREATE TABLE incident_attachments (
    id INTEGER PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL CHECK (size_bytes > 0),
    sha256 TEXT NOT NULL,
    data BLOB NOT NULL,
    internal BOOLEAN NOT NULL,
    uploaded_by_kind TEXT NOT NULL CHECK (uploaded_by_kind IN ('person', 'api_token')),
    uploaded_by_id BIGINT NOT NULL,
    uploaded_by_name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX incident_attachments_incident ON incident_attachments (incident_id, id);

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
INSERT INTO incident_attachments (id, incident_id, filename, content_type, size_bytes, sha256,
    data, internal, uploaded_by_kind, uploaded_by_id, uploaded_by_name, created_at)
SELECT id, ticket_id, filename, content_type, size_bytes, sha256, data, internal,
    uploaded_by_kind, uploaded_by_id, uploaded_by_name, created_at
FROM attachments WHERE ticket_kind = 'incident';
CREATE INDEX incident_attachments_incident ON incident_attachments (incident_id, id);
DROP TABLE attachments;

-- Files attached to any ticket, incidents and service requests alike, in one table so one set of
-- storage code serves both: `ticket_kind` and `ticket_id` name the ticket (no foreign key can
-- point at two tables), and `organisation_id`, the raising organisation (a ticket never
-- changes organisation), lets every read be scoped to the caller's organisation in SQL. The
-- bytes stay in the database, as incident attachments' did (see 000005). Incident attachments
-- move here with their ids, so downloads already linked keep working.
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    ticket_kind TEXT NOT NULL CHECK (ticket_kind IN ('incident', 'service_request')),
    ticket_id BIGINT NOT NULL,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
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
INSERT INTO attachments (id, ticket_kind, ticket_id, organisation_id, filename, content_type,
    size_bytes, sha256, data, internal, uploaded_by_kind, uploaded_by_id, uploaded_by_name,
    created_at)
SELECT a.id, 'incident', a.incident_id, i.organisation_id, a.filename, a.content_type,
    a.size_bytes, a.sha256, a.data, a.internal, a.uploaded_by_kind, a.uploaded_by_id,
    a.uploaded_by_name, a.created_at
FROM incident_attachments a JOIN incidents i ON i.id = a.incident_id;
DROP TABLE incident_attachments;
CREATE INDEX attachments_ticket ON attachments (ticket_kind, ticket_id, id);

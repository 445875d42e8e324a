-- The references service requests had in the system dsms replaced, kept by `dsms import` so
-- people can still find a request by the number they know. One old reference names one request.
CREATE TABLE service_request_aliases (
    -- The old reference, trimmed and upper-cased (lookups normalise the same way).
    alias TEXT PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES service_requests (id),
    -- The system it came from, as named in the import mapping.
    source TEXT NOT NULL,
    -- SHA-256 of the mapped export row: a re-run rewrites only requests whose row changed.
    row_digest TEXT NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX service_request_aliases_request ON service_request_aliases (request_id);

-- Notes and work logs of requests brought in by `dsms import`, by their id in the old system (and
-- the details note the importer writes, by the request's alias), so a re-run updates them
-- instead of adding them again.
CREATE TABLE imported_request_comments (
    source TEXT NOT NULL,
    external_id TEXT NOT NULL,
    comment_id BIGINT NOT NULL REFERENCES service_request_comments (id),
    row_digest TEXT NOT NULL,
    PRIMARY KEY (source, external_id)
);

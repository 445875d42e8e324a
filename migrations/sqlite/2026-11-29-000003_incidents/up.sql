-- The Incident Management Log. Nothing is ever deleted; references are derived from the id, so
-- they are unique and never reused.
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    raised_by_kind TEXT NOT NULL CHECK (raised_by_kind IN ('person', 'api_token')),
    raised_by_id BIGINT NOT NULL,
    raised_by_name TEXT NOT NULL,
    channel TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    category TEXT NOT NULL,
    subcategory TEXT,
    impact INTEGER NOT NULL CHECK (impact BETWEEN 1 AND 4),
    urgency INTEGER NOT NULL CHECK (urgency BETWEEN 1 AND 4),
    priority INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 5),
    status TEXT NOT NULL,
    assignment_group TEXT,
    assignee_id BIGINT REFERENCES people (id),
    resolution_code TEXT,
    major BOOLEAN NOT NULL DEFAULT FALSE,
    parent_id BIGINT REFERENCES incidents (id),
    duplicate_of_id BIGINT REFERENCES incidents (id),
    responded_at TIMESTAMP,
    resolved_at TIMESTAMP,
    closed_at TIMESTAMP,
    response_due_at TIMESTAMP,
    resolution_due_at TIMESTAMP,
    response_at_risk_at TIMESTAMP,
    resolution_at_risk_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX incidents_organisation ON incidents (organisation_id, id);
CREATE INDEX incidents_status_priority ON incidents (status, priority, id);
CREATE INDEX incidents_assignee ON incidents (assignee_id, status, id);
CREATE INDEX incidents_group ON incidents (assignment_group, status, id);
CREATE INDEX incidents_resolution_due ON incidents (resolution_due_at) WHERE resolved_at IS NULL;
CREATE INDEX incidents_resolution_at_risk ON incidents (resolution_at_risk_at) WHERE resolved_at IS NULL;
CREATE INDEX incidents_response_due ON incidents (response_due_at) WHERE responded_at IS NULL;
CREATE INDEX incidents_resolved ON incidents (status, resolved_at) WHERE status = 'resolved';
CREATE INDEX incidents_parent ON incidents (parent_id) WHERE parent_id IS NOT NULL;

-- The rest of what the SEC asks to be recorded, kept apart from the columns queues filter on.
CREATE TABLE incident_details (
    incident_id BIGINT PRIMARY KEY REFERENCES incidents (id),
    contact TEXT,
    region TEXT,
    fault_started_at TIMESTAMP,
    message_ids TEXT,
    priority_reason TEXT,
    resolution_notes TEXT
);

-- Affected devices and hubs (device ids, hub ids, MPxNs), for diagnostics by identifier.
CREATE TABLE incident_devices (
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    device_id TEXT NOT NULL,
    PRIMARY KEY (incident_id, device_id)
);
CREATE INDEX incident_devices_device ON incident_devices (device_id);

-- When the resolution clock did not run (awaiting the user; resolved then reopened).
CREATE TABLE incident_pauses (
    id INTEGER PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    reason TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP
);
CREATE INDEX incident_pauses_incident ON incident_pauses (incident_id);

-- The conversation: comments the raising organisation sees, and internal work notes it never does.
CREATE TABLE incident_comments (
    id INTEGER PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    author_kind TEXT NOT NULL,
    author_id BIGINT NOT NULL,
    author_name TEXT NOT NULL,
    body TEXT NOT NULL,
    internal BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX incident_comments_incident ON incident_comments (incident_id, id);

-- SLA events fire once: the primary key lets only one server instance record each.
CREATE TABLE incident_sla_events (
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    clock TEXT NOT NULL,
    kind TEXT NOT NULL,
    fired_at TIMESTAMP NOT NULL,
    PRIMARY KEY (incident_id, clock, kind)
);

-- Full-text search over titles, descriptions and comments (SQLite FTS5; rowid = incident id).
CREATE VIRTUAL TABLE incident_search USING fts5 (title, description, comments, tokenize = 'porter unicode61');

-- A retried create with the same Idempotency-Key returns the first response.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    status INTEGER NOT NULL,
    location TEXT,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, key)
);

-- Organisations' HTTPS endpoints that receive signed event deliveries. The signing secret is
-- sealed with a key derived from the server's master key and bound to the row, so a copy of the
-- database alone does not let anyone forge deliveries. 'deleted' endpoints are kept (secret
-- wiped) so their delivery history and audit trail still name them.
CREATE TABLE webhook_endpoints (
    id INTEGER PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    url TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    events TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'deleted')),
    disabled_reason TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    first_failure_at TIMESTAMP,
    created_by BIGINT NOT NULL REFERENCES people (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX webhook_endpoints_organisation ON webhook_endpoints (organisation_id, status, id);

-- One row per delivery attempt, the outcome an organisation sees when its receiver misbehaves.
-- outbox_id is the delivery id sent as Dsms-Delivery (the same for every retry); event_id is the
-- domain event's outbox row.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id),
    outbox_id BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    event_id BIGINT NOT NULL,
    attempt INTEGER NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms BIGINT NOT NULL,
    delivered BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

-- Reporting facts: one row per incident with what the reports aggregate, computed from the
-- incident and its pauses on the business calendar (SLA met or missed cannot be read from the
-- incident row once its clock has stopped). Kept up to date incrementally from incidents.updated_at,
-- so a report over a million incidents is one indexed aggregate, never a million clock readings.
CREATE TABLE report_incident_facts (
    incident_id BIGINT PRIMARY KEY REFERENCES incidents (id),
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    priority INTEGER NOT NULL,
    category TEXT NOT NULL,
    assignment_group TEXT,
    -- Local (business calendar zone) dates, so days, weeks and months follow the calendar.
    created_on DATE NOT NULL,
    resolved_on DATE,
    response_seconds BIGINT,
    response_met BOOLEAN,
    resolution_seconds BIGINT,
    resolution_met BOOLEAN,
    reopened BOOLEAN NOT NULL,
    source_version BIGINT NOT NULL,
    source_updated_at TIMESTAMP NOT NULL
);
CREATE INDEX report_facts_created ON report_incident_facts (created_on, priority, organisation_id, category, assignment_group);
CREATE INDEX report_facts_resolved ON report_incident_facts (resolved_on, priority, resolution_met, reopened, response_seconds, resolution_seconds) WHERE resolved_on IS NOT NULL;
CREATE INDEX report_facts_organisation_created ON report_incident_facts (organisation_id, created_on, priority);
CREATE INDEX report_facts_organisation_resolved ON report_incident_facts (organisation_id, resolved_on, priority, resolution_met) WHERE resolved_on IS NOT NULL;
CREATE INDEX report_facts_source ON report_incident_facts (source_updated_at);
-- The facts follow incidents by their last change.
CREATE INDEX incidents_updated ON incidents (updated_at, id);
-- The backlog counts open incidents by age.
CREATE INDEX incidents_open_age ON incidents (status, created_at, priority);

-- Which network operator is responsible for a device or hub, so diagnostics can show it the
-- incidents that name its devices. Maintained by the operator's staff.
CREATE TABLE network_devices (
    device_id TEXT PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    device_type TEXT,
    region TEXT,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX network_devices_organisation ON network_devices (organisation_id, device_id);

-- Scheduled reports: a person asks for a report by email at a cadence.
CREATE TABLE report_subscriptions (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id),
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    report TEXT NOT NULL,
    parameters TEXT NOT NULL,
    cadence TEXT NOT NULL,
    working_day INTEGER,
    created_at TIMESTAMP NOT NULL,
    cancelled_at TIMESTAMP
);
CREATE INDEX report_subscriptions_person ON report_subscriptions (person_id, id);

-- One delivery per subscription and period, written in the same transaction as the email's
-- outbox row: the key lets only one server process send each period's report.
CREATE TABLE report_deliveries (
    subscription_id BIGINT NOT NULL REFERENCES report_subscriptions (id),
    period_start DATE NOT NULL,
    outbox_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (subscription_id, period_start)
);

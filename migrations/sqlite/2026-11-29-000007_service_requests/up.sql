-- The service catalogue: what organisations may ask the operator for. An item's definition (its
-- form, who may request it, approvals, fulfilment tasks, target) lives in immutable versions;
-- editing an item adds a version, so requests keep the form they were raised against.
CREATE TABLE catalogue_items (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    current_version_id BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE catalogue_item_versions (
    id INTEGER PRIMARY KEY,
    item_id BIGINT NOT NULL REFERENCES catalogue_items (id),
    number INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (item_id, number)
);

-- Service requests. References are derived from the id, which is never reused (nothing is
-- deleted, and SQLite's AUTOINCREMENT / PostgreSQL's identity never hand an id out twice).
-- The answers are kept as given, with the form version they were validated against.
CREATE TABLE service_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL UNIQUE,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    item_id BIGINT NOT NULL REFERENCES catalogue_items (id),
    item_version_id BIGINT NOT NULL REFERENCES catalogue_item_versions (id),
    raised_by_kind TEXT NOT NULL CHECK (raised_by_kind IN ('person', 'api_token')),
    raised_by_id BIGINT NOT NULL,
    raised_by_name TEXT NOT NULL,
    channel TEXT NOT NULL,
    summary TEXT NOT NULL,
    contact TEXT,
    answers TEXT NOT NULL,
    status TEXT NOT NULL,
    fulfilled_at TIMESTAMP,
    closed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX service_requests_organisation ON service_requests (organisation_id, id);
CREATE INDEX service_requests_status ON service_requests (status, id);

-- One row per approval step of a request, decided in order.
CREATE TABLE service_request_approvals (
    id INTEGER PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES service_requests (id),
    step INTEGER NOT NULL,
    approver TEXT NOT NULL,
    status TEXT NOT NULL,
    decided_by_kind TEXT,
    decided_by_id BIGINT,
    decided_by_name TEXT,
    decided_at TIMESTAMP,
    comment TEXT,
    UNIQUE (request_id, step)
);

-- The fulfilment tasks of a request, each for a resolver group.
CREATE TABLE service_request_tasks (
    id INTEGER PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES service_requests (id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    resolver_group TEXT NOT NULL,
    status TEXT NOT NULL,
    completed_by_id BIGINT,
    completed_by_name TEXT,
    completed_at TIMESTAMP,
    notes TEXT,
    UNIQUE (request_id, position)
);
CREATE INDEX service_request_tasks_group ON service_request_tasks (resolver_group, status);

-- The conversation: comments the raising organisation sees, and internal work notes it never does.
CREATE TABLE service_request_comments (
    id INTEGER PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES service_requests (id),
    author_kind TEXT NOT NULL,
    author_id BIGINT NOT NULL,
    author_name TEXT NOT NULL,
    body TEXT NOT NULL,
    internal BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX service_request_comments_request ON service_request_comments (request_id, id);

-- The seed catalogue (domain.md, Service requests): data an administrator changes through the
-- API, each edit becoming a new form version. Every item starts at form version 1.
INSERT INTO catalogue_items (code, active, created_at, updated_at, version) VALUES
    ('self_service_access', TRUE, '2026-11-29 00:00:00', '2026-11-29 00:00:00', 1),
    ('registration_data', TRUE, '2026-11-29 00:00:00', '2026-11-29 00:00:00', 1),
    ('device_diagnostics', TRUE, '2026-11-29 00:00:00', '2026-11-29 00:00:00', 1),
    ('test_services', TRUE, '2026-11-29 00:00:00', '2026-11-29 00:00:00', 1),
    ('hub_logistics', TRUE, '2026-11-29 00:00:00', '2026-11-29 00:00:00', 1),
    ('information', TRUE, '2026-11-29 00:00:00', '2026-11-29 00:00:00', 1),
    ('report_request', TRUE, '2026-11-29 00:00:00', '2026-11-29 00:00:00', 1);

INSERT INTO catalogue_item_versions (item_id, number, definition, created_by_name, created_at)
SELECT id, 1, CASE code
    WHEN 'self_service_access' THEN '{"name":"Self-service access","description":"Add, change or remove a person''s access to the self-service interface for your organisation. Your organisation''s administrator approves it.","requesters":{"sec_roles":[],"roles":[]},"fields":[{"key":"action","label":"What to do","type":"choice","required":true,"options":["add","change","remove"]},{"key":"person_name","label":"The person''s name","type":"text","required":true,"max_length":200},{"key":"person_email","label":"The person''s email address","type":"text","required":true,"max_length":254,"pattern":"^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"},{"key":"roles","label":"Roles to grant","type":"multi_choice","options":["org_admin","org_user","org_reporter"]},{"key":"reason","label":"Why","type":"text","max_length":2000}],"approvals":[{"approver":"organisation_admin"}],"tasks":[{"name":"Update the person''s access","group":"service-desk"}],"sla_working_days":5}'
    WHEN 'registration_data' THEN '{"name":"Registration data query/correction","description":"A question or a correction about the registration data of listed meter points.","requesters":{"sec_roles":[],"roles":[]},"fields":[{"key":"request_type","label":"Query or correction","type":"choice","required":true,"options":["query","correction"]},{"key":"mpxns","label":"Meter points (MPAN or MPRN)","type":"identifiers","identifier":"mpxn","required":true,"max_items":500},{"key":"details","label":"What is wrong or what you want to know","type":"text","required":true,"max_length":5000}],"approvals":[{"approver":"operator"}],"tasks":[{"name":"Review the registration data","group":"data-service-provider"}],"sla_working_days":5}'
    WHEN 'device_diagnostics' THEN '{"name":"Device / hub diagnostics request","description":"Diagnostics on listed devices or communications hubs.","requesters":{"sec_roles":[],"roles":[]},"fields":[{"key":"device_ids","label":"Device or hub ids","type":"identifiers","identifier":"device_id","required":true,"max_items":100},{"key":"diagnostic","label":"Diagnostics wanted","type":"choice","required":true,"options":["connectivity","firmware","event_log","full"]},{"key":"symptoms","label":"What you see","type":"text","required":true,"max_length":5000},{"key":"wanted_by","label":"Wanted by","type":"date","not_in_past":true}],"approvals":[],"tasks":[{"name":"Run the diagnostics","group":"second-line"},{"name":"Report the findings","group":"service-desk"}],"sla_working_days":5}'
    WHEN 'test_services' THEN '{"name":"Test and environment services","description":"A slot in a test environment, test certificates or test devices. Your organisation''s administrator, then the operator, approve it.","requesters":{"sec_roles":[],"roles":[]},"fields":[{"key":"service","label":"Service","type":"choice","required":true,"options":["environment_slot","test_certificates","test_devices"]},{"key":"start_date","label":"From","type":"date","not_in_past":true},{"key":"working_days","label":"For how many working days","type":"number","integer":true,"min":1,"max":20},{"key":"quantity","label":"How many certificates or devices","type":"number","integer":true,"min":1,"max":50},{"key":"details","label":"Details","type":"text","max_length":2000}],"approvals":[{"approver":"organisation_admin"},{"approver":"operator"}],"tasks":[{"name":"Allocate the test service","group":"test-services"}],"sla_working_days":5}'
    WHEN 'hub_logistics' THEN '{"name":"Communications hub support materials / logistics query","description":"Support materials for communications hubs, or a question about their delivery or return.","requesters":{"sec_roles":[],"roles":[]},"fields":[{"key":"topic","label":"Topic","type":"choice","required":true,"options":["support_materials","delivery","returns","other"]},{"key":"hub_ids","label":"Hub ids concerned","type":"identifiers","identifier":"device_id","max_items":100},{"key":"question","label":"Your question","type":"text","required":true,"max_length":5000}],"approvals":[],"tasks":[{"name":"Answer the logistics query","group":"communications-hub-provider"}],"sla_working_days":5}'
    WHEN 'information' THEN '{"name":"Information request","description":"A general question to the service desk.","requesters":{"sec_roles":[],"roles":[]},"fields":[{"key":"question","label":"Your question","type":"text","required":true,"max_length":5000}],"approvals":[],"tasks":[{"name":"Answer the question","group":"service-desk"}],"sla_working_days":5}'
    ELSE '{"name":"Report request","description":"An ad-hoc report that is not in the standard set.","requesters":{"sec_roles":[],"roles":[]},"fields":[{"key":"description","label":"What the report should show","type":"text","required":true,"max_length":5000},{"key":"period_from","label":"Period from","type":"date"},{"key":"period_to","label":"Period to","type":"date"},{"key":"format","label":"Format","type":"choice","required":true,"options":["csv","pdf"]}],"approvals":[{"approver":"operator"}],"tasks":[{"name":"Produce the report","group":"reporting"}],"sla_working_days":5}'
    END, 'seed catalogue', '2026-11-29 00:00:00'
FROM catalogue_items;

UPDATE catalogue_items SET current_version_id = (
    SELECT v.id FROM catalogue_item_versions v WHERE v.item_id = catalogue_items.id AND v.number = 1
);

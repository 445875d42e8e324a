-- The operator and the organisations that use the network (SEC parties).
CREATE TABLE organisations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('operator', 'user')),
    sec_party_id TEXT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'withdrawn')),
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX organisations_name ON organisations (lower(name));
-- There is exactly one operator; this also settles a race between instances bootstrapping at once.
CREATE UNIQUE INDEX organisations_one_operator ON organisations (kind) WHERE kind = 'operator';

CREATE TABLE organisation_sec_roles (
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    sec_role TEXT NOT NULL,
    PRIMARY KEY (organisation_id, sec_role)
);

CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX people_organisation ON people (organisation_id);

CREATE TABLE person_roles (
    person_id BIGINT NOT NULL REFERENCES people (id),
    role TEXT NOT NULL,
    PRIMARY KEY (person_id, role)
);

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

-- People sign in with a password and TOTP. password_hash is '!' until an invited person chooses
-- one; totp_secret is sealed with the server's key and bound to the row; totp_last_step is the
-- last accepted TOTP time step, so no code is accepted twice.
CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    password_changed_at TIMESTAMP,
    totp_secret TEXT,
    totp_confirmed_at TIMESTAMP,
    totp_last_step BIGINT,
    last_sign_in_at TIMESTAMP,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX people_organisation ON people (organisation_id, id);

CREATE TABLE person_roles (
    person_id BIGINT NOT NULL REFERENCES people (id),
    role TEXT NOT NULL,
    PRIMARY KEY (person_id, role)
);

-- Single-use recovery codes, stored as SHA-256 digests of 80-bit random codes.
CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id),
    code_digest TEXT NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX recovery_codes_person ON recovery_codes (person_id);

-- The step between password and TOTP: a single-use, short-lived challenge. During enrolment it
-- holds the sealed secret being confirmed.
CREATE TABLE mfa_challenges (
    id INTEGER PRIMARY KEY,
    token_digest TEXT NOT NULL UNIQUE,
    person_id BIGINT NOT NULL REFERENCES people (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('verify', 'enrol')),
    pending_secret TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);

-- Server-side sessions: access tokens name one (sid) and stop working the moment it is revoked.
-- Web sessions are found by the digest of their cookie.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id),
    kind TEXT NOT NULL CHECK (kind IN ('api', 'web')),
    token_digest TEXT UNIQUE,
    csrf_token TEXT,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_person ON sessions (person_id);

-- Organisations' API tokens, stored as SHA-256 digests of 256-bit random tokens.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES people (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    last_used_at TIMESTAMP
);
CREATE INDEX api_tokens_organisation ON api_tokens (organisation_id, id);

-- Single-use links sent by email: invitations and password resets.
CREATE TABLE account_tokens (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('invitation', 'password_reset')),
    token_digest TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX account_tokens_person ON account_tokens (person_id);

-- Sign-in failures per account name and per client address, shared by every server instance.
-- Keyed by the name tried, whether or not such an account exists, so throttling reveals nothing.
CREATE TABLE sign_in_throttles (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_started_at TIMESTAMP NOT NULL,
    last_failure_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP
);

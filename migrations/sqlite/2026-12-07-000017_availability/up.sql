-- The self-service interface's own availability, a SEC code performance measure. Every server
-- instance adds what it saw in each minute (readiness checks run and failed, API requests
-- handled and answered with a server error) to that minute's one row: the primary key makes
-- the instances share the row instead of writing one each.
CREATE TABLE availability_samples (
    minute TIMESTAMP PRIMARY KEY,
    checks BIGINT NOT NULL,
    checks_failed BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    server_errors BIGINT NOT NULL
);

-- Planned maintenance, announced by the operator's administrators: its minutes are left out of
-- the availability measure. A cancelled window is kept (cancelled_at set) and no longer counts.
CREATE TABLE maintenance_windows (
    id INTEGER PRIMARY KEY,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    reason TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    cancelled_at TIMESTAMP,
    CHECK (ends_at > starts_at)
);
CREATE INDEX maintenance_windows_period ON maintenance_windows (starts_at, ends_at);

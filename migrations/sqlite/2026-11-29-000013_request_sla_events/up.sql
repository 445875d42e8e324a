-- A service request's SLA at-risk and breach events fire once: the primary key lets only one
-- server instance record each, however many run the sweep.
CREATE TABLE service_request_sla_events (
    request_id BIGINT NOT NULL REFERENCES service_requests (id),
    clock TEXT NOT NULL,
    kind TEXT NOT NULL,
    fired_at TIMESTAMP NOT NULL,
    PRIMARY KEY (request_id, clock, kind)
);

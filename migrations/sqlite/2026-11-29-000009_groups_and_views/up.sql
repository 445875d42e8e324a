-- Resolver groups (second and third line, the hub provider, security, ...) and who belongs to
-- them, so agents get a "my groups" queue. An incident names its group by `name` (text), so a
-- group's name never changes once incidents may carry it.
CREATE TABLE resolver_groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE group_members (
    group_id BIGINT NOT NULL REFERENCES resolver_groups (id),
    person_id BIGINT NOT NULL REFERENCES people (id),
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, person_id)
);
CREATE INDEX group_members_person ON group_members (person_id);
-- A person's named queue filters: the workspace's query string, kept as the page wrote it.
CREATE TABLE saved_views (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id),
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (person_id, name)
);
-- The desk's dashboard counts arrivals and resolutions per day over recent weeks.
CREATE INDEX incidents_created ON incidents (created_at);
CREATE INDEX incidents_resolved_at ON incidents (resolved_at) WHERE resolved_at IS NOT NULL;

DROP INDEX incidents_resolved_at;
DROP INDEX incidents_created;
DROP TABLE saved_views;
DROP TABLE group_members;
DROP TABLE resolver_groups;

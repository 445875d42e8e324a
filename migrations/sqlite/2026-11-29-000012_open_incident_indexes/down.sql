DROP INDEX incidents_open_group;
DROP INDEX incidents_open_assignee;
DROP INDEX incidents_open_organisation;
DROP INDEX incidents_open;

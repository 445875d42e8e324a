DROP INDEX incidents_open_organisation;
DROP INDEX incidents_open;

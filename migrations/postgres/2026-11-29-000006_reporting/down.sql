DROP TABLE report_deliveries;
DROP TABLE report_subscriptions;
DROP TABLE network_devices;
DROP INDEX incidents_open_age;
DROP INDEX incidents_updated;
DROP TABLE report_incident_facts;

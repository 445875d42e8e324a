DROP TABLE idempotency_keys;
DROP TABLE incident_search;
DROP TABLE incident_sla_events;
DROP TABLE incident_comments;
DROP TABLE incident_pauses;
DROP TABLE incident_devices;
DROP TABLE incident_details;
DROP TABLE incidents;

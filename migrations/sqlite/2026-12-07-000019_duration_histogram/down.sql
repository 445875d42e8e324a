CREATE INDEX report_facts_priority_resolved ON report_incident_facts
    (priority, resolved_on, response_seconds, resolution_seconds) WHERE resolved_on IS NOT NULL;
DROP INDEX report_facts_organisation_buckets;
DROP INDEX report_facts_resolution_bucket;
DROP INDEX report_facts_response_bucket;
DROP TABLE report_duration_histogram;
ALTER TABLE report_incident_facts DROP COLUMN resolution_bucket;
ALTER TABLE report_incident_facts DROP COLUMN response_bucket;

CREATE INDEX report_facts_created ON report_incident_facts (created_on, priority, organisation_id, category, assignment_group);
CREATE INDEX report_facts_resolved ON report_incident_facts (resolved_on, priority, resolution_met, reopened, response_seconds, resolution_seconds) WHERE resolved_on IS NOT NULL;
CREATE INDEX report_facts_organisation_created ON report_incident_facts (organisation_id, created_on, priority);
CREATE INDEX report_facts_organisation_resolved ON report_incident_facts (organisation_id, resolved_on, priority, resolution_met) WHERE resolved_on IS NOT NULL;
CREATE INDEX report_facts_priority_resolved ON report_incident_facts
    (priority, resolved_on, response_seconds, resolution_seconds) WHERE resolved_on IS NOT NULL;
DROP INDEX report_facts_organisation_resolution_bucket;
DROP INDEX report_facts_organisation_response_bucket;
DROP INDEX report_facts_resolution_bucket;
DROP INDEX report_facts_response_bucket;
DROP TABLE report_duration_histogram;
ALTER TABLE report_incident_facts DROP COLUMN resolution_bucket;
ALTER TABLE report_incident_facts DROP COLUMN response_bucket;

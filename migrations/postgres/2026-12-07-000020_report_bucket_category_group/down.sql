DROP INDEX report_facts_organisation_resolution_bucket;
DROP INDEX report_facts_organisation_response_bucket;
CREATE INDEX report_facts_organisation_response_bucket ON report_incident_facts
    (organisation_id, priority, response_bucket, resolved_on, response_seconds)
    WHERE resolved_on IS NOT NULL;
CREATE INDEX report_facts_organisation_resolution_bucket ON report_incident_facts
    (organisation_id, priority, resolution_bucket, resolved_on, resolution_seconds)
    WHERE resolved_on IS NOT NULL;
DROP INDEX report_facts_group_resolution_bucket;
DROP INDEX report_facts_group_response_bucket;
DROP INDEX report_facts_category_resolution_bucket;
DROP INDEX report_facts_category_response_bucket;

DROP INDEX report_facts_priority_resolved;
DROP TABLE report_rollup;

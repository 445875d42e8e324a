DROP TABLE outbox;
DROP TABLE audit_log;

DROP TABLE imported_request_comments;
DROP TABLE service_request_aliases;

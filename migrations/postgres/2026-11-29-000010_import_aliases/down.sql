DROP TABLE signing_keys;
DROP TABLE imported_comments;
DROP TABLE incident_aliases;

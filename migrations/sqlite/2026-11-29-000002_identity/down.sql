DROP TABLE person_roles;
DROP TABLE people;
DROP TABLE organisation_sec_roles;
DROP TABLE organisations;

DROP TABLE incident_attachments;

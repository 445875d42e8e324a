DROP TABLE service_request_comments;
DROP TABLE service_request_tasks;
DROP TABLE service_request_approvals;
DROP TABLE service_requests;
DROP TABLE catalogue_item_versions;
DROP TABLE catalogue_items;

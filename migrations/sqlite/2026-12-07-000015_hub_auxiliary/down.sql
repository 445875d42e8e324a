DROP TABLE hub_order_auxiliary_lines;
DROP TABLE hub_auxiliary_items;

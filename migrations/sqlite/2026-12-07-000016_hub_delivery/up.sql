-- Hub delivery: the supplier's plan of consignments not yet dispatched (amendable until a
-- cut-off before each delivery date), deliveries deemed accepted when the receiver let the
-- confirmation window lapse, and discrepancy cases the operator investigates and settles.

CREATE TABLE hub_planned_consignments (
    id INTEGER PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES hub_orders (id),
    delivery_date TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX hub_planned_consignments_order ON hub_planned_consignments (order_id, delivery_date);

-- Set once, by the sweep, when a dispatched consignment was not confirmed within the window.
ALTER TABLE hub_consignments ADD COLUMN deemed_accepted_at TIMESTAMP;
-- The sweep reads dispatched consignments by delivery date.
CREATE INDEX hub_consignments_awaiting ON hub_consignments (status, delivery_date);

ALTER TABLE hub_discrepancies ADD COLUMN outcome TEXT;
ALTER TABLE hub_discrepancies ADD COLUMN settlement_note TEXT;
ALTER TABLE hub_discrepancies ADD COLUMN settled_at TIMESTAMP;
ALTER TABLE hub_discrepancies ADD COLUMN settled_by_name TEXT;
ALTER TABLE hub_discrepancies ADD COLUMN organisation_id BIGINT;
ALTER TABLE hub_discrepancies ADD COLUMN updated_at TIMESTAMP;
ALTER TABLE hub_discrepancies ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
UPDATE hub_discrepancies SET organisation_id = (SELECT organisation_id FROM hub_orders WHERE hub_orders.id = hub_discrepancies.order_id), updated_at = created_at;
CREATE INDEX hub_discrepancies_status ON hub_discrepancies (organisation_id, status, id);

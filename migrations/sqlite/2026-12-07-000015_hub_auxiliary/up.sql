-- Auxiliary equipment the operator offers alongside hubs, in a catalogue its staff maintain:
-- each item's pack size, per-order limits and the dates it may be delivered are data, so the
-- rules change without a code change. Suppliers order items as lines of a hub order, which
-- carries the lifecycle. Dates are ISO text (YYYY-MM-DD).
CREATE TABLE hub_auxiliary_items (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    pack_size BIGINT NOT NULL CHECK (pack_size >= 1),
    minimum_quantity BIGINT NOT NULL CHECK (minimum_quantity >= 1),
    maximum_quantity BIGINT CHECK (maximum_quantity IS NULL OR maximum_quantity >= minimum_quantity),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    available_from TEXT NOT NULL,
    available_until TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);

-- One item on a hub order: at most one line per item, replaced as a whole on amendment.
CREATE TABLE hub_order_auxiliary_lines (
    order_id BIGINT NOT NULL REFERENCES hub_orders (id),
    item_id BIGINT NOT NULL REFERENCES hub_auxiliary_items (id),
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, item_id)
);
CREATE INDEX hub_order_auxiliary_lines_item ON hub_order_auxiliary_lines (item_id);

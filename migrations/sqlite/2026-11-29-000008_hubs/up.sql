-- Communications hubs: variants, delivery locations, forecasts, orders with their consignments
-- and the serial numbers they carried, discrepancies, and returns. References are derived from
-- ids, so they are unique and never reused. Dates are ISO text (YYYY-MM-DD), months YYYY-MM.

-- The hub variants the operator offers, by radio technology, region and HAN band.
CREATE TABLE hub_variants (
    id INTEGER PRIMARY KEY,
    product_code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    radio_technology TEXT NOT NULL,
    region TEXT NOT NULL CHECK (region IN ('north', 'central', 'south')),
    han_band TEXT NOT NULL CHECK (han_band IN ('single', 'dual')),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
INSERT INTO hub_variants (product_code, name, radio_technology, region, han_band, active, created_at, updated_at) VALUES
    ('CH-N-LRR-SB', 'North long-range radio, single-band HAN', 'long_range_radio', 'north', 'single', TRUE, '2026-11-29 00:00:00', '2026-11-29 00:00:00'),
    ('CH-N-LRR-DB', 'North long-range radio, dual-band HAN', 'long_range_radio', 'north', 'dual', TRUE, '2026-11-29 00:00:00', '2026-11-29 00:00:00'),
    ('CH-C-2G3G-SB', 'Central 2G/3G, single-band HAN', 'cellular_2g3g', 'central', 'single', TRUE, '2026-11-29 00:00:00', '2026-11-29 00:00:00'),
    ('CH-C-2G3G-DB', 'Central 2G/3G, dual-band HAN', 'cellular_2g3g', 'central', 'dual', TRUE, '2026-11-29 00:00:00', '2026-11-29 00:00:00'),
    ('CH-S-2G3G-SB', 'South 2G/3G, single-band HAN', 'cellular_2g3g', 'south', 'single', TRUE, '2026-11-29 00:00:00', '2026-11-29 00:00:00'),
    ('CH-S-2G3G-DB', 'South 2G/3G, dual-band HAN', 'cellular_2g3g', 'south', 'dual', TRUE, '2026-11-29 00:00:00', '2026-11-29 00:00:00'),
    ('CH-C-4G-SB', 'Central 4G, single-band HAN', 'cellular_4g', 'central', 'single', TRUE, '2026-11-29 00:00:00', '2026-11-29 00:00:00'),
    ('CH-C-4G-DB', 'Central 4G, dual-band HAN', 'cellular_4g', 'central', 'dual', TRUE, '2026-11-29 00:00:00', '2026-11-29 00:00:00'),
    ('CH-S-4G-SB', 'South 4G, single-band HAN', 'cellular_4g', 'south', 'single', TRUE, '2026-11-29 00:00:00', '2026-11-29 00:00:00'),
    ('CH-S-4G-DB', 'South 4G, dual-band HAN', 'cellular_4g', 'south', 'dual', TRUE, '2026-11-29 00:00:00', '2026-11-29 00:00:00');

-- Where an organisation takes deliveries; orders may use a location once the operator approved it.
CREATE TABLE delivery_locations (
    id INTEGER PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    postcode TEXT NOT NULL,
    contact_name TEXT NOT NULL,
    contact_phone TEXT NOT NULL,
    contact_email TEXT,
    delivery_days TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decision_note TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX delivery_locations_organisation ON delivery_locations (organisation_id, id);

-- Every forecast submission is kept: the sequence numbers an organisation's versions.
CREATE TABLE hub_forecasts (
    id INTEGER PRIMARY KEY,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    sequence BIGINT NOT NULL,
    cycle_month TEXT NOT NULL,
    due_on TEXT NOT NULL,
    late BOOLEAN NOT NULL,
    submitted_by_kind TEXT NOT NULL,
    submitted_by_id BIGINT NOT NULL,
    submitted_by_name TEXT NOT NULL,
    submitted_at TIMESTAMP NOT NULL,
    UNIQUE (organisation_id, sequence)
);
CREATE INDEX hub_forecasts_organisation_time ON hub_forecasts (organisation_id, submitted_at);

CREATE TABLE hub_forecast_lines (
    forecast_id BIGINT NOT NULL REFERENCES hub_forecasts (id),
    month TEXT NOT NULL,
    variant_id BIGINT NOT NULL REFERENCES hub_variants (id),
    quantity BIGINT NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (forecast_id, month, variant_id)
);

CREATE TABLE hub_orders (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    location_id BIGINT NOT NULL REFERENCES delivery_locations (id),
    variant_id BIGINT NOT NULL REFERENCES hub_variants (id),
    delivery_month TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    status TEXT NOT NULL,
    rules_effective_from TEXT NOT NULL,
    forecast_id BIGINT REFERENCES hub_forecasts (id),
    decision_reason TEXT,
    placed_by_kind TEXT NOT NULL,
    placed_by_id BIGINT NOT NULL,
    placed_by_name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX hub_orders_organisation ON hub_orders (organisation_id, id);
CREATE INDEX hub_orders_month ON hub_orders (organisation_id, delivery_month, variant_id);

CREATE TABLE hub_consignments (
    id INTEGER PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES hub_orders (id),
    delivery_date TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('dispatched', 'delivered', 'discrepancy')),
    confirmed_at TIMESTAMP,
    confirmed_by_name TEXT,
    notes TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX hub_consignments_order ON hub_consignments (order_id, id);

-- Every hub dispatched, by serial number: which organisation it went to and where it stands.
CREATE TABLE hub_serials (
    serial TEXT PRIMARY KEY,
    variant_id BIGINT NOT NULL REFERENCES hub_variants (id),
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    order_id BIGINT NOT NULL REFERENCES hub_orders (id),
    consignment_id BIGINT NOT NULL REFERENCES hub_consignments (id),
    status TEXT NOT NULL CHECK (status IN ('dispatched', 'delivered', 'missing', 'damaged'))
);
CREATE INDEX hub_serials_consignment ON hub_serials (consignment_id);
CREATE INDEX hub_serials_organisation ON hub_serials (organisation_id);

-- Shortages, excess and damage a receiver reported: each opens a case for the operator.
CREATE TABLE hub_discrepancies (
    id INTEGER PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES hub_orders (id),
    consignment_id BIGINT NOT NULL REFERENCES hub_consignments (id),
    kind TEXT NOT NULL CHECK (kind IN ('shortage', 'excess', 'damage')),
    serials TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX hub_discrepancies_order ON hub_discrepancies (order_id);

CREATE TABLE hub_returns (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    status TEXT NOT NULL,
    incident_id BIGINT REFERENCES incidents (id),
    quantity BIGINT NOT NULL,
    charge_pence BIGINT,
    credit_pence BIGINT,
    notes TEXT,
    requested_by_kind TEXT NOT NULL,
    requested_by_id BIGINT NOT NULL,
    requested_by_name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX hub_returns_organisation ON hub_returns (organisation_id, id);

-- A serial is returned at most once: its primary key refuses a second return.
CREATE TABLE hub_return_lines (
    serial TEXT PRIMARY KEY REFERENCES hub_serials (serial),
    return_id BIGINT NOT NULL REFERENCES hub_returns (id),
    reason TEXT NOT NULL,
    faulty BOOLEAN NOT NULL,
    found TEXT CHECK (found IN ('before_installation', 'after_installation')),
    fault_confirmed BOOLEAN,
    redeployable BOOLEAN,
    settlement TEXT CHECK (settlement IN ('charge', 'credit')),
    amount_pence BIGINT
);
CREATE INDEX hub_return_lines_return ON hub_return_lines (return_id, serial);

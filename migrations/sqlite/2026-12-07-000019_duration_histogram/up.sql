-- Exact medians without sorting a month of facts. Each fact stores the duration bucket of its
-- response and resolution clock times (one bucket per second below 16 s, then eight per
-- doubling: crates/reporting/src/histogram.rs `bucket_of`), and report_duration_histogram counts
-- the resolved facts per local day and month of resolution, priority, clock and bucket, kept in
-- the same transaction as the facts. A median finds the bucket holding its middle rank from the
-- counts, then reads only that bucket's facts in order through report_facts_*_bucket.
ALTER TABLE report_incident_facts ADD COLUMN response_bucket INTEGER;
ALTER TABLE report_incident_facts ADD COLUMN resolution_bucket INTEGER;

-- Each bucket's lower bound, to give the facts already computed their buckets as the code would.
CREATE TABLE duration_bucket_bounds (bucket INTEGER PRIMARY KEY, lower_seconds BIGINT NOT NULL);
WITH RECURSIVE
    seconds(s) AS (SELECT 0 UNION ALL SELECT s + 1 FROM seconds WHERE s < 15),
    octaves(e) AS (SELECT 4 UNION ALL SELECT e + 1 FROM octaves WHERE e < 40),
    steps(m) AS (SELECT 0 UNION ALL SELECT m + 1 FROM steps WHERE m < 7)
INSERT INTO duration_bucket_bounds
SELECT s, s FROM seconds
UNION ALL
SELECT 16 + (e - 4) * 8 + m, CAST(8 + m AS BIGINT) << (e - 3) FROM octaves CROSS JOIN steps;
CREATE UNIQUE INDEX duration_bucket_bounds_lower ON duration_bucket_bounds (lower_seconds);

UPDATE report_incident_facts SET
    response_bucket = CASE
        WHEN response_seconds IS NULL THEN NULL
        WHEN response_seconds <= 0 THEN 0
        ELSE (SELECT b.bucket FROM duration_bucket_bounds b
              WHERE b.lower_seconds <= report_incident_facts.response_seconds
              ORDER BY b.lower_seconds DESC LIMIT 1)
    END,
    resolution_bucket = CASE
        WHEN resolution_seconds IS NULL THEN NULL
        WHEN resolution_seconds <= 0 THEN 0
        ELSE (SELECT b.bucket FROM duration_bucket_bounds b
              WHERE b.lower_seconds <= report_incident_facts.resolution_seconds
              ORDER BY b.lower_seconds DESC LIMIT 1)
    END;
DROP TABLE duration_bucket_bounds;

CREATE TABLE report_duration_histogram (
    grain TEXT NOT NULL CHECK (grain IN ('day', 'month')),
    period_start DATE NOT NULL,
    priority INTEGER NOT NULL,
    clock TEXT NOT NULL CHECK (clock IN ('response', 'resolution')),
    bucket INTEGER NOT NULL,
    incidents BIGINT NOT NULL,
    PRIMARY KEY (grain, period_start, priority, clock, bucket)
) WITHOUT ROWID;

INSERT INTO report_duration_histogram
SELECT grain, period_start, priority, clock, bucket, COUNT(*)
FROM (
    SELECT g.grain,
           CASE g.grain WHEN 'day' THEN f.resolved_on ELSE date(f.resolved_on, 'start of month') END
               AS period_start,
           f.priority, c.clock,
           CASE c.clock WHEN 'response' THEN f.response_bucket ELSE f.resolution_bucket END
               AS bucket
    FROM report_incident_facts f
    CROSS JOIN (SELECT 'day' AS grain UNION ALL SELECT 'month') g
    CROSS JOIN (SELECT 'response' AS clock UNION ALL SELECT 'resolution') c
    WHERE f.resolved_on IS NOT NULL
) AS contributions
WHERE bucket IS NOT NULL
GROUP BY grain, period_start, priority, clock, bucket;

-- A median's read: one priority, one bucket, the period's days, in clock-time order; and the
-- same within one organisation, whose bucket counts (an organisation's figures are not in the
-- shared histogram) are read from its facts through these indexes alone.
CREATE INDEX report_facts_response_bucket ON report_incident_facts
    (priority, response_bucket, resolved_on, response_seconds) WHERE resolved_on IS NOT NULL;
CREATE INDEX report_facts_resolution_bucket ON report_incident_facts
    (priority, resolution_bucket, resolved_on, resolution_seconds) WHERE resolved_on IS NOT NULL;
CREATE INDEX report_facts_organisation_response_bucket ON report_incident_facts
    (organisation_id, priority, response_bucket, resolved_on, response_seconds)
    WHERE resolved_on IS NOT NULL;
CREATE INDEX report_facts_organisation_resolution_bucket ON report_incident_facts
    (organisation_id, priority, resolution_bucket, resolved_on, resolution_seconds)
    WHERE resolved_on IS NOT NULL;
-- Since 000018 the counting reports read report_rollup and, now, medians the buckets: no query
-- reads the facts through these any more, and each cost every facts write. Without statistics
-- SQLite also chose report_facts_organisation_resolved over the covering bucket indexes.
DROP INDEX report_facts_priority_resolved;
DROP INDEX report_facts_created;
DROP INDEX report_facts_resolved;
DROP INDEX report_facts_organisation_created;
DROP INDEX report_facts_organisation_resolved;

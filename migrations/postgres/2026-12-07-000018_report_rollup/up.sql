-- Report totals kept incrementally beside the per-incident facts, in the same transaction as
-- each change to them: per local day and per local month, organisation, priority, category and
-- resolver group ('' for none, so the key has no NULL), how many incidents were raised on that
-- day or in that month and, of those resolved then, how many met the resolution target, how
-- many had been reopened, and the count and sum of their response and resolution clock
-- seconds. A twelve-month report reads a few thousand month rows (plus day rows for a partial
-- month) instead of a million facts.
CREATE TABLE report_rollup (
    grain TEXT NOT NULL CHECK (grain IN ('day', 'month')),
    period_start DATE NOT NULL,
    organisation_id BIGINT NOT NULL,
    priority INTEGER NOT NULL,
    category TEXT NOT NULL,
    assignment_group TEXT NOT NULL,
    raised BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    resolution_met BIGINT NOT NULL,
    reopened BIGINT NOT NULL,
    response_count BIGINT NOT NULL,
    response_seconds BIGINT NOT NULL,
    resolution_count BIGINT NOT NULL,
    resolution_seconds BIGINT NOT NULL,
    PRIMARY KEY (grain, period_start, organisation_id, priority, category, assignment_group)
);

-- The totals of the facts already computed; facts computed later add themselves.
INSERT INTO report_rollup
SELECT grain, period_start, organisation_id, priority, category, assignment_group,
       SUM(raised), SUM(resolved), SUM(resolution_met), SUM(reopened),
       SUM(response_count), SUM(response_seconds), SUM(resolution_count), SUM(resolution_seconds)
FROM (
    SELECT g.grain,
           CASE g.grain WHEN 'day' THEN f.created_on ELSE CAST(date_trunc('month', f.created_on) AS DATE) END
               AS period_start,
           f.organisation_id, f.priority, f.category,
           COALESCE(f.assignment_group, '') AS assignment_group,
           1 AS raised, 0 AS resolved, 0 AS resolution_met, 0 AS reopened,
           0 AS response_count, 0 AS response_seconds, 0 AS resolution_count,
           0 AS resolution_seconds
    FROM report_incident_facts f CROSS JOIN (SELECT 'day' AS grain UNION ALL SELECT 'month') g
    UNION ALL
    SELECT g.grain,
           CASE g.grain WHEN 'day' THEN f.resolved_on ELSE CAST(date_trunc('month', f.resolved_on) AS DATE) END,
           f.organisation_id, f.priority, f.category, COALESCE(f.assignment_group, ''),
           0, 1,
           CASE WHEN f.resolution_met THEN 1 ELSE 0 END,
           CASE WHEN f.reopened THEN 1 ELSE 0 END,
           CASE WHEN f.response_seconds IS NULL THEN 0 ELSE 1 END,
           COALESCE(f.response_seconds, 0),
           CASE WHEN f.resolution_seconds IS NULL THEN 0 ELSE 1 END,
           COALESCE(f.resolution_seconds, 0)
    FROM report_incident_facts f CROSS JOIN (SELECT 'day' AS grain UNION ALL SELECT 'month') g
    WHERE f.resolved_on IS NOT NULL
) AS contributions
GROUP BY grain, period_start, organisation_id, priority, category, assignment_group;

-- Medians are not totals: each (period, priority) median is read from the facts in clock-time
-- order within that period and priority, which this index serves without touching the table.
CREATE INDEX report_facts_priority_resolved ON report_incident_facts
    (priority, resolved_on, response_seconds, resolution_seconds) WHERE resolved_on IS NOT NULL;

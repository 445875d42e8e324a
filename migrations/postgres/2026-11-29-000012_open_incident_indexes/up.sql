-- The open incidents (about 3 % of them, the newest) in key order, for the queues and lists
-- that ask for open statuses only: without it "open, oldest first" reads nearly every closed
-- incident before the first open one, or sorts them all. The store writes the same condition
-- out literally (a bound `status IN (...)` cannot prove it), so keep the two in step.
CREATE INDEX incidents_open ON incidents (id) WHERE status NOT IN ('closed', 'cancelled');
-- The same per organisation, for an organisation's own open incidents.
CREATE INDEX incidents_open_organisation ON incidents (organisation_id, id)
    WHERE status NOT IN ('closed', 'cancelled');
-- The desk's "assigned to me", "unassigned" and "my groups" queues.
CREATE INDEX incidents_open_assignee ON incidents (assignee_id, id)
    WHERE status NOT IN ('closed', 'cancelled');
CREATE INDEX incidents_open_group ON incidents (assignment_group, id)
    WHERE status NOT IN ('closed', 'cancelled');

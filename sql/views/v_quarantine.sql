-- Analyst view: rejected input lines still waiting (not resolved), with file and reasons.
-- Grain: one row per quarantined input line.
create or replace view v_quarantine as
select
    q.file_name,
    q.kind,
    q.line,
    q.columns,
    q.reasons,
    q.retryable,
    q.quarantined_at,
    q.run_id
from quarantine as q
where q.resolved_at is null

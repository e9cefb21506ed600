-- Analyst view: the review queue with reasons, scheme id and decisions.
-- `claimwatch sql` answers it from the review store's current state (decisions made a second
-- ago included); in the DuckDB file itself it shows the run's mirror as of the last run.
-- Grain: one row per case (open and closed).
create or replace view v_cases as
select
    c.case_id,
    c.member_id,
    c.status,
    c.rank,
    round(c.score, 2) as score,
    c.amount_at_risk,
    c.reason_codes,
    c.reasons,
    c.claim_ids,
    c.scheme_id,
    len(string_split(c.claim_ids, ';')) as claim_lines,
    c.assigned_to,
    c.decision,
    c.decided_by,
    c.decided_at,
    c.note,
    c.opened_at,
    c.updated_at,
    c.previous_case_id
from cases as c

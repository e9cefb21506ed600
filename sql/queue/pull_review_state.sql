-- Start of a run: the review store's current state (temp table `store_review_state`: case_id,
-- status, assigned_to, decision, decided_by, decided_at, note) into DuckDB's cases, the run's
-- working mirror that scoring reads; cases the store no longer has (purged by retention) leave
-- the mirror with their lines. Ranks: rank_open_cases.sql. Grain: one row per case.
update cases set
    status = s.status,
    assigned_to = s.assigned_to,
    decision = s.decision,
    decided_by = s.decided_by,
    decided_at = s.decided_at,
    note = s.note
from store_review_state as s
where cases.case_id = s.case_id
    and (cases.status, cases.assigned_to, cases.decision, cases.decided_by, cases.decided_at, cases.note)
        is distinct from (s.status, s.assigned_to, s.decision, s.decided_by, s.decided_at, s.note);

delete from case_claims where case_id not in (select case_id from store_review_state);

delete from cases where case_id not in (select case_id from store_review_state)

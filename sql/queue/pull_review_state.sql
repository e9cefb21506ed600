-- Start of a run: the review store's current state (temp table `store_review_state`: case_id,
-- status, assigned_to, decision, decided_by, decided_at, note, claim_ids, amount_at_risk) into
-- DuckDB's cases, the run's
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

-- a case a reviewer closed while a run was scoring: the lines that run attached (the reviewer
-- never saw them) leave it, so the next refresh opens a new case for them linked to this one;
-- the mirror keeps the lines and amount that were decided on
delete from case_claims
using store_review_state as s
where case_claims.case_id = s.case_id
    and s.status in ('closed_fraud', 'closed_legitimate')
    and not list_contains(string_split(coalesce(s.claim_ids, ''), ';'), case_claims.claim_id);

update cases set
    claim_ids = s.claim_ids,
    amount_at_risk = s.amount_at_risk
from store_review_state as s
where cases.case_id = s.case_id
    and s.status in ('closed_fraud', 'closed_legitimate')
    and (cases.claim_ids is distinct from s.claim_ids or cases.amount_at_risk <> s.amount_at_risk);

delete from case_claims where case_id not in (select case_id from store_review_state);

delete from cases where case_id not in (select case_id from store_review_state)

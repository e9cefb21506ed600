-- The recovery list of the latest scoring run: overpayments to recover (honest double
-- submissions: a member's invoice received before the Assurance Maladie line of the same
-- care), largest first, under the export's required columns. Not fraud alerts: no case.
-- Grain: one row per member with an overpayment.
with latest as (
    select max(run_id) as run_id from score_runs
),

recovery as (
    select r.member_id, r.score, r.amount, r.claim_ids, r.reasons
    from recovery_scores as r
    join latest using (run_id)
)

select
    cast(row_number() over (order by amount desc, member_id) as integer) as rank,
    cast(null as varchar) as case_id,
    member_id,
    score,
    amount as amount_at_risk,
    claim_ids,
    reasons,
    'to_recover' as status
from recovery
order by rank

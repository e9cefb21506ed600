-- Analyst view: claim lines flagged by the latest scoring run, one row per (line, reason).
-- Grain: one row per (claim line, reason code).
create or replace view v_flagged_claims as
select
    cs.claim_id,
    cs.member_id,
    cs.reason_code,
    round(cs.weight, 3) as weight,
    cs.reason,
    cl.care_date,
    cl.received_date,
    cl.source,
    cl.care_category,
    cl.act_code,
    cl.provider_id,
    cl.claimed_amount,
    cl.payee,
    cl.payee_iban_country,
    cs.run_id
from claim_scores as cs
join claims as cl on cl.claim_id = cs.claim_id
where cs.run_id = (select max(run_id) from score_runs)

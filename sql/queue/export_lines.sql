-- XLSX lines sheet: the claim lines of the exported cases (registered frame
-- `export_case_claims`: case_id, rank, claim_id) with the reasons of the latest run that
-- flagged each line. Grain: one row per (case, claim line).
with wanted as (
    select case_id, rank, claim_id from export_case_claims
),

flags as (
    select cs.claim_id, cs.run_id, cs.reason_code, cs.reason, cs.weight
    from claim_scores as cs
    where cs.claim_id in (select claim_id from wanted)
),

latest as (
    select claim_id, max(run_id) as run_id from flags group by claim_id
),

line_reasons as (
    select
        f.claim_id,
        string_agg(f.reason_code, ';' order by f.weight desc, f.reason_code) as reason_codes,
        string_agg(f.reason, ' | ' order by f.weight desc, f.reason_code) as reasons
    from flags as f
    join latest as l on l.claim_id = f.claim_id and l.run_id = f.run_id
    group by f.claim_id
)

select
    w.case_id,
    w.rank,
    w.claim_id,
    cl.care_date,
    cl.received_date,
    cl.source,
    cl.care_category,
    cl.act_code,
    cl.provider_id,
    cast(cl.claimed_amount as double) as claimed_amount,
    r.reason_codes,
    r.reasons
from wanted as w
left join claims as cl on cl.claim_id = w.claim_id
left join line_reasons as r on r.claim_id = w.claim_id
order by w.rank nulls last, w.case_id, cl.care_date, w.claim_id

-- A case's claim lines with the reasons of the latest run that flagged each line
-- ($claim_ids: the case's line ids). Grain: one row per claim line.
with wanted as (
    select unnest($claim_ids::varchar[]) as claim_id
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
    cl.claim_id,
    cl.care_date,
    cl.received_date,
    cl.source,
    cl.care_category,
    cl.act_code,
    cl.provider_id,
    cl.claimed_amount,
    cl.payee,
    cl.payee_iban_country,
    r.reason_codes,
    r.reasons
from claims as cl
left join line_reasons as r on r.claim_id = cl.claim_id
where cl.claim_id in (select claim_id from wanted)
order by cl.care_date, cl.claim_id

-- Report: claim lines received per day and lines this run flagged (weight >= 0.3) by the day
-- they were received. Grain: one row per day.
with received as (
    select received_date as day, count(*) as lines from claims group by received_date
),

flagged as (
    select cl.received_date as day, count(distinct cs.claim_id) as flagged
    from claim_scores as cs
    join claims as cl on cl.claim_id = cs.claim_id
    where cs.run_id = $run_id and cs.weight >= 0.3
    group by cl.received_date
)

select coalesce(r.day, f.day) as day, coalesce(r.lines, 0) as lines, coalesce(f.flagged, 0) as flagged
from received as r
full join flagged as f on f.day = r.day
order by day

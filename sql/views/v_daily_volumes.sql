-- Analyst view: daily claim lines and amounts received, lines flagged by the latest run and
-- cases opened. Grain: one row per day.
create or replace view v_daily_volumes as
with received as (
    select received_date as day, count(*) as claim_lines, sum(claimed_amount) as claimed_amount
    from claims group by received_date
),

flagged as (
    select cl.received_date as day, count(distinct cs.claim_id) as flagged_lines
    from claim_scores as cs
    join claims as cl on cl.claim_id = cs.claim_id
    where cs.run_id = (select max(run_id) from score_runs) and cs.weight >= 0.3
    group by cl.received_date
),

opened as (
    select cast(opened_at as date) as day, count(*) as cases_opened from cases group by 1
)

select
    coalesce(r.day, o.day) as day,
    coalesce(r.claim_lines, 0) as claim_lines,
    coalesce(r.claimed_amount, 0) as claimed_amount,
    coalesce(f.flagged_lines, 0) as flagged_lines,
    coalesce(o.cases_opened, 0) as cases_opened
from received as r
full join opened as o on o.day = r.day
left join flagged as f on f.day = coalesce(r.day, o.day)

-- Analyst view: every member scored above the floor by the latest scoring run, with its
-- context (age, department, breach exposure) and detector contributions.
-- Grain: one row per member.
create or replace view v_member_risk as
with latest as (
    select max(run_id) as run_id from score_runs
),

exposure as (
    select member_id, count(*) as breaches, min(breach_date) as first_breach_date
    from breach_exposure group by member_id
)

select
    s.member_id,
    m.subscriber_id,
    m.sex,
    m.birth_date,
    m.department,
    round(s.score, 2) as score,
    round(s.rule_score, 4) as rule_score,
    round(s.ensemble_score, 4) as ensemble_score,
    s.detector_scores,
    s.reason_codes,
    s.reasons,
    s.amount_at_risk,
    coalesce(e.breaches, 0) as breaches,
    e.first_breach_date,
    s.run_id
from member_scores as s
join latest as l on l.run_id = s.run_id
left join members as m on m.member_id = s.member_id
left join exposure as e on e.member_id = s.member_id

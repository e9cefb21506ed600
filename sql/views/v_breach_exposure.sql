-- Analyst view: members whose identifiers (current or past) appear in a breach list.
-- Grain: one row per (member, breach, matched identifier type).
create or replace view v_breach_exposure as
select
    b.member_id,
    m.subscriber_id,
    m.department,
    b.breach_name,
    b.breach_date,
    b.matched_type,
    b.matched_current
from breach_exposure as b
left join members as m on m.member_id = b.member_id

-- Rank the open cases, most suspicious first (ties: more money at risk first); closed cases
-- have no rank. Run after every refresh, decision and purge, so ranks never have gaps.
update cases set rank = ranked.rank
from (
    select case_id,
        row_number() over (order by score desc, amount_at_risk desc, case_id) as rank
    from cases
    where status in ('new', 'in_review', 'needs_info')
) as ranked
where cases.case_id = ranked.case_id and cases.rank is distinct from ranked.rank;

update cases set rank = null where status in ('closed_fraud', 'closed_legitimate') and rank is not null

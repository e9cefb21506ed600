-- Report headline: open cases and their amount at risk, each case counted once.
-- Grain: one row.
select count(*) as open_cases, coalesce(sum(amount_at_risk), 0) as amount_at_risk
from cases
where status in ('new', 'in_review', 'needs_info')

-- Report: the top of the review queue. Grain: one row per open case, 25 best-ranked.
select rank, case_id, member_id, round(score, 1) as score, amount_at_risk, reason_codes, reasons
from cases
where status in ('new', 'in_review', 'needs_info')
order by rank, case_id
limit 25

-- Report (evaluation data only): open cases by the labelled fraud pattern of their lines.
-- Grain: one row per pattern ('unlabelled' for cases without a fraudulent labelled line).
select coalesce(l.scenario, 'unlabelled') as scenario, count(distinct c.case_id) as cases
from cases as c
join case_claims as cc on cc.case_id = c.case_id
left join labels as l on l.claim_id = cc.claim_id and l.is_fraud
where c.status in ('new', 'in_review', 'needs_info')
group by 1
order by 2, 1

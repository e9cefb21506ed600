-- Report: open cases per reason code; a case with several reasons counts under each (the bars
-- overlap). Grain: one row per reason code.
with codes as (
    select c.case_id, unnest(string_split(c.reason_codes, ';')) as reason_code
    from cases as c
    where c.status in ('new', 'in_review', 'needs_info') and coalesce(c.reason_codes, '') <> ''
)

select reason_code, count(distinct case_id) as cases
from codes
group by reason_code
order by cases, reason_code

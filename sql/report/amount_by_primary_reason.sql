-- Report: open cases and amount at risk by primary reason, the strongest evidence reason of
-- each case (reasons are stored strongest first; context reasons $context are not evidence).
-- Each case counts once: the bars add up to the headline. Grain: one row per primary reason.
with primary_reason as (
    select
        c.case_id,
        c.amount_at_risk,
        coalesce(
            list_filter(
                string_split(coalesce(c.reason_codes, ''), ';'),
                lambda x: x <> '' and not list_contains($context, x)
            )[1],
            'context only'
        ) as primary_reason
    from cases as c
    where c.status in ('new', 'in_review', 'needs_info')
)

select primary_reason, count(*) as cases, coalesce(sum(amount_at_risk), 0) as amount_at_risk
from primary_reason
group by primary_reason
order by amount_at_risk, primary_reason

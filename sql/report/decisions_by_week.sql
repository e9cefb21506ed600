-- Report: reviewers' closing decisions per week (Monday, Europe/Paris) and the precision of the
-- decided cases (confirmed fraud / cases closed). Grain: one row per week with a decision.
select
    date_trunc('week', timezone('Europe/Paris', decided_at)) as week,
    count(*) filter (where decision = 'fraud') as fraud,
    count(*) filter (where decision = 'legitimate') as legitimate,
    count(*) filter (where decision = 'fraud') / count(*) as precision
from cases
where decision in ('fraud', 'legitimate') and decided_at is not null
group by 1
order by 1

-- Portfolio aggregate: claimed amounts of peers (age band x sex x kind of care) on a log
-- scale, against which each line's amount is a z-score (claim_signals). Relative to the whole
-- portfolio, so stored and refreshed on a schedule (flows/scoring/score.py), not every night.
-- Grain: one row per (age band, sex, care category).
select
    p.age_band, p.sex, c.care_category,
    avg(ln(1 + c.claimed_amount)) as peer_log_mean,
    stddev_pop(ln(1 + c.claimed_amount)) as peer_log_sd
from claims as c
join f_member_profile as p on p.member_id = c.member_id
group by p.age_band, p.sex, c.care_category

-- Portfolio aggregates of provider_profile: the first care date of the data and the share of
-- breach-exposed members (the rate a provider's patients are compared with). Stored and
-- refreshed on a schedule (flows/scoring/score.py). Grain: one row.
select
    (select min(care_date) from claims) as data_start,
    (select avg(case when breach_count > 0 then 1.0 else 0.0 end) from f_member_profile) as exposure_rate

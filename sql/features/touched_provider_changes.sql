-- Providers whose values that member_features reads (provider_side: breach-exposure z-score,
-- share of patients from outside its department, registry key, new to the portfolio) change
-- in this run: new_provider_profile against the stored rows of the same providers. Only
-- providers first seen since the last refresh of the portfolio aggregates are read live (the
-- others through the provider_standing snapshot, which a nightly run does not move), and a
-- provider that only billed its usual patients again changes none of them. Keep these columns
-- in step with member_features.sql. Grain: one row per provider_id.
with fresh as (
    select provider_id, exposure_z, outside_department_share, registry_key_valid, new_to_portfolio
    from new_provider_profile
    where provider_id not in (select provider_id from f_provider_standing)
),

stored as (
    select provider_id, exposure_z, outside_department_share, registry_key_valid, new_to_portfolio
    from feat_provider_profile
    where provider_id in (select provider_id from scope_providers)
        and provider_id not in (select provider_id from f_provider_standing)
),

changed as (
    (select * from fresh except select * from stored)
    union all
    (select * from stored except select * from fresh)
)

select distinct provider_id from changed

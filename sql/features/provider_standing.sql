-- Portfolio aggregate of provider_profile: each provider's standing as member_features reads it
-- (breach-exposure z-score, share of patients from outside its department, registry key, new to
-- the portfolio), snapshotted when the portfolio aggregates are refreshed (flows/scoring/score.py).
-- A busy provider's z-score and shares move with every new patient: read live, one new line at a
-- pharmacy would rebuild the profile of every one of its patients on a nightly run. Providers
-- first seen after the snapshot are read live until the next refresh (member_features.sql).
-- Grain: one row per provider_id.
select provider_id, exposure_z, outside_department_share, registry_key_valid, new_to_portfolio
from f_provider_profile

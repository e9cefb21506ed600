-- Members whose ensemble profile (member_features) this run rebuilds: members whose lines or
-- IBAN changes were rebuilt, and every patient of a provider whose values read by
-- member_features changed (touched_provider_changes.sql).
-- Grain: one row per member_id.
select member_id from scope_members
union
select member_id from scope_change_members
union
select member_id from claims where provider_id in (select provider_id from touched_provider_changes)

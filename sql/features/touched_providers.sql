-- Providers whose profile (provider_profile) this run rebuilds: providers of touched lines and
-- every provider of a member with touched lines or changed own rows (a patient's department,
-- breach exposure and first care date count in the provider's profile).
-- Grain: one row per provider_id.
select provider_id from touched_claims
union
select provider_id from claims
where member_id in (select member_id from touched_claims union select member_id from touched_members_changed)

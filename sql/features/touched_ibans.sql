-- Bank accounts whose links (iban_member_links, iban_links) this run rebuilds: accounts paid
-- by touched lines, set by touched IBAN changes, and every account linked to a member whose
-- own rows changed (contract, postcode and department count in the links).
-- Grain: one row per IBAN hash.
with changed as (
    select member_id from touched_members_changed
)

select payee_iban_hash as iban_hash from touched_claims where payee_iban_hash is not null
union
select new_value_hash from touched_events
where event_type = 'iban_change' and new_value_hash is not null
union
select iban_hash from members where member_id in (select member_id from changed) and iban_hash is not null
union
select iban_hash from feat_member_keys
where member_id in (select member_id from changed) and iban_hash is not null
union
select iban_hash from feat_iban_member_links where member_id in (select member_id from changed)

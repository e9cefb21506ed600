-- Members whose IBAN changes (iban_changes) this run rebuilds: members with touched lines,
-- events or own rows, members linked to an account whose link profile changed, and every
-- member of a contract whose account links changed (household use of a new account).
-- Grain: one row per member_id.
select member_id from touched_claims
union
select member_id from touched_events
union
select member_id from touched_members_changed
union
select member_id from feat_iban_member_links where iban_hash in (select iban_hash from touched_changed_ibans)
union
select member_id from members where subscriber_id in (select subscriber_id from touched_link_changes)

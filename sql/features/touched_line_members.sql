-- Members whose claim lines (claim_signals) this run rebuilds: members with touched lines,
-- events or own rows, members paid to an account whose link profile changed, and every member
-- of a contract with a changed IBAN change (a relative's line paid to a changed account).
-- Grain: one row per member_id.
with stored_changes as (
    select * from feat_iban_changes where member_id in (select member_id from scope_change_members)
),

change_diff as (
    (select * from new_iban_changes except select * from stored_changes)
    union all
    (select * from stored_changes except select * from new_iban_changes)
)

select member_id from touched_claims
union
select member_id from touched_events
union
select member_id from touched_members_changed
union
select member_id from feat_iban_member_links where iban_hash in (select iban_hash from touched_changed_ibans)
union
select member_id from members
where subscriber_id in (select subscriber_id from change_diff)
    or member_id in (select member_id from change_diff)

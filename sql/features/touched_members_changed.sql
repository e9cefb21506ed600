-- Members whose own rows changed since the stored features: new or removed members, a changed
-- contract, postcode, department or account on file (feat_member_keys), or a changed profile
-- (age, household size, breach exposure: new_member_profile against feat_member_profile; the
-- as-of date itself is not a change). Grain: one row per member_id.
with keys_now as (
    select member_id, subscriber_id, postcode, department, iban_hash from members
),

key_changes as (
    (select * from keys_now except select * from feat_member_keys)
    union all
    (select * from feat_member_keys except select * from keys_now)
),

profile_changes as (
    (select * exclude (as_of_date) from new_member_profile
        except select * exclude (as_of_date) from feat_member_profile)
    union all
    (select * exclude (as_of_date) from feat_member_profile
        except select * exclude (as_of_date) from new_member_profile)
)

select member_id from key_changes
union
select member_id from profile_changes

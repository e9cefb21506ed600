-- Staged lines of a file whose rows name a member (claims, account_events), with the
-- member check: a line whose only fault is an unknown member_id waits in a pending table.
-- Grain: one row per input line.
with staged as (
    select * from stg
),

known_members as (
    select distinct member_id from members
),

final as (
    select
        s.*,
        s.member_id is not null and k.member_id is null as member_unknown,
        list_concat(
            s.errors,
            case when s.member_id is not null and k.member_id is null
                then [{'column': 'member_id', 'reason': 'unknown member (retried on later runs)'}]
                else [] end
        ) as all_errors
    from staged as s
    left join known_members as k on k.member_id = s.member_id
)

select * from final

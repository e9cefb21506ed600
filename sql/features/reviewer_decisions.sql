-- Reviewers' decisions the next scoring run learns from: the latest closed decision of each
-- member (closed_fraud / closed_legitimate). The one place decisions are read from, so their
-- source (today the DuckDB `cases` table, kept current by the review store) can be swapped.
-- Grain: one row per decided member.
with decided as (
    select member_id, status, decision, decided_at, case_id
    from cases
    where status in ('closed_fraud', 'closed_legitimate') and decided_at is not null
),

latest as (
    select
        member_id,
        arg_max(status, strftime(decided_at, '%Y%m%d%H%M%S%f') || case_id) as status,
        max(decided_at) as decided_at
    from decided
    group by member_id
),

final as (
    select member_id, status = 'closed_fraud' as is_fraud, decided_at
    from latest
)

select * from final order by member_id

-- Open cases are ranked 1..n without gaps; closed cases have no rank.
-- Returns the offending cases (expect none).
with open_cases as (
    select case_id, rank, row_number() over (order by rank) as expected
    from cases where status in ('new', 'in_review', 'needs_info')
)
select case_id, rank, expected from open_cases where rank is distinct from expected
union all
select case_id, rank, null from cases where status in ('closed_fraud', 'closed_legitimate') and rank is not null

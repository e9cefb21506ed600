-- At most one open case per member. Returns members with several (expect none).
select member_id, count(*) as open_cases from cases
where status in ('new', 'in_review', 'needs_info')
group by member_id having count(*) > 1

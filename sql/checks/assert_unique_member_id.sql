-- One row per member: a newer row replaces the older one. Returns duplicates (expect none).
select member_id, count(*) as copies from members group by member_id having count(*) > 1

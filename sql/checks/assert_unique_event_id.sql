-- One row per account event. Returns duplicates (expect none).
select event_id, count(*) as copies from account_events group by event_id having count(*) > 1

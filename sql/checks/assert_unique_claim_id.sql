-- A repeated claim_id is an update of its line, never a new line.
-- Returns the offending claim_ids (expect none).
select claim_id, count(*) as copies from claims group by claim_id having count(*) > 1

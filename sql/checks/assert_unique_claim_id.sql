-- A repeated claim_id is an update of its line, never a new line.
-- $since: the run's start (only claim_ids loaded since are checked: older ones were checked by
-- the run that loaded them) or NULL for every line.
-- Returns the offending claim_ids (expect none).
select claim_id, count(*) as copies
from claims
where claim_id in (select claim_id from claims where $since::timestamptz is null or loaded_at >= $since::timestamptz)
group by claim_id
having count(*) > 1

-- Load the valid account events of known members (a repeated event_id replaces the older
-- line), hold back those of unknown members, and record new identifier values.
create or replace temp table new_events as
select * exclude (errors, raw_json, all_errors)
from stg_checked
where len(errors) = 0
qualify row_number() over (partition by event_id order by _line desc) = 1;

insert into pending_account_events by name
select n.* exclude (_line, member_unknown), n._line as source_line, $file_name as source_file,
    $loaded_at::timestamptz as loaded_at, q.quarantine_id
from new_events as n
join quarantine as q on q.file_sha256 = $file_sha256 and q.line = n._line
where n.member_unknown;

delete from account_events where event_id in (select event_id from new_events where not member_unknown);

insert into account_events by name
select * exclude (_line, member_unknown), _line as source_line, $file_name as source_file,
    $loaded_at::timestamptz as loaded_at
from new_events
where not member_unknown

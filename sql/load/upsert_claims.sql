-- Load the valid claim lines of known members (a repeated claim_id updates the line; the
-- last line wins within a file) and hold back those of unknown members.
create or replace temp table repeated_claim_ids as
select claim_id from stg_checked where len(errors) = 0 group by claim_id having count(*) > 1;

-- lines whose claim_id appears once pass as they are; only repeated ones need ordering.
-- A view, not a copy: the deletes below read its claim_id column only, and the insert into
-- claims reads the file's lines once.
create or replace temp view new_claims as
select * exclude (errors, raw_json, all_errors)
from stg_checked
where len(errors) = 0 and claim_id not in (select claim_id from repeated_claim_ids)
union all
(
    select * exclude (errors, raw_json, all_errors)
    from stg_checked
    where len(errors) = 0 and claim_id in (select claim_id from repeated_claim_ids)
    qualify row_number() over (partition by claim_id order by _line desc) = 1
);

insert into pending_claims by name
select n.* exclude (_line, member_unknown), n._line as source_line, $file_name as source_file,
    $loaded_at::timestamptz as loaded_at, q.quarantine_id
from new_claims as n
join quarantine as q on q.file_sha256 = $file_sha256 and q.line = n._line
where n.member_unknown;

-- a newer version of a line supersedes the older one wherever it waits
delete from pending_claims where claim_id in (select claim_id from new_claims where not member_unknown);

-- a claim moved to another member (a repeated claim_id with another member_id, an update the
-- contract allows) leaves the cases of its former member; scoring attaches it where it belongs
delete from case_claims
where claim_id in (
    select n.claim_id
    from new_claims as n
    join claims as c on c.claim_id = n.claim_id
    where not n.member_unknown and c.member_id <> n.member_id
);

delete from claims where claim_id in (select claim_id from new_claims where not member_unknown);

insert into claims by name
select * exclude (_line, member_unknown), _line as source_line, $file_name as source_file,
    $loaded_at::timestamptz as loaded_at
from new_claims
where not member_unknown
;

drop view new_claims

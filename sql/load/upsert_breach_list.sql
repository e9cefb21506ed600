-- Load the valid breach-list lines (hashed identifiers), once per (type, hash, breach).
insert into breach_identifiers
select distinct c.identifier_type, c.identifier_hash, c.breach_name, c.breach_date, $file_name
from stg_checked as c
where len(c.all_errors) = 0
    and not exists (
        select 1 from breach_identifiers as b
        where b.identifier_type = c.identifier_type and b.identifier_hash = c.identifier_hash
            and b.breach_name = c.breach_name
    )

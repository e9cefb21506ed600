-- Load the valid member rows: a newer row replaces the older one (last line wins within a
-- file), and every identifier value is kept in member_identifiers for breach linkage.
create or replace temp table new_members as
select * exclude (errors, raw_json, member_unknown, all_errors)
from stg_checked
where len(all_errors) = 0
qualify row_number() over (partition by member_id order by _line desc) = 1;

insert into member_identifiers
select distinct n.member_id, t.identifier_type, t.identifier_hash, 'members', $loaded_at::timestamptz
from new_members as n,
    lateral (values ('nir', n.nir_hash), ('email', n.email_hash), ('phone', n.phone_hash), ('iban', n.iban_hash))
        as t(identifier_type, identifier_hash)
where t.identifier_hash is not null
    and not exists (
        select 1 from member_identifiers as mi
        where mi.member_id = n.member_id and mi.identifier_type = t.identifier_type
            and mi.identifier_hash = t.identifier_hash
    );

delete from members where member_id in (select member_id from new_members);

insert into members by name
select * exclude (_line), _line as source_line, $file_name as source_file, $loaded_at::timestamptz as loaded_at
from new_members

-- Rebuild breach linkage: a member is exposed to a breach when any identifier value they have
-- ever held (member files and account events) is in that breach's list.
delete from breach_exposure;

insert into breach_exposure
with matches as (
    select
        mi.member_id,
        b.breach_name,
        min(b.breach_date) as breach_date,
        b.identifier_type as matched_type,
        bool_or(
            (b.identifier_type = 'nir' and m.nir_hash = b.identifier_hash)
            or (b.identifier_type = 'email' and m.email_hash = b.identifier_hash)
            or (b.identifier_type = 'phone' and m.phone_hash = b.identifier_hash)
            or (b.identifier_type = 'iban' and m.iban_hash = b.identifier_hash)
        ) as matched_current
    from member_identifiers as mi
    join breach_identifiers as b
        on b.identifier_type = mi.identifier_type and b.identifier_hash = mi.identifier_hash
    join members as m on m.member_id = mi.member_id
    group by mi.member_id, b.breach_name, b.identifier_type
)
select member_id, breach_name, breach_date, matched_type, coalesce(matched_current, false)
from matches

-- Pseudonymise a members file while it is read: direct identifiers are normalised, checked
-- and hashed inside the read and free-text values that look like identifiers are masked, so
-- no clear identifier is ever materialised (a spilled or crashed working set holds hashes).
-- Grain: one row per record of `raw_source` (all text). Parameters: $ipad, $opad.
-- No join or window here: the row order is the file's order (it gives the line numbers).
with source as (
    select * from raw_source
),

normalised as (
    select
        cw_guard(member_id) as member_id,
        cw_guard(subscriber_id) as subscriber_id,
        birth_date,
        sex,
        postcode,
        contract_start,
        cw_identifier_normalised('nir', nir) as nir_n,
        cw_identifier_normalised('email', email) as email_n,
        cw_identifier_normalised('phone', phone) as phone_n,
        cw_identifier_normalised('iban', iban) as iban_n
    from source
),

final as (
    select
        * exclude (nir_n, email_n, phone_n, iban_n),
        sha256($opad || unhex(sha256($ipad || encode(nir_n)))) as nir_hash,
        cw_identifier_invalid('nir', nir_n) as nir_invalid,
        case when cw_identifier_invalid('nir', nir_n) is null then
            case substr(nir_n, 1, 1) when '1' then 'M' when '2' then 'F' end
        end as nir_sex,
        case when cw_identifier_invalid('nir', nir_n) is null then try_cast(substr(nir_n, 2, 2) as integer) end
            as nir_birth_yy,
        case when cw_identifier_invalid('nir', nir_n) is null then try_cast(substr(nir_n, 4, 2) as integer) end
            as nir_birth_month,
        sha256($opad || unhex(sha256($ipad || encode(email_n)))) as email_hash,
        nullif(split_part(email_n, '@', 2), '') as email_domain,
        sha256($opad || unhex(sha256($ipad || encode(phone_n)))) as phone_hash,
        sha256($opad || unhex(sha256($ipad || encode(iban_n)))) as iban_hash,
        cw_identifier_invalid('iban', iban_n) as iban_invalid,
        substr(iban_n, 1, 2) as iban_country,
        length(iban_n) as iban_length,
        substr(iban_n, 5, 8) as iban_bban_head
    from normalised
)

select * from final

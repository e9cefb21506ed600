-- Pseudonymise an account_events file while it is read: a new IBAN / e-mail / phone is
-- normalised, checked and hashed inside the read (a new postcode stays in clear; any other
-- new_value is dropped) and free-text values that look like identifiers are masked.
-- Grain: one row per record of `raw_source` (all text). Parameters: $ipad, $opad.
-- No join or window: the row order is the file's order.
with source as (
    select
        *,
        case lower(trim(event_type))
            when 'iban_change' then 'iban'
            when 'email_change' then 'email'
            when 'phone_change' then 'phone'
        end as new_value_type
    from raw_source
),

normalised as (
    select
        cw_guard(event_id) as event_id,
        cw_guard(member_id) as member_id,
        event_time,
        event_type,
        case when lower(trim(event_type)) = 'address_change' then cw_guard(new_value) end as new_value,
        channel,
        ip_country,
        new_value_type,
        cw_identifier_normalised(new_value_type, new_value) as new_value_n
    from source
),

final as (
    select
        * exclude (new_value_n),
        sha256($opad || unhex(sha256($ipad || encode(new_value_n)))) as new_value_hash,
        cw_identifier_invalid(new_value_type, new_value_n) as new_value_invalid,
        case when new_value_type = 'iban' then substr(new_value_n, 1, 2) end as new_iban_country,
        case when new_value_type = 'iban' then length(new_value_n) end as new_iban_length,
        case when new_value_type = 'iban' then substr(new_value_n, 5, 8) end as new_iban_bban_head,
        case when new_value_type = 'email' then nullif(split_part(new_value_n, '@', 2), '') end
            as new_email_domain
    from normalised
)

select * from final

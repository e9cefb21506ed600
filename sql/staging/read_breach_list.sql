-- Pseudonymise a breach list while it is read: each leaked identifier is normalised and
-- hashed like the member ones inside the read (a placeholder such as 'N/A' hashes to NULL
-- and never matches). Grain: one row per record of `raw_source` (all text).
-- Parameters: $ipad, $opad. No join or window: the row order is the file's order.
with source as (
    select *, lower(trim(identifier_type)) as id_type from raw_source
),

normalised as (
    select
        identifier_type,
        nullif(trim(identifier), '') is not null as identifier_given,
        cw_guard(breach_name) as breach_name,
        breach_date,
        case when id_type in ('nir', 'email', 'phone', 'iban')
            then cw_identifier_normalised(id_type, identifier) end as identifier_n,
        id_type
    from source
),

final as (
    select
        * exclude (identifier_n, id_type),
        sha256($opad || unhex(sha256($ipad || encode(identifier_n)))) as identifier_hash,
        cw_identifier_invalid(id_type, identifier_n) as identifier_invalid,
        case when id_type = 'iban' then length(identifier_n) end as identifier_iban_length,
        case when id_type = 'iban' then substr(identifier_n, 1, 2) end as identifier_iban_country
    from normalised
)

select * from final

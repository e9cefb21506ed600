-- Type, normalise and check a members file against the data contract.
-- Grain: one row per input line of `raw_input` (all text; `_line` = line in the file).
-- Identifiers come out hashed (joined from `batch_identifiers`); names are never read.
-- `errors` lists every broken rule as {column, reason}; an empty list means loadable.
with source as (
    select * from raw_input
),

ids as (
    select * from batch_identifiers
),

cleaned as (
    select
        s._line,
        nullif(trim(s.member_id), '') as member_id,
        nullif(trim(s.subscriber_id), '') as subscriber_id,
        nullif(trim(s.birth_date), '') as birth_date_text,
        try_cast(trim(s.birth_date) as date) as birth_date,
        upper(nullif(trim(s.sex), '')) as sex,
        -- a spreadsheet drops the leading zero of 01000..09999
        case
            when regexp_full_match(trim(s.postcode), '[0-9]{4}') then '0' || trim(s.postcode)
            else nullif(trim(s.postcode), '')
        end as postcode,
        nullif(trim(s.contract_start), '') as contract_start_text,
        try_cast(trim(s.contract_start) as date) as contract_start,
        s.nir, s.email, s.phone, s.iban
    from source as s
),

joined as (
    select
        c.*,
        nir.identifier_hash as nir_hash,
        nir.invalid_reason as nir_invalid,
        nir.nir_sex,
        nir.nir_birth_yy,
        nir.nir_birth_month,
        em.identifier_hash as email_hash,
        em.email_domain,
        ph.identifier_hash as phone_hash,
        ib.identifier_hash as iban_hash,
        ib.invalid_reason as iban_invalid,
        ib.iban_country,
        ib.iban_bank_code
    from cleaned as c
    left join ids as nir on nir.identifier_type = 'nir' and nir.raw_value = c.nir
    left join ids as em on em.identifier_type = 'email' and em.raw_value = c.email
    left join ids as ph on ph.identifier_type = 'phone' and ph.raw_value = c.phone
    left join ids as ib on ib.identifier_type = 'iban' and ib.raw_value = c.iban
),

checked as (
    select
        *,
        list_filter([
            case when member_id is null then {'column': 'member_id', 'reason': 'missing'}
                when length(member_id) > 32 then {'column': 'member_id', 'reason': 'longer than 32 characters'} end,
            case when subscriber_id is null then {'column': 'subscriber_id', 'reason': 'missing'}
                when length(subscriber_id) > 32 then {'column': 'subscriber_id', 'reason': 'longer than 32 characters'} end,
            case when birth_date_text is null then {'column': 'birth_date', 'reason': 'missing'}
                when birth_date is null then {'column': 'birth_date', 'reason': 'not an ISO date (YYYY-MM-DD)'}
                when birth_date > current_date then {'column': 'birth_date', 'reason': 'in the future'} end,
            case when sex is null then {'column': 'sex', 'reason': 'missing'}
                when sex not in ('M', 'F') then {'column': 'sex', 'reason': 'not M or F'} end,
            case when postcode is null then {'column': 'postcode', 'reason': 'missing'}
                when not regexp_full_match(postcode, '[0-9]{5}') then {'column': 'postcode', 'reason': 'not a 5-digit postcode'} end,
            case when contract_start_text is null then {'column': 'contract_start', 'reason': 'missing'}
                when contract_start is null then {'column': 'contract_start', 'reason': 'not an ISO date (YYYY-MM-DD)'} end,
            case when nir_invalid is not null then {'column': 'nir', 'reason': nir_invalid} end,
            case when iban_invalid is not null then {'column': 'iban', 'reason': iban_invalid} end
        ], lambda e: e is not null) as errors
    from joined
),

final as (
    select
        _line,
        member_id,
        subscriber_id,
        birth_date,
        sex,
        postcode,
        case
            when postcode like '97%' or postcode like '98%' then substr(postcode, 1, 3)
            when postcode like '20%' then case when postcode < '20200' then '2A' else '2B' end
            else substr(postcode, 1, 2)
        end as department,
        contract_start,
        nir_hash,
        nir_sex,
        -- the NIR holds a 2-digit year: the century is the one that keeps it in the past
        case when nir_birth_yy is not null then
            case when 2000 + nir_birth_yy <= year(current_date) then 2000 + nir_birth_yy
                else 1900 + nir_birth_yy end
        end as nir_birth_year,
        nir_birth_month,
        email_hash,
        email_domain,
        phone_hash,
        iban_hash,
        iban_country,
        iban_bank_code,
        errors,
        case when len(errors) > 0 then to_json({
            'member_id': redact_stray(member_id),
            'subscriber_id': redact_stray(subscriber_id),
            'birth_date': redact_stray(birth_date_text),
            'sex': redact_stray(sex),
            'postcode': redact_stray(postcode),
            'contract_start': redact_stray(contract_start_text),
            'nir': 'hmac:' || nir_hash,
            'email': 'hmac:' || email_hash,
            'phone': 'hmac:' || phone_hash,
            'iban': 'hmac:' || iban_hash
        })::varchar end as raw_json
    from checked
)

select * from final

-- Type, normalise and check a members file against the data contract.
-- Grain: one row per input line of `raw_input` (all text; `_line` = line in the file).
-- Identifiers arrive hashed (sql/staging/read_members.sql); names are never read.
-- `errors` lists every broken rule as {column, reason}; an empty list means loadable.
with source as (
    select * from raw_input
),

cleaned as (
    select
        s._line,
        nullif(trim(s.member_id), '') as member_id,
        nullif(trim(s.subscriber_id), '') as subscriber_id,
        nullif(trim(s.birth_date), '') as birth_date_text,
        cw_iso_date(trim(s.birth_date)) as birth_date,
        upper(nullif(trim(s.sex), '')) as sex,
        -- a spreadsheet drops the leading zero of 01000..09999
        case
            when regexp_full_match(trim(s.postcode), '[0-9]{4}') then '0' || trim(s.postcode)
            else nullif(trim(s.postcode), '')
        end as postcode,
        nullif(trim(s.contract_start), '') as contract_start_text,
        cw_iso_date(trim(s.contract_start)) as contract_start,
        s.nir_hash, s.nir_invalid, s.nir_sex, s.nir_birth_yy, s.nir_birth_month,
        s.email_hash, s.email_domain, s.phone_hash,
        s.iban_hash, s.iban_country, s.iban_bban_head,
        coalesce(s.iban_invalid, case
            when s.iban_hash is null then null
            when f.iban_length is null then 'IBAN country is not known'
            when s.iban_length <> f.iban_length then 'IBAN length does not match its country'
        end) as iban_invalid,
        substr(s.iban_bban_head, 1, coalesce(b.bank_code_length, 4)) as iban_bank_code
    from source as s
    left join iban_formats as f on f.country = s.iban_country
    left join iban_bank_codes as b on b.country = s.iban_country
),

checked as (
    select
        *,
        list_filter([
            case when member_id is null then {'column': 'member_id', 'reason': 'missing'}
                when member_id = '[redacted]' then {'column': 'member_id', 'reason': 'looks like a direct identifier (not stored)'}
                when cw_has_nul(member_id) then {'column': 'member_id', 'reason': 'contains a NUL byte'}
                when length(member_id) > 32 then {'column': 'member_id', 'reason': 'longer than 32 characters'} end,
            case when subscriber_id is null then {'column': 'subscriber_id', 'reason': 'missing'}
                when subscriber_id = '[redacted]' then {'column': 'subscriber_id', 'reason': 'looks like a direct identifier (not stored)'}
                when cw_has_nul(subscriber_id) then {'column': 'subscriber_id', 'reason': 'contains a NUL byte'}
                when length(subscriber_id) > 32 then {'column': 'subscriber_id', 'reason': 'longer than 32 characters'} end,
            case when birth_date_text is null then {'column': 'birth_date', 'reason': 'missing'}
                when birth_date is null then {'column': 'birth_date', 'reason': 'not an ISO date (YYYY-MM-DD)'}
                when birth_date > current_date then {'column': 'birth_date', 'reason': 'in the future'} end,
            case when sex is null then {'column': 'sex', 'reason': 'missing'}
                when sex not in ('M', 'F') then {'column': 'sex', 'reason': 'not M or F'} end,
            case when postcode is null then {'column': 'postcode', 'reason': 'missing'}
                when not regexp_full_match(postcode, '[0-9]{5}') then {'column': 'postcode', 'reason': 'not a 5-digit postcode'} end,
            case when contract_start_text is null then {'column': 'contract_start', 'reason': 'missing'}
                when contract_start is null then {'column': 'contract_start', 'reason': 'not an ISO date (YYYY-MM-DD)'}
                when contract_start > current_date + interval 2 year then {'column': 'contract_start', 'reason': 'more than 2 years in the future'} end,
            case when nir_invalid is not null then {'column': 'nir', 'reason': nir_invalid} end,
            case when iban_invalid is not null then {'column': 'iban', 'reason': iban_invalid} end
        ], lambda e: e is not null) as errors
    from cleaned
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
            'member_id': cw_redact(member_id),
            'subscriber_id': cw_redact(subscriber_id),
            'birth_date': cw_redact(birth_date_text),
            'sex': cw_redact(sex),
            'postcode': cw_redact(postcode),
            'contract_start': cw_redact(contract_start_text),
            'nir': 'hmac:' || nir_hash,
            'email': 'hmac:' || email_hash,
            'phone': 'hmac:' || phone_hash,
            'iban': 'hmac:' || iban_hash
        })::varchar end as raw_json
    from checked
)

select * from final

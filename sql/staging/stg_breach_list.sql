-- Type, normalise and check a breach list: leaked identifiers are hashed like member ones.
-- Grain: one row per input line of `raw_input` (all text; `_line` = line in the file).
with source as (
    select * from raw_input
),

cleaned as (
    select
        s._line,
        lower(nullif(trim(s.identifier_type), '')) as identifier_type,
        s.identifier_given,
        nullif(trim(s.breach_name), '') as breach_name,
        nullif(trim(s.breach_date), '') as breach_date_text,
        cw_iso_date(trim(s.breach_date)) as breach_date,
        s.identifier_hash,
        coalesce(s.identifier_invalid, case
            when lower(trim(s.identifier_type)) <> 'iban' or s.identifier_hash is null then null
            when f.iban_length is null then 'IBAN country is not known'
            when s.identifier_iban_length <> f.iban_length then 'IBAN length does not match its country'
        end) as identifier_invalid
    from source as s
    left join iban_formats as f on f.country = s.identifier_iban_country
),

checked as (
    select
        *,
        list_filter([
            case when identifier_type is null then {'column': 'identifier_type', 'reason': 'missing'}
                when identifier_type not in ('nir', 'email', 'phone', 'iban')
                    then {'column': 'identifier_type', 'reason': 'unknown value'} end,
            case when not identifier_given then {'column': 'identifier', 'reason': 'missing'}
                when identifier_hash is null and identifier_type in ('nir', 'email', 'phone', 'iban')
                    then {'column': 'identifier', 'reason': 'a placeholder (n/a, -, inconnu...), not an identifier'}
                when identifier_invalid is not null then {'column': 'identifier', 'reason': identifier_invalid} end,
            case when breach_name is null then {'column': 'breach_name', 'reason': 'missing'}
                when breach_name = '[redacted]' then {'column': 'breach_name', 'reason': 'looks like a direct identifier (not stored)'} end,
            case when breach_date_text is null then {'column': 'breach_date', 'reason': 'missing'}
                when breach_date is null then {'column': 'breach_date', 'reason': 'not an ISO date (YYYY-MM-DD)'} end
        ], lambda e: e is not null) as errors
    from cleaned
),

final as (
    select
        _line,
        identifier_type,
        identifier_hash,
        breach_name,
        breach_date,
        errors,
        case when len(errors) > 0 then to_json({
            'identifier_type': cw_redact(identifier_type),
            'identifier': case when identifier_hash is not null then 'hmac:' || identifier_hash
                when identifier_given then '[redacted]' end,
            'breach_name': cw_redact(breach_name),
            'breach_date': cw_redact(breach_date_text)
        })::varchar end as raw_json
    from checked
)

select * from final

-- Type, normalise and check a breach list: leaked identifiers are hashed like member ones.
-- Grain: one row per input line of `raw_input` (all text; `_line` = line in the file).
with source as (
    select * from raw_input
),

ids as (
    select * from batch_identifiers
),

cleaned as (
    select
        s._line,
        lower(nullif(trim(s.identifier_type), '')) as identifier_type,
        nullif(trim(s.identifier), '') as identifier,
        nullif(trim(s.breach_name), '') as breach_name,
        nullif(trim(s.breach_date), '') as breach_date_text,
        try_cast(trim(s.breach_date) as date) as breach_date,
        s.identifier as raw_identifier
    from source as s
),

joined as (
    select c.*, i.identifier_hash, i.invalid_reason as identifier_invalid
    from cleaned as c
    left join ids as i on i.identifier_type = c.identifier_type and i.raw_value = c.raw_identifier
),

checked as (
    select
        *,
        list_filter([
            case when identifier_type is null then {'column': 'identifier_type', 'reason': 'missing'}
                when identifier_type not in ('nir', 'email', 'phone', 'iban')
                    then {'column': 'identifier_type', 'reason': 'unknown value'} end,
            case when identifier is null then {'column': 'identifier', 'reason': 'missing'}
                when identifier_invalid is not null then {'column': 'identifier', 'reason': identifier_invalid} end,
            case when breach_name is null then {'column': 'breach_name', 'reason': 'missing'} end,
            case when breach_date_text is null then {'column': 'breach_date', 'reason': 'missing'}
                when breach_date is null then {'column': 'breach_date', 'reason': 'not an ISO date (YYYY-MM-DD)'} end
        ], lambda e: e is not null) as errors
    from joined
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
            'identifier_type': redact_stray(identifier_type),
            'identifier': case when identifier_hash is not null then 'hmac:' || identifier_hash
                when identifier is not null then '[redacted]' end,
            'breach_name': redact_stray(breach_name),
            'breach_date': redact_stray(breach_date_text)
        })::varchar end as raw_json
    from checked
)

select * from final

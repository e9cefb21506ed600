-- Type, normalise and check an account_events file against the data contract.
-- Grain: one row per input line of `raw_input` (all text; `_line` = line in the file).
-- The new IBAN / e-mail / phone comes out hashed; a new postcode stays in clear.
with source as (
    select * from raw_input
),

ids as (
    select * from batch_identifiers
),

cleaned as (
    select
        s._line,
        nullif(trim(s.event_id), '') as event_id,
        nullif(trim(s.member_id), '') as member_id,
        nullif(trim(s.event_time), '') as event_time_text,
        try_cast(trim(s.event_time) as timestamptz) as event_time,
        lower(nullif(trim(s.event_type), '')) as event_type,
        nullif(trim(s.new_value), '') as new_value,
        lower(nullif(trim(s.channel), '')) as channel,
        upper(nullif(trim(s.ip_country), '')) as ip_country
    from source as s
),

joined as (
    select
        c.*,
        i.identifier_hash as new_value_hash,
        i.invalid_reason as new_value_invalid,
        i.iban_country as new_iban_country,
        i.iban_bank_code as new_iban_bank_code,
        i.email_domain as new_email_domain,
        case
            when c.event_type = 'address_change' and regexp_full_match(trim(c.new_value), '[0-9]{4}')
                then '0' || trim(c.new_value)
            when c.event_type = 'address_change' then trim(c.new_value)
        end as new_postcode
    from cleaned as c
    left join ids as i
        on i.raw_value = c.new_value
        and i.identifier_type = case c.event_type
            when 'iban_change' then 'iban'
            when 'email_change' then 'email'
            when 'phone_change' then 'phone'
        end
),

checked as (
    select
        *,
        list_filter([
            case when event_id is null then {'column': 'event_id', 'reason': 'missing'} end,
            case when member_id is null then {'column': 'member_id', 'reason': 'missing'}
                when length(member_id) > 32 then {'column': 'member_id', 'reason': 'longer than 32 characters'} end,
            case when event_time_text is null then {'column': 'event_time', 'reason': 'missing'}
                when event_time is null then {'column': 'event_time', 'reason': 'not an ISO 8601 timestamp'} end,
            case when event_type is null then {'column': 'event_type', 'reason': 'missing'}
                when event_type not in ('iban_change', 'email_change', 'phone_change', 'address_change',
                                        'password_reset', 'login_new_device')
                    then {'column': 'event_type', 'reason': 'unknown value'} end,
            case when new_value_invalid is not null then {'column': 'new_value', 'reason': new_value_invalid}
                when event_type = 'address_change' and new_postcode is not null
                    and not regexp_full_match(new_postcode, '[0-9]{5}')
                    then {'column': 'new_value', 'reason': 'not a 5-digit postcode'} end,
            case when channel is null then {'column': 'channel', 'reason': 'missing'}
                when channel not in ('web', 'app', 'phone', 'mail', 'agency')
                    then {'column': 'channel', 'reason': 'unknown value'} end,
            case when ip_country is not null and not regexp_full_match(ip_country, '[A-Z]{2}')
                then {'column': 'ip_country', 'reason': 'not an ISO 3166-1 alpha-2 code'} end
        ], lambda e: e is not null) as errors
    from joined
),

final as (
    select
        _line,
        event_id,
        member_id,
        event_time,
        event_type,
        new_value_hash,
        new_postcode,
        new_iban_country,
        new_iban_bank_code,
        new_email_domain,
        channel,
        ip_country,
        errors,
        case when len(errors) > 0 then to_json({
            'event_id': redact_stray(event_id),
            'member_id': redact_stray(member_id),
            'event_time': redact_stray(event_time_text),
            'event_type': redact_stray(event_type),
            'new_value': case
                when new_value_hash is not null then 'hmac:' || new_value_hash
                else redact_stray(new_value) end,
            'channel': redact_stray(channel),
            'ip_country': redact_stray(ip_country)
        })::varchar end as raw_json
    from checked
)

select * from final

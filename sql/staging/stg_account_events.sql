-- Type, normalise and check an account_events file against the data contract.
-- Grain: one row per input line of `raw_input` (all text; `_line` = line in the file).
-- The new IBAN / e-mail / phone arrives hashed (sql/staging/read_account_events.sql); a new
-- postcode stays in clear.
with source as (
    select * from raw_input
),

cleaned as (
    select
        s._line,
        nullif(trim(s.event_id), '') as event_id,
        nullif(trim(s.member_id), '') as member_id,
        nullif(trim(s.event_time), '') as event_time_text,
        cw_iso_timestamp(trim(s.event_time)) as event_time,
        lower(nullif(trim(s.event_type), '')) as event_type,
        nullif(trim(s.new_value), '') as new_value,
        lower(nullif(trim(s.channel), '')) as channel,
        upper(nullif(trim(s.ip_country), '')) as ip_country,
        s.new_value_hash,
        coalesce(s.new_value_invalid, case
            when s.new_value_type <> 'iban' or s.new_value_hash is null then null
            when f.iban_length is null then 'IBAN country is not known'
            when s.new_iban_length <> f.iban_length then 'IBAN length does not match its country'
        end) as new_value_invalid,
        s.new_iban_country,
        substr(s.new_iban_bban_head, 1, coalesce(b.bank_code_length, 4)) as new_iban_bank_code,
        s.new_email_domain
    from source as s
    left join iban_formats as f on f.country = s.new_iban_country
    left join iban_bank_codes as b on b.country = s.new_iban_country
),

joined as (
    select
        c.*,
        case
            when c.event_type = 'address_change' and regexp_full_match(c.new_value, '[0-9]{4}')
                then '0' || c.new_value
            when c.event_type = 'address_change' then c.new_value
        end as new_postcode
    from cleaned as c
),

checked as (
    select
        *,
        list_filter([
            case when event_id is null then {'column': 'event_id', 'reason': 'missing'}
                when event_id = '[redacted]' then {'column': 'event_id', 'reason': 'looks like a direct identifier (not stored)'}
                when cw_has_nul(event_id) then {'column': 'event_id', 'reason': 'contains a NUL byte'} end,
            case when member_id is null then {'column': 'member_id', 'reason': 'missing'}
                when member_id = '[redacted]' then {'column': 'member_id', 'reason': 'looks like a direct identifier (not stored)'}
                when cw_has_nul(member_id) then {'column': 'member_id', 'reason': 'contains a NUL byte'}
                when length(member_id) > 32 then {'column': 'member_id', 'reason': 'longer than 32 characters'} end,
            case when event_time_text is null then {'column': 'event_time', 'reason': 'missing'}
                when event_time is null then {'column': 'event_time', 'reason': 'not an ISO 8601 timestamp'}
                when event_time > current_timestamp + interval 1 day
                    then {'column': 'event_time', 'reason': 'in the future (after the run date)'} end,
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
            'event_id': cw_redact(event_id),
            'member_id': cw_redact(member_id),
            'event_time': cw_redact(event_time_text),
            'event_type': cw_redact(event_type),
            'new_value': case
                when new_value_hash is not null then 'hmac:' || new_value_hash
                else cw_redact(new_value) end,
            'channel': cw_redact(channel),
            'ip_country': cw_redact(ip_country)
        })::varchar end as raw_json
    from checked
)

select * from final

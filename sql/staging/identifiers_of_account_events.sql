-- Identifier values carried by an account_events file (the new IBAN / e-mail / phone).
-- Grain: one row per input line whose new_value is an identifier.
select
    case lower(trim(event_type))
        when 'iban_change' then 'iban'
        when 'email_change' then 'email'
        when 'phone_change' then 'phone'
    end as identifier_type,
    new_value as raw_value
from raw_input
where new_value is not null
    and lower(trim(event_type)) in ('iban_change', 'email_change', 'phone_change')

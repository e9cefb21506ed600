-- A case's member's account events (security events, contact and IBAN changes), oldest first;
-- only derived attributes, never the new value itself. Grain: one row per account event.
select
    event_time,
    event_type,
    channel,
    ip_country,
    new_iban_country,
    new_iban_bank_code,
    new_email_domain,
    new_postcode
from account_events
where member_id = $member_id
order by event_time, event_type, event_id

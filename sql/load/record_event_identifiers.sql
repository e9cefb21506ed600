-- Record every identifier value an account event gave a member (fraudsters change the contact
-- details a breach exposed, so linkage must see all values ever held).
insert into member_identifiers
select distinct
    e.member_id,
    case e.event_type when 'iban_change' then 'iban' when 'email_change' then 'email' else 'phone' end,
    e.new_value_hash,
    'account_events',
    min(e.event_time) over (partition by e.member_id, e.event_type, e.new_value_hash)
from account_events as e
where e.new_value_hash is not null
    and e.event_type in ('iban_change', 'email_change', 'phone_change')
    and not exists (
        select 1 from member_identifiers as mi
        where mi.member_id = e.member_id
            and mi.identifier_type = case e.event_type when 'iban_change' then 'iban'
                when 'email_change' then 'email' else 'phone' end
            and mi.identifier_hash = e.new_value_hash
    )

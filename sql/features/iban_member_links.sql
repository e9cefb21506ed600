-- Every (bank account, member) link: the member's IBAN on file, IBANs set by an IBAN change,
-- and accounts the member's reimbursements were paid to.
-- Grain: one row per (IBAN hash, member).
with links as (
    select iban_hash as iban_hash, member_id from members where iban_hash is not null
    union
    select new_value_hash, member_id from account_events
    where event_type = 'iban_change' and new_value_hash is not null
    union
    select payee_iban_hash, member_id from claims where payee_iban_hash is not null
),

final as (
    select l.iban_hash, l.member_id, m.subscriber_id
    from links as l
    join members as m on m.member_id = l.member_id
    where l.iban_hash in (select iban_hash from scope_ibans)  -- the accounts this run rebuilds
)

select * from final

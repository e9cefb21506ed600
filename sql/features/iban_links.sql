-- Who is linked to each bank account: mule accounts collect for members of several unrelated
-- contracts (subscribers) across the country, set on them within weeks; families share one
-- within a contract, couples with two contracts at one address, guardianship associations
-- for protected adults of one department over years.
-- Grain: one row per IBAN hash.
with links as (
    select * from f_iban_member_links
    where iban_hash in (select iban_hash from scope_ibans)  -- the accounts this run rebuilds
),

switches as (
    -- members whose IBAN was changed to this account, and when
    select new_value_hash as iban_hash, member_id, min(event_time) as switched_at
    from account_events
    where event_type = 'iban_change' and new_value_hash is not null
    group by new_value_hash, member_id
),

switch_stats as (
    select
        iban_hash,
        count(*) as members_switched,
        date_diff('day', min(switched_at), max(switched_at)) as switch_span_days
    from switches
    group by iban_hash
),

final as (
    select
        l.iban_hash,
        count(distinct l.member_id) as members_linked,
        count(distinct l.subscriber_id) as subscribers_linked,
        count(distinct m.postcode) as postcodes_linked,
        count(distinct m.department) as departments_linked,
        coalesce(any_value(s.members_switched), 0) as members_switched,
        any_value(s.switch_span_days) as switch_span_days
    from links as l
    join members as m on m.member_id = l.member_id
    left join switch_stats as s on s.iban_hash = l.iban_hash
    group by l.iban_hash
)

select * from final

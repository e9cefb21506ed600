-- A case's member for the reviewer (queue show, web case page): attributes kept in clear at
-- ingest (no clear identifier exists) and the breaches the member was matched in.
-- Grain: one row per member ($member_id).
with breaches as (
    select
        member_id,
        string_agg(breach_name || ' (' || matched_type || ')', ', ' order by breach_name, matched_type)
            as breaches
    from breach_exposure
    where member_id = $member_id
    group by member_id
)

select
    m.member_id,
    m.subscriber_id,
    m.sex,
    m.birth_date,
    m.department,
    m.contract_start,
    m.iban_country,
    m.iban_bank_code,
    m.email_domain,
    b.breaches
from members as m
left join breaches as b on b.member_id = m.member_id
where m.member_id = $member_id

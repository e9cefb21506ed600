-- How common each bank is among the portfolio's accounts: a bank almost nobody uses is a
-- weak signal on a new IBAN (independent of any list of online banks).
-- Grain: one row per (IBAN country, bank code).
with accounts as (
    select iban_country as country, iban_bank_code as bank_code, member_id
    from members where iban_hash is not null
    union
    select new_iban_country, new_iban_bank_code, member_id
    from account_events where event_type = 'iban_change' and new_iban_country is not null
),

totals as (
    select count(distinct member_id) as members_total from accounts
),

final as (
    select
        a.country,
        a.bank_code,
        count(distinct a.member_id) as members_with_bank,
        count(distinct a.member_id) / any_value(t.members_total) as bank_share,
        exists (
            select 1 from online_banks as o where o.country = a.country and o.bank_code = a.bank_code
        ) as is_online_bank
    from accounts as a
    cross join totals as t
    group by a.country, a.bank_code
)

select * from final

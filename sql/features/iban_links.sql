-- Who is linked to each bank account: mule accounts collect for members of several unrelated
-- contracts (subscribers), families share one within a contract.
-- Grain: one row per IBAN hash.
with links as (
    select * from f_iban_member_links
),

final as (
    select
        l.iban_hash,
        count(distinct l.member_id) as members_linked,
        count(distinct l.subscriber_id) as subscribers_linked,
        -- couples with two contracts share one account at one address; mules collect across
        -- the country
        count(distinct m.postcode) as postcodes_linked
    from links as l
    join members as m on m.member_id = l.member_id
    group by l.iban_hash
)

select * from final

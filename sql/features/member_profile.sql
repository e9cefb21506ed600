-- Member context for detection: age band, household size, breach exposure, data as-of date.
-- Grain: one row per member.
with members_ as (
    select * from members
),

as_of as (
    select coalesce(max(received_date), current_date) as as_of_date from claims
),

households as (
    select subscriber_id, count(*) as household_size
    from members_
    group by subscriber_id
),

exposure as (
    select
        member_id,
        count(distinct breach_name) as breach_count,
        min(breach_date) as first_breach_date,
        string_agg(distinct matched_type, ',' order by matched_type) as breach_matched_types
    from breach_exposure
    group by member_id
),

final as (
    select
        m.member_id,
        m.subscriber_id,
        m.sex,
        m.department,
        m.birth_date,
        date_diff('year', m.birth_date, a.as_of_date) as age,
        case
            when date_diff('year', m.birth_date, a.as_of_date) < 18 then '00-17'
            when date_diff('year', m.birth_date, a.as_of_date) < 30 then '18-29'
            when date_diff('year', m.birth_date, a.as_of_date) < 45 then '30-44'
            when date_diff('year', m.birth_date, a.as_of_date) < 60 then '45-59'
            when date_diff('year', m.birth_date, a.as_of_date) < 75 then '60-74'
            else '75+'
        end as age_band,
        h.household_size,
        coalesce(e.breach_count, 0) as breach_count,
        e.first_breach_date,
        e.breach_matched_types,
        m.iban_country,
        a.as_of_date
    from members_ as m
    cross join as_of as a
    left join households as h on h.subscriber_id = m.subscriber_id
    left join exposure as e on e.member_id = m.member_id
)

select * from final

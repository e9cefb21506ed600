-- Provider-side signals: providers new to the portfolio that suddenly bill many members who
-- never used them, far more breach-exposed than the portfolio, far from home, with a bad
-- registry key (FINESS / RPPS; ADELI numbers have none). Grain: one row per provider_id.
with claims_ as (
    select
        c.provider_id,
        c.member_id,
        c.care_date,
        c.received_date,
        c.claimed_amount,
        c.source,
        c.care_category,
        c.provider_postcode,
        p.department as member_department,
        p.breach_count > 0 as member_exposed
    from claims as c
    join f_member_profile as p on p.member_id = c.member_id
    where c.provider_id in (select provider_id from scope_providers)  -- the providers this run rebuilds
),

portfolio as (
    -- portfolio aggregates (sql/features/portfolio_rates.sql), refreshed on their schedule
    select data_start, exposure_rate from f_portfolio_rates
),

member_start as (
    select member_id, min(care_date) as member_first_care from claims group by member_id
),

patients as (
    -- one row per (provider, member): when the member first used the provider
    select
        c.provider_id,
        c.member_id,
        min(c.care_date) as first_care,
        bool_or(c.member_exposed) as member_exposed,
        any_value(c.member_department) as member_department
    from claims_ as c
    group by c.provider_id, c.member_id
),

provider_department as (
    select
        provider_id,
        -- the most frequent department, the first by code among equals
        arg_max(department, lpad(cast(lines as varchar), 12, '0') || department) as provider_department
    from (
        select
            provider_id,
            case
                when provider_postcode like '97%' then substr(provider_postcode, 1, 3)
                when provider_postcode like '20%' then
                    case when provider_postcode < '20200' then '2A' else '2B' end
                else substr(provider_postcode, 1, 2)
            end as department,
            count(*) as lines
        from claims_
        where provider_postcode is not null
        group by all
    )
    group by provider_id
),

provider_category as (
    -- the kind of care it bills most, the first by name among equals
    select provider_id,
        arg_max(care_category, lpad(cast(lines as varchar), 12, '0') || care_category) as main_category
    from (select provider_id, care_category, count(*) as lines from claims_ group by all)
    group by provider_id
),

patient_stats as (
    select
        pt.provider_id,
        count(*) as patients,
        count(*) filter (where pt.member_exposed) as exposed_patients,
        count(*) filter (where pt.first_care >= ms.member_first_care + 90) as patients_with_prior_history,
        -- how concentrated in time the first visits are: share within the busiest 60 days
        date_diff('day', min(pt.first_care), max(pt.first_care)) as first_visit_span_days,
        -- unknown when the provider's postcode is never given
        case when any_value(pd.provider_department) is not null then count(*) filter (
            where pt.member_department <> pd.provider_department
        ) end as patients_outside_department
    from patients as pt
    join member_start as ms on ms.member_id = pt.member_id
    left join provider_department as pd on pd.provider_id = pt.provider_id
    group by pt.provider_id
),

lines as (
    select
        provider_id,
        min(care_date) as first_seen,
        max(care_date) as last_seen,
        count(*) as lines,
        sum(claimed_amount) as claimed_total,
        avg(case when source = 'tiers_payant' then 1.0 else 0.0 end) as tiers_payant_share,
        avg(case when care_category in ('optical', 'dental', 'hearing', 'alternative_medicine',
                                        'paramedical') then 1.0 else 0.0 end) as high_risk_share
    from claims_
    group by provider_id
),

registry_key as (
    -- which registry a number belongs to and whether its Luhn key holds: RPPS (practitioners,
    -- 11 digits) and FINESS (establishments: pharmacies, labs, imaging, hospitals, opticians,
    -- hearing-aid centres; 9 characters, 2A/2B read as 20) carry a key; a 9-digit number of a
    -- provider billing other care is an ADELI number (department + profession + serial:
    -- osteopaths, psychologists...), which has none
    select
        l.provider_id,
        case
            when regexp_full_match(l.provider_id, '[0-9]{11}') then 'RPPS'
            when regexp_full_match(l.provider_id, '([0-9]{2}|2A|2B)[0-9]{7}')
                and pc.main_category in ('pharmacy', 'lab', 'imaging', 'hospital', 'optical', 'hearing')
                then 'FINESS'
            when regexp_full_match(l.provider_id, '[0-9]{9}') then 'ADELI'
        end as registry,
        case
            when regexp_full_match(l.provider_id, '[0-9]{11}')
                or (regexp_full_match(l.provider_id, '([0-9]{2}|2A|2B)[0-9]{7}')
                    and pc.main_category in ('pharmacy', 'lab', 'imaging', 'hospital', 'optical', 'hearing'))
            then
                list_sum(list_transform(
                    list_reverse(string_split(replace(replace(l.provider_id, '2A', '20'), '2B', '20'), '')),
                    lambda d, i: case
                        when i % 2 = 0 then
                            case when cast(d as integer) * 2 > 9 then cast(d as integer) * 2 - 9
                                else cast(d as integer) * 2 end
                        else cast(d as integer)
                    end
                )) % 10 = 0
        end as registry_key_valid
    from lines as l
    join provider_category as pc on pc.provider_id = l.provider_id
),

final as (
    select
        l.provider_id,
        l.first_seen,
        l.last_seen,
        l.lines,
        l.claimed_total,
        l.tiers_payant_share,
        l.high_risk_share,
        pc.main_category,
        pd.provider_department,
        s.patients,
        s.exposed_patients,
        s.exposed_patients / s.patients as exposed_share,
        po.exposure_rate as portfolio_exposure_rate,
        -- binomial z-score of breach exposure among its patients against the portfolio rate
        (s.exposed_patients - s.patients * po.exposure_rate)
            / sqrt(greatest(s.patients * po.exposure_rate * (1 - po.exposure_rate), 1e-9))
            as exposure_z,
        s.patients_with_prior_history / s.patients as prior_history_share,
        s.first_visit_span_days,
        s.patients_outside_department / s.patients as outside_department_share,
        l.first_seen >= po.data_start + 60 as new_to_portfolio,
        rk.registry,
        rk.registry_key_valid
    from lines as l
    join provider_category as pc on pc.provider_id = l.provider_id
    join patient_stats as s on s.provider_id = l.provider_id
    left join provider_department as pd on pd.provider_id = l.provider_id
    left join registry_key as rk on rk.provider_id = l.provider_id
    cross join portfolio as po
)

select * from final

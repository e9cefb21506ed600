-- Account-takeover sequences around each IBAN change: security events and contact changes
-- before it, the new bank, who else uses the account, and the first payments made to it.
-- Grain: one row per iban_change event.
with events as (
    select * from account_events
),

profile as (
    select * from f_member_profile
),

raw_changes as (
    select * from events where event_type = 'iban_change'
        and member_id in (select member_id from scope_change_members)  -- the members this run rebuilds
),

inferred_account as (
    -- an IBAN change delivered without its new value: the account it set is the first
    -- account paid within 60 days after it that the member had never been paid to before
    select
        rc.event_id,
        arg_min(cl.payee_iban_hash, cl.received_date) as iban_hash,
        arg_min(cl.payee_iban_country, cl.received_date) as iban_country,
        arg_min(cl.payee_iban_bank_code, cl.received_date) as iban_bank_code
    from raw_changes as rc
    join claims as cl
        on cl.member_id = rc.member_id and cl.payee_iban_hash is not null
        and cl.received_date between cast(rc.event_time as date) and cast(rc.event_time as date) + 60
    where rc.new_value_hash is null
        and not exists (
            select 1 from claims as earlier
            where earlier.member_id = rc.member_id and earlier.payee_iban_hash = cl.payee_iban_hash
                and earlier.received_date < cast(rc.event_time as date)
        )
    group by rc.event_id
),

changes as (
    select
        e.event_id,
        e.member_id,
        e.event_time,
        cast(e.event_time as date) as change_date,
        coalesce(e.new_value_hash, i.iban_hash) as new_iban_hash,
        coalesce(e.new_iban_country, i.iban_country) as new_iban_country,
        coalesce(e.new_iban_bank_code, i.iban_bank_code) as new_iban_bank_code,
        e.channel,
        e.ip_country
    from raw_changes as e
    left join inferred_account as i on i.event_id = e.event_id
    where coalesce(e.new_value_hash, i.iban_hash) is not null
),

context as (
    select
        c.event_id,
        count(e.event_id) filter (
            where e.event_type in ('password_reset', 'login_new_device')
            and e.event_time between c.event_time - interval 14 day and c.event_time
        ) as security_events_14d_before,
        min(date_diff('hour', e.event_time, c.event_time)) filter (
            where e.event_type in ('password_reset', 'login_new_device')
            and e.event_time between c.event_time - interval 14 day and c.event_time
        ) as hours_since_security_event,
        count(e.event_id) filter (
            where e.event_type in ('email_change', 'phone_change')
            and e.event_time between c.event_time - interval 30 day and c.event_time
        ) as contact_changes_30d_before,
        min(date_diff('hour', e.event_time, c.event_time)) filter (
            where e.event_type in ('email_change', 'phone_change')
            and e.event_time between c.event_time - interval 30 day and c.event_time
        ) as hours_since_contact_change,
        count(e.event_id) filter (
            where e.ip_country is not null and e.ip_country <> 'FR'
            and e.event_time between c.event_time - interval 14 day and c.event_time + interval 1 day
        ) as foreign_ip_events_14d,
        min(e.ip_country) filter (
            where e.ip_country is not null and e.ip_country <> 'FR'
            and e.event_time between c.event_time - interval 14 day and c.event_time + interval 1 day
        ) as foreign_ip_country,
        -- sessions from several foreign countries: a move abroad shows one
        count(distinct e.ip_country) filter (
            where e.ip_country is not null and e.ip_country <> 'FR'
            and e.event_time between c.event_time - interval 14 day and c.event_time + interval 1 day
        ) as foreign_ip_countries,
        count(e.event_id) filter (
            where e.event_type = 'iban_change'
            and e.event_time between c.event_time - interval 365 day and c.event_time
        ) as other_iban_changes_365d
    from changes as c
    left join events as e on e.member_id = c.member_id and e.event_id <> c.event_id
    group by c.event_id
),

previous_account as (
    -- the account the member was last paid to before the change
    select c.event_id,
        arg_max(cl.payee_iban_hash, strftime(cl.received_date, '%Y%m%d') || cl.claim_id) as previous_iban_hash,
        arg_max(cl.payee_iban_country, strftime(cl.received_date, '%Y%m%d') || cl.claim_id)
            as previous_iban_country
    from changes as c
    join claims as cl
        on cl.member_id = c.member_id and cl.received_date < c.change_date
        and cl.payee_iban_hash is not null
    group by c.event_id
),

household_use as (
    -- other members of the same contract who use the new account
    select c.event_id, count(distinct l.member_id) as household_members_on_new_iban
    from changes as c
    join profile as p on p.member_id = c.member_id
    join f_iban_member_links as l
        on l.iban_hash = c.new_iban_hash and l.subscriber_id = p.subscriber_id
        and l.member_id <> c.member_id
    group by c.event_id
),

payments as (
    select
        c.event_id,
        min(date_diff('day', c.change_date, cl.received_date)) as days_to_first_payment,
        count(*) filter (where cl.received_date <= c.change_date + 30) as payments_30d,
        sum(cl.claimed_amount) filter (where cl.received_date <= c.change_date + 30)
            as amount_paid_30d,
        count(*) filter (
            where cl.received_date <= c.change_date + 30
            and cl.source in ('member_upload', 'paper')
        ) as uploaded_payments_30d,
        count(*) filter (
            where cl.received_date <= c.change_date + 30
            and cl.care_category in ('optical', 'dental', 'hearing', 'alternative_medicine')
        ) as high_risk_payments_30d,
        string_agg(distinct cl.care_category, ', ' order by cl.care_category) filter (
            where cl.received_date <= c.change_date + 30
        ) as categories_paid_30d
    from changes as c
    join claims as cl
        on cl.member_id = c.member_id and cl.payee_iban_hash = c.new_iban_hash
        and cl.received_date >= c.change_date and cl.received_date <= c.change_date + 90
    group by c.event_id
),

final as (
    select
        c.*,
        p.subscriber_id,
        p.household_size,
        p.department,
        p.breach_count,
        p.first_breach_date,
        p.breach_count > 0 and c.change_date >= p.first_breach_date as changed_after_breach,
        coalesce(x.security_events_14d_before, 0) as security_events_14d_before,
        x.hours_since_security_event,
        coalesce(x.contact_changes_30d_before, 0) as contact_changes_30d_before,
        x.hours_since_contact_change,
        coalesce(x.foreign_ip_events_14d, 0)
            + case when c.ip_country is not null and c.ip_country <> 'FR' then 1 else 0 end
            as foreign_ip_events_14d,
        coalesce(case when c.ip_country <> 'FR' then c.ip_country end, x.foreign_ip_country)
            as foreign_ip_country,
        coalesce(x.foreign_ip_countries, 0)
            + case when c.ip_country is not null and c.ip_country <> 'FR'
                and c.ip_country is distinct from x.foreign_ip_country then 1 else 0 end
            as foreign_ip_countries,
        coalesce(x.other_iban_changes_365d, 0) as other_iban_changes_365d,
        pa.previous_iban_hash,
        pa.previous_iban_country,
        coalesce(pa.previous_iban_country not in ('FR', 'MC'), false) as previous_iban_foreign,
        c.new_iban_country not in ('FR', 'MC') as new_iban_foreign,
        coalesce(b.is_online_bank, false) as new_bank_online,
        coalesce(b.bank_share, 0) as new_bank_share,
        coalesce(h.household_members_on_new_iban, 0) as household_members_on_new_iban,
        coalesce(l.subscribers_linked, 1) as new_iban_subscribers_linked,
        coalesce(l.members_linked, 1) as new_iban_members_linked,
        coalesce(l.postcodes_linked, 1) as new_iban_postcodes_linked,
        coalesce(l.departments_linked, 1) as new_iban_departments_linked,
        coalesce(l.members_switched, 0) as new_iban_members_switched,
        l.switch_span_days as new_iban_switch_span_days,
        py.days_to_first_payment,
        coalesce(py.payments_30d, 0) as payments_30d,
        coalesce(py.amount_paid_30d, 0) as amount_paid_30d,
        coalesce(py.uploaded_payments_30d, 0) as uploaded_payments_30d,
        coalesce(py.high_risk_payments_30d, 0) as high_risk_payments_30d,
        py.categories_paid_30d
    from changes as c
    join profile as p on p.member_id = c.member_id
    left join context as x on x.event_id = c.event_id
    left join previous_account as pa on pa.event_id = c.event_id
    left join household_use as h on h.event_id = c.event_id
    left join f_iban_links as l on l.iban_hash = c.new_iban_hash
    left join f_bank_prevalence as b
        on b.country = c.new_iban_country and b.bank_code = c.new_iban_bank_code
    left join payments as py on py.event_id = c.event_id
)

select * from final

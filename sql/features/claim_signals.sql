-- Per-line signals: the same care paid twice through two channels, payment to a freshly
-- changed or shared account, provider context, first use of a category, amount against the
-- member's own history and against peers (age band, sex, category).
-- Grain: one row per claim line.
with claims_ as (
    select c.*, p.age_band, p.sex, p.subscriber_id, p.first_breach_date
    from claims as c
    join f_member_profile as p on p.member_id = c.member_id
),

same_care as (
    -- groups of lines for the same care (member, care date, act, billed amount) that came
    -- through more than one source: few, so the ordering below stays small
    select member_id, care_date, act_code, billed_amount,
        sum(claimed_amount) as group_claimed, min(ro_amount) as group_ro
    from claims_
    group by member_id, care_date, act_code, billed_amount
    having count(*) > 1 and count(distinct source) > 1
),

duplicates as (
    -- every line but the first received one is a second claim for the same care. It is a
    -- second payment when it repeats the first line's amount or when the lines together pay
    -- more than the member's out-of-pocket (billed - ro); a member's invoice for the part
    -- above the RO base (complement of a noemie line) is neither.
    select
        c.claim_id,
        row_number() over w > 1 as is_cross_channel_duplicate,
        c.claimed_amount = first_value(c.claimed_amount) over w
            or g.group_claimed > c.billed_amount - g.group_ro + 0.01 as duplicate_overpays,
        first_value(c.source) over w as duplicate_of_source,
        first_value(c.claim_id) over w as duplicate_of_claim_id
    from claims_ as c
    join same_care as g
        on g.member_id = c.member_id and g.care_date = c.care_date and g.act_code = c.act_code
        and g.billed_amount = c.billed_amount
    window w as (
        partition by c.member_id, c.care_date, c.act_code, c.billed_amount
        order by c.received_date, c.claim_id
    )
),

after_change as (
    -- the latest IBAN change of this member to the account this line is paid to
    select
        c.claim_id,
        arg_max(ch.event_id, ch.event_time) as iban_change_event_id,
        min(date_diff('day', ch.change_date, c.received_date)) as days_after_iban_change
    from claims_ as c
    join f_iban_changes as ch
        on ch.member_id = c.member_id and ch.new_iban_hash = c.payee_iban_hash
        and c.received_date between ch.change_date and ch.change_date + 90
    group by c.claim_id
),

peers as (
    select
        age_band, sex, care_category,
        avg(ln(1 + claimed_amount)) as peer_log_mean,
        stddev_pop(ln(1 + claimed_amount)) as peer_log_sd
    from claims_
    group by age_band, sex, care_category
),

member_category as (
    -- the member's history per kind of care (hash aggregates, no sort)
    select member_id, care_category, min(care_date) as first_care_in_category,
        sum(claimed_amount) as category_claimed, count(*) as category_lines
    from claims_
    group by member_id, care_category
),

member_start as (
    select member_id, min(care_date) as member_first_care from claims_ group by member_id
),

own_history as (
    select
        c.claim_id,
        c.care_date = mc.first_care_in_category as first_use_of_category,
        ms.member_first_care,
        -- the member's mean for this kind of care over the rest of the history
        (mc.category_claimed - c.claimed_amount) / nullif(mc.category_lines - 1, 0)
            as own_category_mean_others,
        date_diff('day',
            lag(c.care_date) over (partition by c.member_id order by c.care_date, c.claim_id),
            c.care_date) as days_since_previous_care
    from claims_ as c
    join member_category as mc on mc.member_id = c.member_id and mc.care_category = c.care_category
    join member_start as ms on ms.member_id = c.member_id
),

final as (
    select
        c.claim_id,
        c.member_id,
        c.subscriber_id,
        c.care_date,
        c.received_date,
        c.source,
        c.care_category,
        c.act_code,
        c.provider_id,
        c.claimed_amount,
        c.payee,
        c.payee_iban_hash,
        c.payee_iban_country,
        c.billed_amount,
        c.provider_postcode,
        coalesce(d.is_cross_channel_duplicate, false) as is_cross_channel_duplicate,
        coalesce(d.is_cross_channel_duplicate and d.duplicate_overpays, false) as is_duplicate_payment,
        case when d.is_cross_channel_duplicate then d.duplicate_of_source end as duplicate_of_source,
        case when d.is_cross_channel_duplicate then d.duplicate_of_claim_id end as duplicate_of_claim_id,
        a.iban_change_event_id,
        a.days_after_iban_change,
        coalesce(l.subscribers_linked, 0) as payee_iban_subscribers_linked,
        coalesce(l.members_linked, 0) as payee_iban_members_linked,
        coalesce(l.postcodes_linked, 0) as payee_iban_postcodes_linked,
        coalesce(l.departments_linked, 0) as payee_iban_departments_linked,
        coalesce(l.members_switched, 0) as payee_iban_members_switched,
        l.switch_span_days as payee_iban_switch_span_days,
        h.first_use_of_category and c.care_date >= h.member_first_care + 90 as first_use_of_category,
        h.days_since_previous_care,
        c.claimed_amount / nullif(h.own_category_mean_others, 0) as amount_vs_own_history,
        (ln(1 + c.claimed_amount) - pe.peer_log_mean) / nullif(pe.peer_log_sd, 0) as amount_peer_z,
        c.first_breach_date is not null and c.care_date >= c.first_breach_date as after_breach,
        c.source in ('member_upload', 'paper') as member_sent,
        c.care_category in ('optical', 'dental', 'hearing', 'alternative_medicine') as high_risk_category
    from claims_ as c
    left join duplicates as d on d.claim_id = c.claim_id
    join own_history as h on h.claim_id = c.claim_id
    left join after_change as a on a.claim_id = c.claim_id
    left join f_iban_links as l on l.iban_hash = c.payee_iban_hash
    left join peers as pe
        on pe.age_band = c.age_band and pe.sex = c.sex and pe.care_category = c.care_category
)

select * from final

-- Per-line signals: the same care unit paid twice through two channels, payment to a freshly
-- changed (own or a relative's change) or shared account, provider context, first use of a category, amount against the
-- member's own history and against peers (age band, sex, category).
-- Grain: one row per claim line.
-- Reads scope_claims: the claim lines of the members this run rebuilds (a chunk of them),
-- copied once by the caller so the eight passes below scan those lines, not the history.
with claims_ as not materialized (
    select c.*, p.age_band, p.sex, p.subscriber_id, p.first_breach_date
    from scope_claims as c
    join f_member_profile as p on p.member_id = c.member_id
),

same_care as (
    -- lines for the same care (member, care date, act, provider, billed amount) that came
    -- through more than one source: few, so the ordering below stays small. The same act the
    -- same day at two providers is two visits; a 0 € line pays nothing and is never a copy.
    select member_id, care_date, act_code, provider_id, billed_amount,
        sum(claimed_amount) as group_claimed, min(ro_amount) as group_ro
    from claims_
    where claimed_amount > 0
    group by member_id, care_date, act_code, provider_id, billed_amount
    having count(*) > 1 and count(distinct source) > 1
),

care_units as (
    -- several units of one act on one day (two crowns, two hearing aids) each have their own
    -- line per source: a line's unit is its place among the lines of its source
    select
        c.claim_id, c.member_id, c.care_date, c.act_code, c.provider_id, c.billed_amount,
        c.source, c.received_date, c.claimed_amount, g.group_claimed, g.group_ro,
        row_number() over (
            partition by c.member_id, c.care_date, c.act_code, c.provider_id, c.billed_amount, c.source
            order by c.received_date, c.claim_id
        ) as unit
    from claims_ as c
    join same_care as g
        on g.member_id = c.member_id and g.care_date = c.care_date and g.act_code = c.act_code
        and g.provider_id = c.provider_id and g.billed_amount = c.billed_amount
    where c.claimed_amount > 0
),

unit_counts as (
    select member_id, care_date, act_code, provider_id, billed_amount, max(unit) as units
    from care_units
    group by member_id, care_date, act_code, provider_id, billed_amount
),

duplicates as (
    -- within one care unit, every line but the first received one is a second claim. It is a
    -- second payment when it repeats the first line's amount, or when it takes what the unit
    -- has claimed so far above the unit's out-of-pocket (billed - ro) while the group's lines
    -- together pay more than the out-of-pocket of all its units (a member's invoice for the
    -- part above the RO base, the complement of a noemie line, is neither). A member-sent line
    -- that repeats an earlier member-sent line of its unit (same amount: one invoice sent by
    -- paper and uploaded too) re-sends the member's own invoice: an honest double submission.
    select
        u.claim_id,
        row_number() over w > 1 as is_cross_channel_duplicate,
        u.claimed_amount = first_value(u.claimed_amount) over w
            or (
                u.group_claimed > n.units * (u.billed_amount - u.group_ro) + 0.01
                and sum(u.claimed_amount) over w > u.billed_amount - u.group_ro + 0.01
            ) as duplicate_overpays,
        first_value(u.source) over w as duplicate_of_source,
        first_value(u.claim_id) over w as duplicate_of_claim_id,
        u.source in ('member_upload', 'paper') and row_number() over same_invoice > 1
            as resends_member_invoice,
        first_value(u.claim_id) over same_invoice as resent_claim_id,
        n.units as care_units
    from care_units as u
    join unit_counts as n
        on n.member_id = u.member_id and n.care_date = u.care_date and n.act_code = u.act_code
        and n.provider_id = u.provider_id and n.billed_amount = u.billed_amount
    window
        w as (
            partition by u.member_id, u.care_date, u.act_code, u.provider_id, u.billed_amount, u.unit
            order by u.received_date, u.claim_id
        ),
        same_invoice as (
            partition by u.member_id, u.care_date, u.act_code, u.provider_id, u.billed_amount, u.unit,
                u.claimed_amount, u.source in ('member_upload', 'paper')
            order by u.received_date, u.claim_id
        )
),

after_change as (
    -- the latest IBAN change of this member to the account this line is paid to
    select
        c.claim_id,
        arg_max(ch.event_id, strftime(ch.event_time, '%Y%m%d%H%M%S') || ch.event_id) as iban_change_event_id,
        min(date_diff('day', ch.change_date, c.received_date)) as days_after_iban_change
    from claims_ as c
    join f_iban_changes as ch
        on ch.member_id = c.member_id and ch.new_iban_hash = c.payee_iban_hash
        and c.received_date between ch.change_date and ch.change_date + 90
    group by c.claim_id
),

household_change as (
    -- a relative's line (same contract) paid to an account set by another member's IBAN change:
    -- a takeover of the subscriber's account lets the fraudster claim in any relative's name
    select
        c.claim_id,
        arg_max(ch.event_id, strftime(ch.event_time, '%Y%m%d%H%M%S') || ch.event_id)
            as household_change_event_id
    from claims_ as c
    join f_iban_changes as ch
        on ch.subscriber_id = c.subscriber_id and ch.member_id <> c.member_id
        and ch.new_iban_hash = c.payee_iban_hash
        and c.received_date between ch.change_date and ch.change_date + 90
    group by c.claim_id
),

peers as (
    -- portfolio aggregate (sql/features/peer_amounts.sql), refreshed on its schedule
    select age_band, sex, care_category, peer_log_mean, peer_log_sd from f_peer_amounts
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
        coalesce(d.is_cross_channel_duplicate and d.resends_member_invoice, false) as resends_member_invoice,
        case when d.is_cross_channel_duplicate and d.resends_member_invoice then d.resent_claim_id end
            as resent_claim_id,
        coalesce(d.care_units, 1) as care_units,
        a.iban_change_event_id,
        case when a.iban_change_event_id is null then hc.household_change_event_id end
            as household_change_event_id,
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
    left join household_change as hc on hc.claim_id = c.claim_id
    left join f_iban_links as l on l.iban_hash = c.payee_iban_hash
    left join peers as pe
        on pe.age_band = c.age_band and pe.sex = c.sex and pe.care_category = c.care_category
)

select * from final

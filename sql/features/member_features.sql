-- The numeric profile of each member handed to the PyOD ensemble (unsupervised): takeover,
-- shared-account, provider, duplicate, behaviour-change and exposure signals over the whole
-- history. Grain: one row per member with at least one claim line or account event.
with signals as (
    select * from f_claim_signals
    where member_id in (select member_id from scope_feature_members)  -- the members this run rebuilds
),

profile as (
    select * from f_member_profile
    where member_id in (select member_id from scope_feature_members)
),

claim_side as (
    select
        s.member_id,
        count(*) as claim_lines,
        sum(s.claimed_amount) as claimed_total,
        avg(case when s.member_sent then 1.0 else 0.0 end) as member_sent_share,
        sum(s.claimed_amount) filter (where s.high_risk_category) / nullif(sum(s.claimed_amount), 0)
            as high_risk_amount_share,
        coalesce(max(s.amount_peer_z), 0) as max_amount_peer_z,
        coalesce(max(s.amount_vs_own_history), 1) as max_amount_vs_own_history,
        count(*) filter (where s.is_duplicate_payment) as duplicate_lines,
        count(*) filter (where s.days_after_iban_change <= 30) as lines_paid_to_new_iban_30d,
        max(s.payee_iban_subscribers_linked) as max_payee_iban_subscribers,
        count(*) filter (where s.first_use_of_category and s.after_breach) as new_categories_after_breach,
        -- dormancy then burst: the longest silence before a claim
        coalesce(max(s.days_since_previous_care), 0) as longest_gap_days,
        count(distinct s.provider_id) as providers
    from signals as s
    group by s.member_id
),

-- providers as of the last refresh of the portfolio aggregates (provider_standing.sql), and
-- those first seen since then as they are now
standing as (
    select provider_id, exposure_z, outside_department_share, registry_key_valid, new_to_portfolio
    from f_provider_standing
    union all
    select pp.provider_id, pp.exposure_z, pp.outside_department_share, pp.registry_key_valid,
        pp.new_to_portfolio
    from f_provider_profile as pp
    anti join f_provider_standing as ps on ps.provider_id = pp.provider_id
),

provider_side as (
    select
        s.member_id,
        max(pp.exposure_z) as max_provider_exposure_z,
        max(pp.outside_department_share) as max_provider_outside_share,
        max(case when pp.registry_key_valid = false then 1 else 0 end) as billed_by_bad_key_provider,
        max(case when pp.new_to_portfolio then 1 else 0 end) as billed_by_new_provider
    from signals as s
    join standing as pp on pp.provider_id = s.provider_id
    group by s.member_id
),

event_side as (
    select
        member_id,
        count(*) filter (where event_type = 'iban_change') as iban_changes,
        count(*) filter (where event_type in ('password_reset', 'login_new_device')) as security_events,
        count(*) filter (where event_type in ('email_change', 'phone_change')) as contact_changes,
        count(*) filter (where ip_country is not null and ip_country <> 'FR') as foreign_ip_events
    from account_events
    where member_id in (select member_id from scope_feature_members)
    group by member_id
),

change_side as (
    select
        member_id,
        min(days_to_first_payment) as min_days_change_to_payment,
        max(security_events_14d_before) as max_security_events_before_change,
        max(case when new_iban_foreign and not previous_iban_foreign then 1 else 0 end)
            as changed_to_foreign_iban,
        min(new_bank_share) as min_new_bank_share
    from f_iban_changes
    where member_id in (select member_id from scope_feature_members)
    group by member_id
),

final as (
    select
        p.member_id,
        coalesce(c.claim_lines, 0) as claim_lines,
        coalesce(c.claimed_total, 0) as claimed_total,
        coalesce(c.member_sent_share, 0) as member_sent_share,
        coalesce(c.high_risk_amount_share, 0) as high_risk_amount_share,
        coalesce(c.max_amount_peer_z, 0) as max_amount_peer_z,
        coalesce(c.max_amount_vs_own_history, 1) as max_amount_vs_own_history,
        coalesce(c.duplicate_lines, 0) as duplicate_lines,
        coalesce(c.lines_paid_to_new_iban_30d, 0) as lines_paid_to_new_iban_30d,
        coalesce(c.max_payee_iban_subscribers, 0) as max_payee_iban_subscribers,
        coalesce(c.new_categories_after_breach, 0) as new_categories_after_breach,
        coalesce(c.longest_gap_days, 0) as longest_gap_days,
        coalesce(c.providers, 0) as providers,
        coalesce(ps.max_provider_exposure_z, 0) as max_provider_exposure_z,
        coalesce(ps.max_provider_outside_share, 0) as max_provider_outside_share,
        coalesce(ps.billed_by_bad_key_provider, 0) as billed_by_bad_key_provider,
        coalesce(ps.billed_by_new_provider, 0) as billed_by_new_provider,
        coalesce(e.iban_changes, 0) as iban_changes,
        coalesce(e.security_events, 0) as security_events,
        coalesce(e.contact_changes, 0) as contact_changes,
        coalesce(e.foreign_ip_events, 0) as foreign_ip_events,
        coalesce(ch.min_days_change_to_payment, 999) as min_days_change_to_payment,
        coalesce(ch.max_security_events_before_change, 0) as max_security_events_before_change,
        coalesce(ch.changed_to_foreign_iban, 0) as changed_to_foreign_iban,
        coalesce(ch.min_new_bank_share, 1) as min_new_bank_share,
        p.breach_count,
        p.age
    from profile as p
    left join claim_side as c on c.member_id = p.member_id
    left join provider_side as ps on ps.member_id = p.member_id
    left join event_side as e on e.member_id = p.member_id
    left join change_side as ch on ch.member_id = p.member_id
    where c.member_id is not null or e.member_id is not null
)

select * from final

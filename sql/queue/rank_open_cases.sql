-- Rank the open cases, most suspicious first; closed cases have no rank. Run after every
-- refresh, decision and purge, so ranks never have gaps.
-- Schemes (cases sharing a scheme_id: one mule account, one fake provider, one household
-- takeover) are investigations. A scheme spanning several contracts (a ring) shows its
-- strongest member on its score; the strongest further members keep their scores as long as
-- every distinct strong incident (rings' leads, cases of their own scoring 80 or more) still
-- fits in the 200 cases reviewers work through; each other further member (the ring is on
-- screen already, one decision closes it) ranks 20 points lower per member before it beyond
-- the first, but never below a case of its own weaker than 80 or than itself (the values of
-- detectors.config.SchemeConfig: lead_members, queue_capacity, follower_step_back,
-- strong_case_score; a test holds them together). The members of a scheme within one contract (a household takeover: the
-- victim and the relatives claimed in their name) rank as cases of their own, and so do the
-- open members of a scheme with a member closed as fraud (a confirmed scheme). A ring member
-- goes right before the first case of its own weaker than its ranking score, and the members
-- of the rings in one such gap follow each other round by round, so the top shows distinct
-- incidents. Ties: more money at risk first, then case id. Reference implementation:
-- detectors/schemes.py queue_order.
update cases set rank = ranked.rank
from (
    with open_cases as (
        select c.case_id, c.score, c.amount_at_risk, c.scheme_id, m.subscriber_id
        from cases as c
        left join members as m on m.member_id = c.member_id
        where c.status in ('new', 'in_review', 'needs_info')
    ),

    scheme_contracts as (
        select scheme_id, count(distinct subscriber_id) as contracts
        from open_cases
        where scheme_id is not null
        group by scheme_id
    ),

    confirmed_schemes as (
        select distinct scheme_id from cases
        where status = 'closed_fraud' and scheme_id is not null
    ),

    rings as (
        -- a scheme of one contract, or one a reviewer confirmed, is no ring to step back: its
        -- open members rank as cases of their own
        select o.case_id, o.score, o.amount_at_risk,
            case when k.contracts > 1 and f.scheme_id is null then o.scheme_id end as ring_id,
            f.scheme_id is not null as confirmed
        from open_cases as o
        left join scheme_contracts as k on k.scheme_id = o.scheme_id
        left join confirmed_schemes as f on f.scheme_id = o.scheme_id
    ),

    placed as (
        select *,
            case when ring_id is not null then
                row_number() over (partition by ring_id order by score desc, case_id)
            end as place_in_scheme
        from rings
    ),

    counted as (
        -- distinct strong incidents (rings' leads, cases of their own scoring 80 or more; a
        -- confirmed scheme's open members are the follow-up of a decided investigation), and
        -- each further member's place among all further members
        select *,
            count(*) filter (
                where not coalesce(place_in_scheme > 1, false) and not confirmed and score >= 80.0
            ) over () as distinct_strong,
            case when place_in_scheme > 1 then
                row_number() over (
                    partition by coalesce(place_in_scheme > 1, false) order by score desc, case_id
                )
            end as follower_place
        from placed
    ),

    scored as (
        -- the strongest further members keep their scores while every distinct strong incident
        -- still fits in the 200 cases reviewers work through (queue_capacity)
        select *,
            case when place_in_scheme > 1 and follower_place > 200 - distinct_strong
                then greatest(score - 20.0 * (place_in_scheme - 1), least(score, 80.0))
                else score end as ranking_score
        from counted
    ),

    unrelated as (
        select distinct score as band from rings where ring_id is null
    ),

    banded as (
        -- a ring member's band: the strongest unrelated score not above its ranking score
        select s.*, u.band
        from scored as s
        asof left join unrelated as u on s.ranking_score >= u.band
    ),

    gaps as (
        select
            case_id, score, amount_at_risk, ring_id,
            case when ring_id is null then score else coalesce(band, -1) end as band,
            case when ring_id is null then 1 else 0 end as after_schemes
        from banded
    ),

    keyed as (
        -- a member's round among its ring's members in the same gap
        select *,
            case when ring_id is null then 1
                else row_number() over (partition by ring_id, band order by score desc, case_id) end as place
        from gaps
    )

    select case_id,
        row_number() over (
            order by band desc, after_schemes, place, score desc, amount_at_risk desc, case_id
        ) as rank
    from keyed
) as ranked
where cases.case_id = ranked.case_id and cases.rank is distinct from ranked.rank;

update cases set rank = null where status in ('closed_fraud', 'closed_legitimate') and rank is not null

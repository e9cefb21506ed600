-- Rank the open cases, most suspicious first; closed cases have no rank. Run after every
-- refresh, decision and purge, so ranks never have gaps.
-- Schemes (cases sharing a scheme_id: one mule account, one fake provider, one household
-- takeover) are investigations. A scheme's 2 strongest members rank on their score; further
-- members (the scheme is on screen already, one decision closes it) rank as if 10 points lower,
-- but never below a case of its own weaker than 80 or than themselves minus 10 (the values of
-- detectors.config.SchemeConfig: lead_members, follower_step_back, strong_case_score; a test
-- holds them together). A scheme member goes right before the first case of its own weaker
-- than that ranking score, and the members of the schemes in one such gap follow each other
-- round by round, so the top shows distinct schemes. Ties: more money at risk first, then case
-- id. Reference implementation: detectors/schemes.py queue_order.
update cases set rank = ranked.rank
from (
    with open_cases as (
        select case_id, score, amount_at_risk, scheme_id
        from cases
        where status in ('new', 'in_review', 'needs_info')
    ),

    placed as (
        select *,
            case when scheme_id is not null then
                row_number() over (partition by scheme_id order by score desc, case_id)
            end as place_in_scheme
        from open_cases
    ),

    scored as (
        select *,
            case when place_in_scheme > 2 then greatest(score - 10.0, least(score, 80.0))
                else score end as ranking_score
        from placed
    ),

    unrelated as (
        select distinct score as band from open_cases where scheme_id is null
    ),

    banded as (
        -- a scheme member's band: the strongest unrelated score not above its ranking score
        select s.*, u.band
        from scored as s
        asof left join unrelated as u on s.ranking_score >= u.band
    ),

    gaps as (
        select
            case_id, score, amount_at_risk, scheme_id,
            case when scheme_id is null then score else coalesce(band, -1) end as band,
            case when scheme_id is null then 1 else 0 end as after_schemes
        from banded
    ),

    keyed as (
        -- a member's round among its scheme's members in the same gap
        select *,
            case when scheme_id is null then 1
                else row_number() over (partition by scheme_id, band order by score desc, case_id) end as place
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

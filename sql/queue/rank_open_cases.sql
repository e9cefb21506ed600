-- Rank the open cases, most suspicious first; closed cases have no rank. Run after every
-- refresh, decision and purge, so ranks never have gaps.
-- Schemes (cases sharing a scheme_id: one mule account, one fake provider, one household
-- takeover) are investigations: a scheme's member goes right before the first case of its own
-- that is weaker than it (never below a weaker unrelated case), and the members of the schemes
-- that fall in one such gap follow each other round by round (every scheme's strongest member
-- first, then every scheme's second...), so the top shows distinct schemes. Ties: more money at
-- risk first, then case id. Reference implementation: detectors/schemes.py queue_order.
update cases set rank = ranked.rank
from (
    with open_cases as (
        select case_id, score, amount_at_risk, scheme_id
        from cases
        where status in ('new', 'in_review', 'needs_info')
    ),

    unrelated as (
        select distinct score as band from open_cases where scheme_id is null
    ),

    banded as (
        -- a scheme member's band: the strongest unrelated score not above its own
        select o.*, u.band
        from open_cases as o
        asof left join unrelated as u on o.score >= u.band
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

-- Refresh the review queue from this run's candidates (temp table `run_candidates`: member_id,
-- score, rule_score, ensemble_score, claim_ids list, reason_codes, reasons, scheme_id).
-- One open case per member; new suspicious lines attach to it. Status, assignment, decision
-- and note are never written here. A closed case stays closed: a member with new suspicious
-- lines (not in any earlier case) gets a new case that points to it.

-- 1. the open case of each candidate, if any
create or replace temp table candidate_state as
select
    r.*,
    o.case_id as open_case_id,
    last_closed.case_id as last_closed_case_id,
    -- lines not attached to any earlier case of this member
    list_filter(r.claim_ids, lambda cid: not list_contains(coalesce(known.claim_ids, []), cid))
        as new_claim_ids
from run_candidates as r
left join (
    select member_id, case_id from cases
    where status in ('new', 'in_review', 'needs_info')
) as o on o.member_id = r.member_id
left join (
    select member_id, arg_max(case_id, opened_at) as case_id from cases
    where status in ('closed_fraud', 'closed_legitimate')
    group by member_id
) as last_closed on last_closed.member_id = r.member_id
left join (
    -- lines already in a case of the member, or in a legitimate alert purged since
    select member_id, list(claim_id) as claim_ids from (
        select c.member_id, cc.claim_id
        from case_claims as cc join cases as c on c.case_id = cc.case_id
        union all
        select cl.member_id, sc.claim_id
        from suppressed_claims as sc join claims as cl on cl.claim_id = sc.claim_id
    )
    group by member_id
) as known on known.member_id = r.member_id;

-- 2. update the open cases (scores and reasons only)
update cases set
    score = s.score,
    rule_score = s.rule_score,
    ensemble_score = s.ensemble_score,
    reason_codes = s.reason_codes,
    reasons = s.reasons,
    scheme_id = s.scheme_id,
    last_run_id = $run_id,
    updated_at = $now::timestamptz
from candidate_state as s
where cases.case_id = s.open_case_id;

-- 3. open a case for a candidate with none open: first case, or new lines after a closed one.
-- Case numbers follow member_id (the same inbox gives the same case ids in any database): the
-- run draws one contiguous block of numbers from the sequence and hands them out in that order.
create or replace temp table opening_members as
select s.member_id, row_number() over (order by s.member_id) as k
from candidate_state as s
where s.open_case_id is null
    and (
        len(s.new_claim_ids) > 0
        -- a reason without claim lines (takeover before any payment) opens a first case
        or (len(s.claim_ids) = 0 and s.last_closed_case_id is null)
    );

create or replace temp table opening_block as
select coalesce(min(n), 0) as first_number
from (select nextval('case_seq') as n from opening_members);

create or replace temp table opened_cases as
select
    'CASE-' || lpad(cast(b.first_number + o.k - 1 as varchar), 7, '0') as case_id,
    o.member_id
from opening_members as o
cross join opening_block as b;

insert into cases (case_id, member_id, status, score, rule_score, ensemble_score, reason_codes,
                   reasons, scheme_id, previous_case_id, opened_run_id, last_run_id, opened_at, updated_at)
select o.case_id, s.member_id, 'new', s.score, s.rule_score, s.ensemble_score, s.reason_codes,
    s.reasons, s.scheme_id, s.last_closed_case_id, $run_id, $run_id, $now::timestamptz, $now::timestamptz
from opened_cases as o
join candidate_state as s on s.member_id = o.member_id;

-- 4. attach the new suspicious lines to the member's open case
insert into case_claims
select c.case_id, u.claim_id, $run_id, $now::timestamptz
from (select member_id, unnest(new_claim_ids) as claim_id from candidate_state) as u
join cases as c on c.member_id = u.member_id and c.status in ('new', 'in_review', 'needs_info');

-- 5. lines and amount at risk of every open case touched by this run (ranks: rank_open_cases.sql)
update cases set
    claim_ids = agg.claim_ids,
    amount_at_risk = agg.amount_at_risk
from (
    select
        cc.case_id,
        string_agg(cc.claim_id, ';' order by cc.claim_id) as claim_ids,
        coalesce(sum(cl.claimed_amount), 0) as amount_at_risk
    from case_claims as cc
    left join claims as cl on cl.claim_id = cc.claim_id
    group by cc.case_id
) as agg
where cases.case_id = agg.case_id and cases.last_run_id = $run_id

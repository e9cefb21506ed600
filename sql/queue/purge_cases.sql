-- Retention in DuckDB for the cases the review store purges (registered frame `purge_set`:
-- case_id, member_id, rule). Scores of a purged member go unless the member keeps another case;
-- lines of a legitimate alert are kept as bare ids (suppressed_claims) so the alert does not
-- come back; the mirror of the purged cases goes. Grain: one row per purged case.
create or replace temp table purge_cases as select * from purge_set;

create or replace temp table purge_members as
select distinct member_id from purge_cases
where member_id not in (
    select member_id from cases where case_id not in (select case_id from purge_cases)
);

delete from member_scores where member_id in (select member_id from purge_members);

delete from claim_scores where member_id in (select member_id from purge_members);

insert into suppressed_claims
select distinct cc.claim_id, $now::timestamptz from case_claims as cc
where cc.case_id in (select case_id from purge_cases where rule = 'closed_legitimate')
    and cc.claim_id not in (select claim_id from suppressed_claims);

delete from case_claims where case_id in (select case_id from purge_cases);

update cases set previous_case_id = null where previous_case_id in (select case_id from purge_cases);

delete from cases where case_id in (select case_id from purge_cases)

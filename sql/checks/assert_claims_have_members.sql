-- Every loaded claim line and account event names a known member (others wait in pending
-- tables). Returns the orphans (expect none).
select 'claims' as source, claim_id as id, member_id from claims
where member_id not in (select member_id from members)
union all
select 'account_events', event_id, member_id from account_events
where member_id not in (select member_id from members)

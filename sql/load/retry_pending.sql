-- Load the held-back lines whose member has arrived since, and close their quarantine rows.
create or replace temp table released_claims as
select p.* from pending_claims as p where p.member_id in (select member_id from members);

create or replace temp table released_events as
select p.* from pending_account_events as p where p.member_id in (select member_id from members);

-- a released line that moves its claim to another member leaves the former member's cases
delete from case_claims
where claim_id in (
    select r.claim_id from released_claims as r
    join claims as c on c.claim_id = r.claim_id
    where c.member_id <> r.member_id
);

delete from claims where claim_id in (select claim_id from released_claims);

insert into claims by name select * exclude (quarantine_id) from released_claims;

delete from account_events where event_id in (select event_id from released_events);

insert into account_events by name select * exclude (quarantine_id) from released_events;

update quarantine set resolved_at = $loaded_at::timestamptz
where quarantine_id in (
    select quarantine_id from released_claims union all select quarantine_id from released_events
);

delete from pending_claims where quarantine_id in (select quarantine_id from released_claims);

delete from pending_account_events where quarantine_id in (select quarantine_id from released_events)

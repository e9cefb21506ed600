-- Lines attached to a case are loaded claim lines of the case's member.
-- Returns the offending attachments (expect none).
select cc.case_id, cc.claim_id
from case_claims as cc
join cases as c on c.case_id = cc.case_id
left join claims as cl on cl.claim_id = cc.claim_id
where cl.claim_id is null or cl.member_id <> c.member_id

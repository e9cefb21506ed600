-- Claim lines this run's data touches: loaded since the stored features were built, or of a
-- member whose own rows changed (held-back lines released when the member arrived keep their
-- load time), and the stored version of a line a newer one superseded.
-- Grain: one row per (claim line version).
with current_ as (
    select claim_id, member_id, provider_id, payee_iban_hash
    from claims
    where loaded_at > (select claims_loaded_through from feature_state)
        or member_id in (select member_id from touched_members_changed)
)

select * from current_
union
select s.claim_id, s.member_id, s.provider_id, s.payee_iban_hash
from feat_claim_signals as s
where s.claim_id in (select claim_id from current_)

-- Account links that appear or disappear in this run (new_iban_member_links against the stored
-- links of the same accounts): the households whose IBAN-change context may change.
-- Grain: one row per changed (IBAN hash, member) link.
with stored as (
    select * from feat_iban_member_links where iban_hash in (select iban_hash from scope_ibans)
)

(select * from new_iban_member_links except select * from stored)
union all
(select * from stored except select * from new_iban_member_links)

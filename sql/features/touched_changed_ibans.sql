-- Accounts whose link profile (iban_links) changes in this run: new_iban_links against the
-- stored rows of the same accounts. Grain: one row per IBAN hash.
with stored as (
    select * from feat_iban_links where iban_hash in (select iban_hash from scope_ibans)
),

changed as (
    (select * from new_iban_links except select * from stored)
    union all
    (select * from stored except select * from new_iban_links)
)

select distinct iban_hash from changed

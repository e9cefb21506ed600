-- Pseudonymise a claims file while it is read: the payee IBAN is normalised, checked and
-- hashed inside the read and free-text values that look like identifiers are masked, so no
-- clear identifier is ever materialised. Grain: one row per record of `raw_source` (all
-- text). Parameters: $ipad, $opad. No join or window: the row order is the file's order.
with source as (
    select * from raw_source
),

normalised as (
    select
        cw_guard(claim_id) as claim_id,
        cw_guard(member_id) as member_id,
        care_date,
        received_date,
        source,
        care_category,
        cw_guard(act_code) as act_code,
        cw_guard(provider_id) as provider_id,
        provider_postcode,
        billed_amount,
        ro_amount,
        claimed_amount,
        payee,
        cw_identifier_normalised('iban', payee_iban) as iban_n
    from source
),

final as (
    select
        * exclude (iban_n),
        sha256($opad || unhex(sha256($ipad || encode(iban_n)))) as payee_iban_hash,
        cw_identifier_invalid('iban', iban_n) as payee_iban_invalid,
        substr(iban_n, 1, 2) as payee_iban_country,
        length(iban_n) as payee_iban_length,
        substr(iban_n, 5, 8) as payee_iban_bban_head
    from normalised
)

select * from final

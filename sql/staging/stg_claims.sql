-- Type, normalise and check a claims file against the data contract.
-- Grain: one row per input line of `raw_input` (all text; `_line` = line in the file).
-- The payee IBAN arrives hashed (sql/staging/read_claims.sql); its country and bank code
-- stay. A bad provider check key is not a reason to reject (it is a fraud signal, scored later).
with source as (
    select * from raw_input
),

cleaned as (
    select
        s._line,
        nullif(trim(s.claim_id), '') as claim_id,
        nullif(trim(s.member_id), '') as member_id,
        nullif(trim(s.care_date), '') as care_date_text,
        cw_iso_date(trim(s.care_date)) as care_date,
        nullif(trim(s.received_date), '') as received_date_text,
        cw_iso_date(trim(s.received_date)) as received_date,
        lower(nullif(trim(s.source), '')) as source,
        lower(nullif(trim(s.care_category), '')) as care_category,
        upper(nullif(trim(s.act_code), '')) as act_code,
        upper(nullif(trim(s.provider_id), '')) as provider_id,
        case
            when regexp_full_match(trim(s.provider_postcode), '[0-9]{4}') then '0' || trim(s.provider_postcode)
            else nullif(trim(s.provider_postcode), '')
        end as provider_postcode,
        nullif(trim(s.billed_amount), '') as billed_amount_text,
        cw_amount(trim(s.billed_amount)) as billed_amount,
        nullif(trim(s.ro_amount), '') as ro_amount_text,
        cw_amount(trim(s.ro_amount)) as ro_amount,
        nullif(trim(s.claimed_amount), '') as claimed_amount_text,
        cw_amount(trim(s.claimed_amount)) as claimed_amount,
        lower(nullif(trim(s.payee), '')) as payee,
        s.payee_iban_hash,
        s.payee_iban_country,
        coalesce(s.payee_iban_invalid, case
            when s.payee_iban_hash is null then null
            when f.iban_length is null then 'IBAN country is not known'
            when s.payee_iban_length <> f.iban_length then 'IBAN length does not match its country'
        end) as payee_iban_invalid,
        substr(s.payee_iban_bban_head, 1, coalesce(b.bank_code_length, 4)) as payee_iban_bank_code
    from source as s
    left join iban_formats as f on f.country = s.payee_iban_country
    left join iban_bank_codes as b on b.country = s.payee_iban_country
),

checked as (
    select
        *,
        list_filter([
            case when claim_id is null then {'column': 'claim_id', 'reason': 'missing'}
                when claim_id = '[redacted]' then {'column': 'claim_id', 'reason': 'looks like a direct identifier (not stored)'}
                when cw_has_nul(claim_id) then {'column': 'claim_id', 'reason': 'contains a NUL byte'} end,
            case when member_id is null then {'column': 'member_id', 'reason': 'missing'}
                when member_id = '[redacted]' then {'column': 'member_id', 'reason': 'looks like a direct identifier (not stored)'}
                when cw_has_nul(member_id) then {'column': 'member_id', 'reason': 'contains a NUL byte'}
                when length(member_id) > 32 then {'column': 'member_id', 'reason': 'longer than 32 characters'} end,
            case when care_date_text is null then {'column': 'care_date', 'reason': 'missing'}
                when care_date is null then {'column': 'care_date', 'reason': 'not an ISO date (YYYY-MM-DD)'}
                when care_date > current_date then {'column': 'care_date', 'reason': 'in the future (after the run date)'} end,
            case when received_date_text is null then {'column': 'received_date', 'reason': 'missing'}
                when received_date is null then {'column': 'received_date', 'reason': 'not an ISO date (YYYY-MM-DD)'}
                when received_date < care_date then {'column': 'received_date', 'reason': 'before care_date'}
                when received_date > current_date then {'column': 'received_date', 'reason': 'in the future (after the run date)'} end,
            case when source is null then {'column': 'source', 'reason': 'missing'}
                when source not in ('noemie', 'tiers_payant', 'member_upload', 'paper')
                    then {'column': 'source', 'reason': 'unknown value'} end,
            case when care_category is null then {'column': 'care_category', 'reason': 'missing'}
                when care_category not in ('consultation', 'pharmacy', 'lab', 'imaging', 'hospital', 'dental',
                                           'optical', 'hearing', 'paramedical', 'alternative_medicine')
                    then {'column': 'care_category', 'reason': 'unknown value'} end,
            case when act_code is null then {'column': 'act_code', 'reason': 'missing'}
                when act_code = '[REDACTED]' then {'column': 'act_code', 'reason': 'looks like a direct identifier (not stored)'}
                when cw_has_nul(act_code) then {'column': 'act_code', 'reason': 'contains a NUL byte'} end,
            case when provider_id is null then {'column': 'provider_id', 'reason': 'missing'}
                when provider_id = '[REDACTED]' then {'column': 'provider_id', 'reason': 'looks like a direct identifier (not stored)'}
                when cw_has_nul(provider_id) then {'column': 'provider_id', 'reason': 'contains a NUL byte'} end,
            case when provider_postcode is not null and not regexp_full_match(provider_postcode, '[0-9]{5}')
                then {'column': 'provider_postcode', 'reason': 'not a 5-digit postcode'} end,
            case when billed_amount is null or billed_amount < 0 then {'column': 'billed_amount', 'reason': cw_amount_error(billed_amount_text)} end,
            case when ro_amount is null or ro_amount < 0 then {'column': 'ro_amount', 'reason': cw_amount_error(ro_amount_text)} end,
            case when claimed_amount is null or claimed_amount < 0 then {'column': 'claimed_amount', 'reason': cw_amount_error(claimed_amount_text)} end,
            case when payee is null then {'column': 'payee', 'reason': 'missing'}
                when payee not in ('member', 'provider') then {'column': 'payee', 'reason': 'unknown value'} end,
            case when payee_iban_invalid is not null then {'column': 'payee_iban', 'reason': payee_iban_invalid}
                when payee = 'member' and payee_iban_hash is null
                    then {'column': 'payee_iban', 'reason': 'required when payee = member'} end
        ], lambda e: e is not null) as errors
    from cleaned
),

final as (
    select
        _line,
        claim_id,
        member_id,
        care_date,
        received_date,
        source,
        care_category,
        act_code,
        provider_id,
        provider_postcode,
        billed_amount,
        ro_amount,
        claimed_amount,
        payee,
        payee_iban_hash,
        payee_iban_country,
        payee_iban_bank_code,
        errors,
        case when len(errors) > 0 then to_json({
            'claim_id': cw_redact(claim_id),
            'member_id': cw_redact(member_id),
            'care_date': cw_redact(care_date_text),
            'received_date': cw_redact(received_date_text),
            'source': cw_redact(source),
            'care_category': cw_redact(care_category),
            'act_code': cw_redact(act_code),
            'provider_id': cw_redact_code(provider_id),
            'provider_postcode': cw_redact(provider_postcode),
            'billed_amount': cw_redact(billed_amount_text),
            'ro_amount': cw_redact(ro_amount_text),
            'claimed_amount': cw_redact(claimed_amount_text),
            'payee': cw_redact(payee),
            'payee_iban': 'hmac:' || payee_iban_hash
        })::varchar end as raw_json
    from checked
)

select * from final

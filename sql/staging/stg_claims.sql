-- Type, normalise and check a claims file against the data contract.
-- Grain: one row per input line of `raw_input` (all text; `_line` = line in the file).
-- The payee IBAN comes out hashed with its country and bank code. A bad provider check key
-- is not a reason to reject (it is a fraud signal, scored later).
with source as (
    select * from raw_input
),

ids as (
    select * from batch_identifiers where identifier_type = 'iban'
),

cleaned as (
    select
        s._line,
        nullif(trim(s.claim_id), '') as claim_id,
        nullif(trim(s.member_id), '') as member_id,
        nullif(trim(s.care_date), '') as care_date_text,
        try_cast(trim(s.care_date) as date) as care_date,
        nullif(trim(s.received_date), '') as received_date_text,
        try_cast(trim(s.received_date) as date) as received_date,
        lower(nullif(trim(s.source), '')) as source,
        lower(nullif(trim(s.care_category), '')) as care_category,
        upper(nullif(trim(s.act_code), '')) as act_code,
        upper(nullif(trim(s.provider_id), '')) as provider_id,
        case
            when regexp_full_match(trim(s.provider_postcode), '[0-9]{4}') then '0' || trim(s.provider_postcode)
            else nullif(trim(s.provider_postcode), '')
        end as provider_postcode,
        nullif(trim(s.billed_amount), '') as billed_amount_text,
        try_cast(trim(s.billed_amount) as decimal(12, 2)) as billed_amount,
        nullif(trim(s.ro_amount), '') as ro_amount_text,
        try_cast(trim(s.ro_amount) as decimal(12, 2)) as ro_amount,
        nullif(trim(s.claimed_amount), '') as claimed_amount_text,
        try_cast(trim(s.claimed_amount) as decimal(12, 2)) as claimed_amount,
        lower(nullif(trim(s.payee), '')) as payee,
        nullif(trim(s.payee_iban), '') as payee_iban
    from source as s
),

joined as (
    select
        c.*,
        i.identifier_hash as payee_iban_hash,
        i.invalid_reason as payee_iban_invalid,
        i.iban_country as payee_iban_country,
        i.iban_bank_code as payee_iban_bank_code
    from cleaned as c
    left join ids as i on i.raw_value = c.payee_iban
),

checked as (
    select
        *,
        list_filter([
            case when claim_id is null then {'column': 'claim_id', 'reason': 'missing'} end,
            case when member_id is null then {'column': 'member_id', 'reason': 'missing'}
                when length(member_id) > 32 then {'column': 'member_id', 'reason': 'longer than 32 characters'} end,
            case when care_date_text is null then {'column': 'care_date', 'reason': 'missing'}
                when care_date is null then {'column': 'care_date', 'reason': 'not an ISO date (YYYY-MM-DD)'} end,
            case when received_date_text is null then {'column': 'received_date', 'reason': 'missing'}
                when received_date is null then {'column': 'received_date', 'reason': 'not an ISO date (YYYY-MM-DD)'}
                when received_date < care_date then {'column': 'received_date', 'reason': 'before care_date'} end,
            case when source is null then {'column': 'source', 'reason': 'missing'}
                when source not in ('noemie', 'tiers_payant', 'member_upload', 'paper')
                    then {'column': 'source', 'reason': 'unknown value'} end,
            case when care_category is null then {'column': 'care_category', 'reason': 'missing'}
                when care_category not in ('consultation', 'pharmacy', 'lab', 'imaging', 'hospital', 'dental',
                                           'optical', 'hearing', 'paramedical', 'alternative_medicine')
                    then {'column': 'care_category', 'reason': 'unknown value'} end,
            case when act_code is null then {'column': 'act_code', 'reason': 'missing'} end,
            case when provider_id is null then {'column': 'provider_id', 'reason': 'missing'} end,
            case when provider_postcode is not null and not regexp_full_match(provider_postcode, '[0-9]{5}')
                then {'column': 'provider_postcode', 'reason': 'not a 5-digit postcode'} end,
            case when billed_amount_text is null then {'column': 'billed_amount', 'reason': 'missing'}
                when billed_amount is null then {'column': 'billed_amount', 'reason': 'not a decimal number'}
                when billed_amount < 0 then {'column': 'billed_amount', 'reason': 'negative'} end,
            case when ro_amount_text is null then {'column': 'ro_amount', 'reason': 'missing'}
                when ro_amount is null then {'column': 'ro_amount', 'reason': 'not a decimal number'}
                when ro_amount < 0 then {'column': 'ro_amount', 'reason': 'negative'} end,
            case when claimed_amount_text is null then {'column': 'claimed_amount', 'reason': 'missing'}
                when claimed_amount is null then {'column': 'claimed_amount', 'reason': 'not a decimal number'}
                when claimed_amount < 0 then {'column': 'claimed_amount', 'reason': 'negative'} end,
            case when payee is null then {'column': 'payee', 'reason': 'missing'}
                when payee not in ('member', 'provider') then {'column': 'payee', 'reason': 'unknown value'} end,
            case when payee_iban_invalid is not null then {'column': 'payee_iban', 'reason': payee_iban_invalid}
                when payee = 'member' and payee_iban is null
                    then {'column': 'payee_iban', 'reason': 'required when payee = member'} end
        ], lambda e: e is not null) as errors
    from joined
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
            'claim_id': redact_stray(claim_id),
            'member_id': redact_stray(member_id),
            'care_date': redact_stray(care_date_text),
            'received_date': redact_stray(received_date_text),
            'source': redact_stray(source),
            'care_category': redact_stray(care_category),
            'act_code': redact_stray(act_code),
            'provider_id': redact_stray(provider_id),
            'provider_postcode': redact_stray(provider_postcode),
            'billed_amount': redact_stray(billed_amount_text),
            'ro_amount': redact_stray(ro_amount_text),
            'claimed_amount': redact_stray(claimed_amount_text),
            'payee': redact_stray(payee),
            'payee_iban': 'hmac:' || payee_iban_hash
        })::varchar end as raw_json
    from checked
)

select * from final

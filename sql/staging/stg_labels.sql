-- Type and check a labels file (evaluation data; never read by the detectors).
-- Grain: one row per input line of `raw_input` (all text; `_line` = line in the file).
with source as (
    select * from raw_input
),

cleaned as (
    select
        s._line,
        nullif(trim(s.claim_id), '') as claim_id,
        lower(nullif(trim(s.is_fraud), '')) as is_fraud_text,
        nullif(trim(s.scenario), '') as scenario
    from source as s
),

checked as (
    select
        *,
        case when is_fraud_text in ('1', 'true', 'yes') then true
            when is_fraud_text in ('0', 'false', 'no') then false end as is_fraud,
        list_filter([
            case when claim_id is null then {'column': 'claim_id', 'reason': 'missing'}
                when claim_id = '[redacted]' then {'column': 'claim_id', 'reason': 'looks like a direct identifier (not stored)'} end,
            case when is_fraud_text is null then {'column': 'is_fraud', 'reason': 'missing'}
                when is_fraud_text not in ('1', '0', 'true', 'false', 'yes', 'no')
                    then {'column': 'is_fraud', 'reason': 'not 0 or 1'} end
        ], lambda e: e is not null) as errors
    from cleaned
),

final as (
    select
        _line,
        claim_id,
        is_fraud,
        scenario,
        errors,
        case when len(errors) > 0 then to_json({
            'claim_id': cw_redact(claim_id),
            'is_fraud': cw_redact(is_fraud_text),
            'scenario': cw_redact(scenario)
        })::varchar end as raw_json
    from checked
)

select * from final

-- Normalise, validate and pseudonymise direct identifiers (NIR, IBAN, e-mail, phone).
-- Grain: one row per distinct (identifier_type, raw_value) of the input relation
-- `identifier_input`. Parameters: $ipad, $opad, the HMAC-SHA-256 pads of the installation key
-- (bound per statement, never stored). Reference: `iban_formats` (country, IBAN length).
-- Only the hash and a few derived clear attributes leave this query.
with source as (
    select distinct identifier_type, raw_value
    from identifier_input
    where raw_value is not null and trim(raw_value) <> ''
),

compacted as (
    select
        identifier_type,
        raw_value,
        case when identifier_type in ('nir', 'iban')
            then upper(regexp_replace(raw_value, '[\s.\-]', '', 'g')) end as compact_upper,
        case when identifier_type = 'phone'
            then regexp_replace(raw_value, '[^0-9+]', '', 'g') end as phone_digits
    from source
),

normalised as (
    select
        identifier_type,
        raw_value,
        case identifier_type
            when 'nir' then compact_upper
            when 'iban' then compact_upper
            when 'email' then lower(trim(raw_value))
            when 'phone' then case
                -- "+33 (0)6 ..." written with the trunk zero
                when regexp_full_match(phone_digits, '\+330[1-9][0-9]{8}')
                    then '+33' || substr(phone_digits, 5)
                when phone_digits like '+%' then '+' || replace(substr(phone_digits, 2), '+', '')
                when regexp_full_match(phone_digits, '00[1-9][0-9]{6,14}')
                    then '+' || substr(phone_digits, 3)
                -- overseas departments use national 0 numbers but their own country codes
                when regexp_full_match(phone_digits, '0(262|269|639|692|693)[0-9]{6}')
                    then '+262' || substr(phone_digits, 2)
                when regexp_full_match(phone_digits, '0(590|690|691)[0-9]{6}')
                    then '+590' || substr(phone_digits, 2)
                when regexp_full_match(phone_digits, '0(594|694)[0-9]{6}')
                    then '+594' || substr(phone_digits, 2)
                when regexp_full_match(phone_digits, '0(596|696|697)[0-9]{6}')
                    then '+596' || substr(phone_digits, 2)
                when regexp_full_match(phone_digits, '0[1-9][0-9]{8}')
                    then '+33' || substr(phone_digits, 2)
                when regexp_full_match(phone_digits, '33[1-9][0-9]{8}') then '+' || phone_digits
                -- leading zero dropped by a spreadsheet
                when regexp_full_match(phone_digits, '[1-9][0-9]{8}') then '+33' || phone_digits
                else phone_digits
            end
        end as normalised
    from compacted
),

iban_checked as (
    select
        n.*,
        substr(n.normalised, 1, 2) as iban_country,
        -- mod-97 (ISO 13616): move the first four characters to the end, letters to 10..35
        case when n.identifier_type = 'iban' then list_reduce(
            list_transform(
                string_split(substr(n.normalised, 5) || substr(n.normalised, 1, 4), ''),
                lambda ch: case
                    when ch between 'A' and 'Z' then ascii(ch) - 55
                    when ch between '0' and '9' then ascii(ch) - 48
                    else -1000000
                end
            ),
            lambda acc, v: case
                when acc < 0 or v < 0 then -1
                else (acc * (case when v >= 10 then 100 else 10 end) + v) % 97
            end,
            0
        ) end as iban_mod97,
        f.iban_length
    from normalised as n
    left join iban_formats as f
        on n.identifier_type = 'iban' and f.country = substr(n.normalised, 1, 2)
),

validated as (
    select
        *,
        case identifier_type
            when 'nir' then case
                when not regexp_full_match(normalised, '[0-9]{5}(2A|2B|[0-9]{2})[0-9]{8}')
                    then 'NIR is not 13 characters + 2-digit key'
                when 97 - (
                    cast(
                        substr(normalised, 1, 5)
                        || replace(replace(substr(normalised, 6, 2), '2A', '19'), '2B', '18')
                        || substr(normalised, 8, 6)
                        as bigint
                    ) % 97
                ) <> cast(substr(normalised, 14, 2) as integer)
                    then 'NIR key does not match'
            end
            when 'iban' then case
                when not regexp_full_match(normalised, '[A-Z]{2}[0-9]{2}[A-Z0-9]{8,30}')
                    then 'IBAN format is not valid'
                when iban_length is null then 'IBAN country is not known'
                when length(normalised) <> iban_length then 'IBAN length does not match its country'
                when iban_mod97 <> 1 then 'IBAN checksum (mod 97) fails'
            end
        end as invalid_reason
    from iban_checked
),

final as (
    select
        identifier_type,
        raw_value,
        invalid_reason is null as is_valid,
        invalid_reason,
        sha256($opad || unhex(sha256($ipad || encode(normalised)))) as identifier_hash,
        case when identifier_type = 'iban' and invalid_reason is null then iban_country end
            as iban_country,
        case
            when identifier_type = 'iban' and invalid_reason is null
                then substr(normalised, 5, coalesce(b.bank_code_length, 4))
        end as iban_bank_code,
        case when identifier_type = 'email' then nullif(split_part(normalised, '@', 2), '') end
            as email_domain,
        case when identifier_type = 'nir' and invalid_reason is null then
            case substr(normalised, 1, 1) when '1' then 'M' when '2' then 'F' end
        end as nir_sex,
        case when identifier_type = 'nir' and invalid_reason is null
            then try_cast(substr(normalised, 2, 2) as integer) end as nir_birth_yy,
        case when identifier_type = 'nir' and invalid_reason is null
            then try_cast(substr(normalised, 4, 2) as integer) end as nir_birth_month
    from validated
    left join iban_bank_codes as b on b.country = validated.iban_country
)

select * from final

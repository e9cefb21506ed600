-- Row-level helpers of ingest, created as temp macros on every connection that reads inbox
-- files (they hold no data and no key). Grain: scalar expressions.
-- cw_identifier_normalised: the value a direct identifier is hashed from (NULL for a
--   placeholder: 'n/a', '-', 'inconnu', '0', all-same digits... never match anything);
-- cw_identifier_invalid: why a normalised identifier breaks the contract (NULL if valid);
-- cw_looks_like_identifier / cw_redact: the one redaction of values kept from a line
--   (quarantine copies, messages built in SQL); cw_redact_code keeps 9-digit registry numbers.

-- a placeholder written where an identifier is unknown ('N/A', '-', 'inconnu', '0', 'xx',
-- '0000000000'...), tested on the compacted value: no letter or digit, one character
-- repeated, or a short word meaning "none" (CASE: the costly tests only on short values)
create or replace temp macro cw_is_placeholder(c) as case
    when c is null or c = '' then true
    when not regexp_matches(c, '[0-9A-Za-z]') then true
    when regexp_full_match(c, '0+|1+|2+|3+|4+|5+|6+|7+|8+|9+|[xX]+') then true
    when length(c) <= 9 then upper(c) in (
        'NA', 'N/A', 'N.A', 'N.A.', 'NAN', 'NC', 'NR', 'ND', 'NULL', 'NONE', 'NIL', 'INCONNU', 'INCONNUE',
        'UNKNOWN', 'AUCUN', 'AUCUNE', 'NEANT', 'NÉANT', 'VIDE', 'EMPTY', 'MISSING', 'TEST', 'TBD'
    )
    else false
end;

-- NIR and IBAN without separators, upper case; NULL for a placeholder (a value already
-- compact and upper case, the usual one, is not rewritten)
create or replace temp macro cw_compact_upper(v) as case
    when v is null then null
    when regexp_full_match(v, '[A-Z0-9]+') then case when not cw_is_placeholder(v) then v end
    when not cw_is_placeholder(upper(regexp_replace(v, '[\s.\-]', '', 'g')))
        then upper(regexp_replace(v, '[\s.\-]', '', 'g'))
end;

create or replace temp macro cw_phone_digits(v) as regexp_replace(v, '[^0-9+]', '', 'g');

create or replace temp macro cw_phone_e164(d) as case
    -- "+33 (0)6 ..." written with the trunk zero
    when regexp_full_match(d, '\+330[1-9][0-9]{8}') then '+33' || substr(d, 5)
    when regexp_full_match(d, '00330[1-9][0-9]{8}') then '+33' || substr(d, 6)
    when d like '+%' then '+' || replace(substr(d, 2), '+', '')
    when regexp_full_match(d, '00[1-9][0-9]{6,14}') then '+' || substr(d, 3)
    -- overseas departments use national 0 numbers but their own country codes
    when regexp_full_match(d, '0(262|269|639|692|693)[0-9]{6}') then '+262' || substr(d, 2)
    when regexp_full_match(d, '0(590|690|691)[0-9]{6}') then '+590' || substr(d, 2)
    when regexp_full_match(d, '0(594|694)[0-9]{6}') then '+594' || substr(d, 2)
    when regexp_full_match(d, '0(596|696|697)[0-9]{6}') then '+596' || substr(d, 2)
    when regexp_full_match(d, '0[1-9][0-9]{8}') then '+33' || substr(d, 2)
    when regexp_full_match(d, '33[1-9][0-9]{8}') then '+' || d
    -- leading zero dropped by a spreadsheet
    when regexp_full_match(d, '[1-9][0-9]{8}') then '+33' || d
    else d
end;

create or replace temp macro cw_identifier_normalised(identifier_type, v) as case identifier_type
    when 'nir' then nullif(cw_compact_upper(v), '')
    when 'iban' then nullif(cw_compact_upper(v), '')
    -- an e-mail has an '@' between two non-placeholder parts
    when 'email' then case
        when contains(v, '@') and not cw_is_placeholder(split_part(lower(trim(v)), '@', 1))
            and not cw_is_placeholder(split_part(lower(trim(v)), '@', 2))
            then lower(trim(v))
    end
    when 'phone' then case
        when not cw_is_placeholder(ltrim(cw_phone_digits(v), '+')) and length(cw_phone_digits(v)) >= 6
            and ltrim(cw_phone_digits(v), '+0') not in ('', '33')
            and ltrim(cw_phone_digits(v), '+') not like '330000%'
            then cw_phone_e164(cw_phone_digits(v))
    end
end;

-- mod-97 of an IBAN (ISO 13616): the first four characters moved to the end, letters read
-- as 10..35; 1 when valid. A BBAN of digits only (most of them) makes one integer of at most
-- 36 digits; others go through the character-by-character reduction (-1: a bad character)
create or replace temp macro cw_iban_mod97(n) as case
    when regexp_full_match(n, '[A-Z]{2}[0-9]{2}[0-9]{1,30}') then cast(
        substr(n, 5) || (ascii(substr(n, 1, 1)) - 55)::varchar || (ascii(substr(n, 2, 1)) - 55)::varchar
            || substr(n, 3, 2) as hugeint
    ) % 97
    else list_reduce(
        list_transform(
            string_split(substr(n, 5) || substr(n, 1, 4), ''),
            lambda ch: case
                when ch between 'A' and 'Z' then ascii(ch) - 55
                when ch between '0' and '9' then ascii(ch) - 48
                else -1000000
            end
        ),
        lambda acc, d: case
            when acc < 0 or d < 0 then -1
            else (acc * (case when d >= 10 then 100 else 10 end) + d) % 97
        end,
        0
    )
end;

-- why a normalised NIR or IBAN breaks the contract (an IBAN's length by country is checked
-- in staging, against `iban_formats`)
create or replace temp macro cw_identifier_invalid(identifier_type, n) as case
    when n is null then null
    when identifier_type = 'nir' then case
        when not regexp_full_match(n, '[0-9]{5}(2A|2B|[0-9]{2})[0-9]{8}')
            then 'NIR is not 13 characters + 2-digit key'
        when 97 - (
            cast(substr(n, 1, 5) || replace(replace(substr(n, 6, 2), '2A', '19'), '2B', '18')
                || substr(n, 8, 6) as bigint) % 97
        ) <> cast(substr(n, 14, 2) as integer)
            then 'NIR key does not match'
    end
    when identifier_type = 'iban' then case
        when not regexp_full_match(n, '[A-Z]{2}[0-9]{2}[A-Z0-9]{8,30}') then 'IBAN format is not valid'
        when cw_iban_mod97(n) <> 1 then 'IBAN checksum (mod 97) fails'
    end
end;

-- the keyed hash of a normalised identifier (HMAC-SHA-256, pads bound per statement, never
-- stored): each statement writes sha256($opad || unhex(sha256($ipad || encode(n))))

-- a value that reads as a direct identifier: an e-mail anywhere in it, an IBAN or a NIR
-- (written with or without spaces, dots or dashes), a phone number in national or
-- international form. One regular expression, no rewriting: cheap enough for every row.
create or replace temp macro cw_looks_like_identifier(v) as regexp_matches(
    v,
    '[^\s@]@[^\s@]+\.[^\s@]'
    || '|[A-Za-z]{2}[0-9]{2}(?:[ .\-]?[A-Za-z0-9]){10,30}'
    || '|(?:^|[^0-9])[1278](?:[ .\-]?[0-9]){4}[ .\-]?(?:2[AaBb]|[0-9][ .\-]?[0-9])(?:[ .\-]?[0-9]){6}'
    || '(?:(?:[ .\-]?[0-9]){2})?(?:$|[^0-9])'
    || '|(?:^|[^0-9+])(?:(?:\+|00)[ .\-]?[1-9](?:[ .\-()]*[0-9]){7,14}|0[1-9](?:[ .\-]?[0-9]){8}'
    || '|33[ .\-]?[1-9](?:[ .\-]?[0-9]){8})(?:$|[^0-9])'
);

-- applied while a file is read to the free-text columns (ids, codes, names of breaches): a
-- value that looks like an identifier is masked before anything is materialised (staging
-- then quarantines its line). Typed columns (dates, amounts, enums) need no mask here: a
-- value that breaks their shape is quarantined and masked in its copy (cw_redact).
-- (the shortest such value is an e-mail, with its '@', or a 10-digit phone: shorter values
-- without '@' skip the regular expression)
create or replace temp macro cw_guard(v) as case
    when (strlen(v) >= 10 or contains(v, '@')) and cw_looks_like_identifier(v) then '[redacted]'
    else v
end;

-- the redaction of every copy kept of a quarantined line's values: also a bare 9-digit
-- number, the form a phone takes once a spreadsheet drops its leading zero
create or replace temp macro cw_redact(v) as case
    when v is null then null
    when cw_looks_like_identifier(v) then '[redacted]'
    when regexp_matches(v, '(?:^|[^0-9])[1-9](?:[ .\-]?[0-9]){8}(?:$|[^0-9])') then '[redacted]'
    else v
end;

-- provider_id of a quarantined line: FINESS and ADELI numbers are 9 digits by contract
create or replace temp macro cw_redact_code(v) as case
    when cw_looks_like_identifier(v) then '[redacted]' else v
end;

-- strict ISO calendar date / ISO 8601 timestamp text (DuckDB's cast also reads 2025/01/01)
create or replace temp macro cw_iso_date(v) as case
    when length(v) = 10 and substr(v, 5, 1) = '-' and substr(v, 8, 1) = '-' then try_cast(v as date)
end;

create or replace temp macro cw_iso_timestamp(v) as case
    when regexp_full_match(
        v, '[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?(Z|[+\-][0-9]{2}(:?[0-9]{2})?)?'
    ) then try_cast(v as timestamptz)
end;

-- an amount in EUR: plain decimal, '.' point, at most 2 decimals, fits decimal(12, 2)
create or replace temp macro cw_amount(v) as case
    when regexp_full_match(v, '[+\-]?[0-9]{1,10}(\.[0-9]{0,2})?') then try_cast(v as decimal(12, 2))
end;

create or replace temp macro cw_amount_error(v) as case
    when v is null then 'missing'
    when regexp_full_match(v, '[+\-]?[0-9]{1,10}(\.[0-9]{0,2})?') then
        case when try_cast(v as decimal(12, 2)) < 0 then 'negative' end
    when regexp_full_match(v, '[+\-]?[0-9]+\.[0-9]{3,}') then 'more than 2 decimals (not rounded)'
    when regexp_full_match(v, '[+\-]?[0-9]{11,}(\.[0-9]*)?') then 'out of range (more than 10 digits before the point)'
    when regexp_full_match(v, '[+\-]?[0-9]+(\.[0-9]*)?[eE][+\-]?[0-9]+') then 'not a plain decimal number (exponent)'
    when regexp_full_match(v, '[+\-]?[0-9]+,[0-9]+') then 'not a decimal number (decimal comma; the contract uses .)'
    else 'not a decimal number'
end;

-- a NUL byte never belongs in an identifier or a code (DuckDB keeps it inside the text)
create or replace temp macro cw_has_nul(v) as contains(v, chr(0))

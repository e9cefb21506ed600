-- Reference data used by ingest and detection, and a privacy macro.

-- one row per IBAN country: how many BBAN characters make the bank code (clear attribute)
create table if not exists iban_bank_codes (
    country          varchar primary key,
    bank_code_length integer not null
);
insert or ignore into iban_bank_codes values
    ('FR', 5), ('MC', 5), ('GP', 5), ('MQ', 5), ('RE', 5), ('GF', 5), ('YT', 5), ('PM', 5),
    ('DE', 8), ('BE', 3), ('LU', 3), ('CH', 5), ('LI', 5), ('ES', 4), ('PT', 4), ('IT', 6),
    ('NL', 4), ('GB', 4), ('IE', 4), ('AT', 5), ('LT', 5), ('LV', 4), ('EE', 2), ('PL', 8),
    ('FI', 3), ('DK', 4), ('SE', 3), ('NO', 4), ('CZ', 4), ('SK', 4), ('RO', 4), ('BG', 4),
    ('HU', 3), ('GR', 3), ('CY', 3), ('MT', 4), ('HR', 7), ('SI', 5), ('IS', 4);

-- one row per bank known to open accounts online in minutes (neobanks, online banks):
-- a signal, never a verdict; detection also measures how rare a bank is in the portfolio
create table if not exists online_banks (
    country   varchar not null,
    bank_code varchar not null,
    bank_name varchar not null
);
insert into online_banks
select * from (values
    ('FR', '40618', 'Boursorama / BoursoBank'),
    ('FR', '16598', 'Nickel'),
    ('FR', '16958', 'Qonto'),
    ('FR', '14518', 'Fortuneo'),
    ('FR', '17418', 'Shine'),
    ('FR', '18370', 'Orange Bank'),
    ('FR', '30438', 'ING'),
    ('FR', '14690', 'Monabanq'),
    ('FR', '16218', 'Bunq FR'),
    ('FR', '17789', 'Ma French Bank'),
    ('LT', '32500', 'Revolut'),
    ('LT', '38500', 'Paysera'),
    ('DE', '10011001', 'N26'),
    ('DE', '10010010', 'Postbank online'),
    ('DE', '10020890', 'Trade Republic'),
    ('BE', '967', 'Wise'),
    ('NL', 'BUNQ', 'bunq'),
    ('LU', '100', 'PayPal Europe')
) as t(country, bank_code, bank_name)
where not exists (select 1 from online_banks);

-- Replace a value that looks like a direct identifier (e-mail, IBAN, NIR, French phone) by a
-- marker: used on the non-identifier columns of quarantined lines, where a shifted or
-- misplaced value must not leak an identifier in clear.
create macro if not exists redact_stray(v) as case
    when v is null then null
    when contains(v, '@') then '[redacted]'
    when regexp_full_match(upper(replace(v, ' ', '')), '[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}')
        then '[redacted]'
    when regexp_full_match(upper(regexp_replace(v, '[\s.]', '', 'g')), '[0-9]{5}(2A|2B|[0-9]{2})[0-9]{6}([0-9]{2})?')
        then '[redacted]'
    when regexp_full_match(regexp_replace(v, '[\s.()-]', '', 'g'), '(\+|00)[0-9]{8,15}|0[1-9][0-9]{8}')
        then '[redacted]'
    else v
end;

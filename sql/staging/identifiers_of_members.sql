-- Identifier values carried by a members file, for stg_identifiers.sql.
-- Grain: one row per (identifier column, input line) with a value.
select 'nir' as identifier_type, nir as raw_value from raw_input where nir is not null
union all
select 'email', email from raw_input where email is not null
union all
select 'phone', phone from raw_input where phone is not null
union all
select 'iban', iban from raw_input where iban is not null

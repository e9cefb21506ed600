-- Identifier values carried by a breach list.
-- Grain: one row per input line with a known identifier type.
select lower(trim(identifier_type)) as identifier_type, identifier as raw_value
from raw_input
where identifier is not null
    and lower(trim(identifier_type)) in ('nir', 'email', 'phone', 'iban')

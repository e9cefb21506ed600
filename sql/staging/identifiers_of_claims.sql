-- Identifier values carried by a claims file: the payee IBAN.
-- Grain: one row per input line with a payee_iban.
select 'iban' as identifier_type, payee_iban as raw_value
from raw_input
where payee_iban is not null

-- Identifier columns hold HMAC-SHA-256 hex digests only, never a clear value.
-- Returns every non-digest value (expect none).
with hashed as (
    select 'members.nir_hash' as col, nir_hash as v from members
    union all select 'members.email_hash', email_hash from members
    union all select 'members.phone_hash', phone_hash from members
    union all select 'members.iban_hash', iban_hash from members
    union all select 'claims.payee_iban_hash', payee_iban_hash from claims
    union all select 'account_events.new_value_hash', new_value_hash from account_events
    union all select 'member_identifiers.identifier_hash', identifier_hash from member_identifiers
    union all select 'breach_identifiers.identifier_hash', identifier_hash from breach_identifiers
)
select col, v from hashed where v is not null and not regexp_full_match(v, '[0-9a-f]{64}')

-- Identifier columns hold HMAC-SHA-256 hex digests only, never a clear value.
-- $since: the run's start (rows loaded since; older rows were checked by the run that loaded
-- them) or NULL for every row.
-- Returns every non-digest value (expect none).
with hashed as (
    select 'members.nir_hash' as col, nir_hash as v, loaded_at as seen_at from members
    union all select 'members.email_hash', email_hash, loaded_at from members
    union all select 'members.phone_hash', phone_hash, loaded_at from members
    union all select 'members.iban_hash', iban_hash, loaded_at from members
    union all select 'claims.payee_iban_hash', payee_iban_hash, loaded_at from claims
    union all select 'account_events.new_value_hash', new_value_hash, loaded_at from account_events
    union all select 'member_identifiers.identifier_hash', identifier_hash, first_seen_at from member_identifiers
    union all select 'breach_identifiers.identifier_hash', identifier_hash, null from breach_identifiers
)
select col, v
from hashed
where v is not null
    and ($since::timestamptz is null or seen_at is null or seen_at >= $since::timestamptz)
    and not regexp_full_match(v, '[0-9a-f]{64}')

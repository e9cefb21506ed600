-- Lines of alerts closed as legitimate and then purged (retention): only the insurer's line
-- id is kept, so that the same alert does not come back at the next run.
-- Grain: one row per claim line.
create table if not exists suppressed_claims (
    claim_id      varchar not null,
    suppressed_at timestamptz not null
)

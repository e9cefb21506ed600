-- Review store: the migrations applied so far (created before any other step; idempotent).
-- Grain: one row per applied migration step.
create table if not exists review_migrations (
    version    varchar(16) primary key,
    name       varchar(200) not null,
    applied_at timestamp with time zone not null
)

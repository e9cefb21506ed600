-- Review store: runs whose new and updated cases were written here. A run that failed while
-- writing them is completed by the next run, which finds its id missing.
-- Grain: one row per synced run.
create table case_syncs (
    run_id        varchar(64) primary key,
    synced_at     timestamp with time zone not null,
    cases_written integer not null
)

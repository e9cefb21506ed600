-- Startup recovery, on every read-write open (the write lock is held, so no other process is
-- running): a run left 'running' died before its commit (its data transaction rolled back)
-- and is marked 'crashed'; one left 'committed' died while publishing ('publish_failed'; the
-- next run publishes again). Grain: one row per run.
update runs
set status = case status when 'running' then 'crashed' else 'publish_failed' end,
    finished_at = coalesce(finished_at, current_timestamp),
    summary_json = coalesce(summary_json, '{}')
where status in ('running', 'committed')

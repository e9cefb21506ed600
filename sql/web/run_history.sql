-- Run history for the web app's runs page, newest first, with the headline figures of each
-- run's summary (read from the published analytics copy). Grain: one row per run.
with runs_with_summary as (
    select
        r.run_id,
        r.flow,
        r.started_at,
        r.finished_at,
        r.status,
        try_cast(r.summary_json as json) as summary
    from runs as r
)

select
    rs.run_id,
    rs.flow,
    rs.started_at,
    rs.finished_at,
    rs.status,
    try_cast(rs.summary ->> '$.ingest.totals.rows_read' as bigint) as rows_read,
    try_cast(rs.summary ->> '$.ingest.totals.rows_quarantined' as bigint) as rows_quarantined,
    try_cast(rs.summary ->> '$.queue.open_cases' as bigint) as open_cases,
    try_cast(rs.summary ->> '$.queue.opened_this_run' as bigint) as opened_this_run,
    try_cast(rs.summary ->> '$.queue.amount_at_risk' as double) as amount_at_risk
from runs_with_summary as rs
order by rs.started_at desc, rs.run_id desc
limit $limit

-- Quarantine every rejected line of the file: one row per line, every reason in it.
-- A line whose only fault is an unknown member is retryable; its raw copy is the typed,
-- already pseudonymised line.
insert into quarantine (run_id, file_name, file_sha256, kind, line, columns, reasons, raw_json, retryable)
with rejected as (
    select * from stg_checked where len(all_errors) > 0
),

typed as (
    select t._line, to_json(t)::varchar as typed_json
    from (select * exclude (errors, all_errors, raw_json, member_unknown) from rejected) as t
)

select
    $run_id,
    $file_name,
    $file_sha256,
    $kind,
    r._line,
    array_to_string(list_transform(r.all_errors, lambda e: e.column), ','),
    array_to_string(list_transform(r.all_errors, lambda e: e.column || ': ' || e.reason), '; '),
    coalesce(r.raw_json, t.typed_json),
    len(r.errors) = 0 and r.member_unknown
from rejected as r
join typed as t on t._line = r._line

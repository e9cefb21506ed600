-- Review store (SQLite): the audit log is append-only; an UPDATE aborts.
-- Grain: trigger on audit_log.
create trigger audit_log_refuse_update before update on audit_log
begin
    select raise(abort, 'audit_log is append-only: rows cannot be updated');
end

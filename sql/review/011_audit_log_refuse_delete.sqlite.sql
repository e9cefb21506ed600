-- Review store (SQLite): the audit log is append-only; a DELETE aborts.
-- Grain: trigger on audit_log.
create trigger audit_log_refuse_delete before delete on audit_log
begin
    select raise(abort, 'audit_log is append-only: rows cannot be deleted');
end

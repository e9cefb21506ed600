-- Review store (PostgreSQL): the audit log is append-only; an UPDATE or DELETE aborts.
-- Grain: row trigger on audit_log.
create trigger audit_log_refuse_update_delete before update or delete on audit_log
for each row execute function audit_log_refuse_change()

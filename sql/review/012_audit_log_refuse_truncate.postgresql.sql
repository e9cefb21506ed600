-- Review store (PostgreSQL): TRUNCATE fires no row trigger; refuse it with a statement trigger.
-- (SQLite has no TRUNCATE: its DELETE trigger covers an unqualified delete.)
-- Grain: statement trigger on audit_log.
create trigger audit_log_refuse_truncate before truncate on audit_log
for each statement execute function audit_log_refuse_change()

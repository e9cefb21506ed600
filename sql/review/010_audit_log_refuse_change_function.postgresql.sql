-- Review store (PostgreSQL): the function behind the audit log's append-only triggers.
-- Grain: one trigger function.
create function audit_log_refuse_change() returns trigger language plpgsql as $$
begin
    raise exception 'audit_log is append-only: % refused', tg_op;
end
$$

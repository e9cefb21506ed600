-- Review store: a case's audit trail is read with the case.
-- Grain: index over audit_log.
create index audit_log_case on audit_log (case_id, audit_id)

-- Analyst view: the review audit log (case views, assignments, decisions, notes, exports,
-- logins, purges) with the decision and assignee taken out of the JSON details.
-- `claimwatch sql` answers it from the review store's current audit log.
-- Grain: one row per audited action.
create or replace view v_audit_log as
select
    a.audit_id,
    a.logged_at,
    a.actor,
    a.action,
    a.case_id,
    json_extract_string(a.details, '$.decision') as decision,
    json_extract_string(a.details, '$.status') as status,
    json_extract_string(a.details, '$.to') as assigned_to,
    a.row_count,
    a.file_sha256,
    a.details
from audit_log as a

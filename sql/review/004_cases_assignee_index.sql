-- Review store: a reviewer's own queue and a lead's workload view read cases by assignee.
-- Grain: index over cases.
create index cases_assignee on cases (assigned_to, status)

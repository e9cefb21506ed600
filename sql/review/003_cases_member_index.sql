-- Review store: a run looks cases up by member; the web app lists a member's other cases.
-- Grain: index over cases.
create index cases_member on cases (member_id)

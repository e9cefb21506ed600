-- Review store: a scheme's cases are decided and listed together.
-- Grain: index over cases.
create index cases_scheme on cases (scheme_id)

-- Review store: the queue is read by status (open cases first) and ordered by score.
-- Grain: index over cases.
create index cases_status_score on cases (status, score)

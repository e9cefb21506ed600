-- Report header: the run's scoring time and the data's as-of date.
-- Grain: one row ($run_id).
select scored_at, as_of_date, members_scored, members_flagged
from score_runs
where run_id = $run_id

-- The run's queue position of every open case (its rank from rank_open_cases.sql: schemes as
-- investigations), written to the review store, which ranks open cases by it.
-- Grain: one row per open case.
select case_id, rank as queue_position
from cases
where rank is not null
order by rank

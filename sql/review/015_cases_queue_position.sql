-- Review store: the run's queue position of each open case (sql/queue/rank_open_cases.sql:
-- schemes as investigations, not raw score order); the store ranks open cases by it.
-- Grain: one row per case (a column of cases).
alter table cases add column queue_position integer

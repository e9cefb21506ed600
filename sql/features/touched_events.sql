-- Account events this run's data touches: loaded since the stored features were built, or of
-- a member whose own rows changed. Grain: one row per event.
select event_id, member_id, event_type, new_value_hash
from account_events
where loaded_at > (select events_loaded_through from feature_state)
    or member_id in (select member_id from touched_members_changed)

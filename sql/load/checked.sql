-- Staged lines of a file whose rows name no member (members, breach_list, labels).
-- Grain: one row per input line.
select s.*, false as member_unknown, s.errors as all_errors
from stg as s

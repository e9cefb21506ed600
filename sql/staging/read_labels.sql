-- Read a labels file (no direct identifier; free-text values that look like one are
-- masked). Grain: one row per record of `raw_source` (all text). No join or window.
select
    cw_guard(claim_id) as claim_id,
    is_fraud,
    cw_guard(scenario) as scenario
from raw_source

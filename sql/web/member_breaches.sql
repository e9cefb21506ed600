-- A case's member's breach matches for the web case page's timeline: which breach list, when
-- the breach happened, which kind of identifier matched (never the identifier itself) and
-- whether the leaked value is still the member's. Grain: one row per member × breach × type.
select
    be.breach_name,
    be.breach_date,
    be.matched_type,
    be.matched_current
from breach_exposure as be
where be.member_id = $member_id
order by be.breach_date, be.breach_name, be.matched_type

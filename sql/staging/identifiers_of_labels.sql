-- Labels carry no identifier. Grain: no rows.
select null::varchar as identifier_type, null::varchar as raw_value where false

-- Load the valid labels: a newer label of a claim replaces the older one.
create or replace temp table new_labels as
select claim_id, is_fraud, scenario
from stg_checked
where len(all_errors) = 0
qualify row_number() over (partition by claim_id order by _line desc) = 1;

delete from labels where claim_id in (select claim_id from new_labels);

insert into labels select claim_id, is_fraud, scenario, $file_name from new_labels

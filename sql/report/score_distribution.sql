-- Report: this run's member scores (those stored, at or above the floor) and whether each
-- member reached the case threshold ($case_rule_score on the rule score, $case_ensemble_score on
-- the ensemble score). Grain: one row per (score bin of 2 points, reached threshold).
select
    floor(score / 2) * 2 as score_bin,
    rule_score >= $case_rule_score or ensemble_score >= $case_ensemble_score as is_case,
    count(*) as members
from member_scores
where run_id = $run_id
group by all
order by score_bin, is_case

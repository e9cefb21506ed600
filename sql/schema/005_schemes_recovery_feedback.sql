-- Schemes (investigations linking members), the recovery list, and what each scoring run used
-- (the detection configuration, the reviewers' decisions and the semi-supervised model).

-- the scheme a case belongs to (members linked by one mule account, one fake provider or one
-- household takeover); null for a case of its own
alter table cases add column if not exists scheme_id varchar;

alter table member_scores add column if not exists scheme_id varchar;

-- one row per (run, scheme)
create table if not exists scheme_scores (
    run_id         varchar not null,
    scheme_id      varchar not null,
    kind           varchar not null,   -- mule_account | fake_provider | household_takeover
    members        bigint not null,
    member_ids     varchar not null,   -- ';'-separated
    score          double not null,    -- 0..100, higher = more suspicious
    amount_at_risk decimal(14, 2) not null,
    reason         varchar not null
);

-- one row per (run, member) with an overpayment to recover (honest double submissions);
-- never part of the fraud queue
create table if not exists recovery_scores (
    run_id    varchar not null,
    member_id varchar not null,
    score     double not null,          -- 0..100
    amount    decimal(14, 2) not null,  -- claimed amount paid twice
    claim_ids varchar not null,         -- ';'-separated lines paid twice
    reasons   varchar not null
);

alter table score_runs add column if not exists config_version varchar;
alter table score_runs add column if not exists feedback_model varchar;
alter table score_runs add column if not exists decisions_used bigint;
alter table score_runs add column if not exists decisions_through timestamptz

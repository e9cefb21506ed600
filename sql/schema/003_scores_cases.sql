-- Scores, the review queue and the audit log.

-- one row per scoring run
create table if not exists score_runs (
    run_id          varchar primary key,
    scored_at       timestamptz not null,
    as_of_date      date,
    members_scored  bigint not null,
    members_flagged bigint not null,
    detectors       varchar not null,
    fit_sample_size bigint not null
);

-- one row per (run, member) scored above the floor, with every detector's contribution
create table if not exists member_scores (
    run_id          varchar not null,
    member_id       varchar not null,
    score           double not null,   -- 0..100, higher = more suspicious
    rule_score      double not null,   -- noisy-OR of the rule weights, 0..1
    ensemble_score  double not null,   -- rank-averaged PyOD ensemble, 0..1
    detector_scores varchar,           -- JSON: each PyOD detector's rank
    reason_codes    varchar,           -- ';'-separated, strongest first
    reasons         varchar,           -- reviewer-readable, strongest first
    amount_at_risk  decimal(14, 2) not null,
    claim_ids       varchar            -- ';'-separated suspicious lines
);

-- one row per (run, suspicious claim line, reason code)
create table if not exists claim_scores (
    run_id      varchar not null,
    claim_id    varchar not null,
    member_id   varchar not null,
    reason_code varchar not null,
    weight      double not null,
    reason      varchar not null
);

create sequence if not exists case_seq start 1;

-- one row per case: at most one open case per member; decisions are never overwritten
create table if not exists cases (
    case_id          varchar primary key,
    member_id        varchar not null,
    status           varchar not null,   -- new | in_review | needs_info | closed_fraud | closed_legitimate
    score            double not null,
    rank             integer,             -- among open cases, 1 = most suspicious
    rule_score       double,
    ensemble_score   double,
    amount_at_risk   decimal(14, 2) not null default 0,
    claim_ids        varchar,             -- ';'-separated
    reason_codes     varchar,
    reasons          varchar,
    assigned_to      varchar,
    decision         varchar,
    decided_by       varchar,
    decided_at       timestamptz,
    note             varchar,
    previous_case_id varchar,             -- the closed case of the same member this one follows
    opened_run_id    varchar not null,
    last_run_id      varchar not null,
    opened_at        timestamptz not null,
    updated_at       timestamptz not null
);

-- one row per (case, claim line) attached to it
create table if not exists case_claims (
    case_id     varchar not null,
    claim_id    varchar not null,
    added_run_id varchar not null,
    added_at    timestamptz not null
);

create sequence if not exists audit_seq start 1;

-- append-only: every assignment, decision, export and purge
create table if not exists audit_log (
    audit_id    bigint primary key default nextval('audit_seq'),
    logged_at   timestamptz not null default current_timestamp,
    actor       varchar not null,
    action      varchar not null,   -- assign | decide | export | purge | reopen
    case_id     varchar,
    details     varchar,            -- JSON
    row_count   bigint,
    file_sha256 varchar
)

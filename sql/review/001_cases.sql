-- Review store: one row per case. The run writes its content (member, score, amount, lines,
-- reasons, scheme, run ids); reviewers write its review state (status, assignment, decision,
-- note). A run never overwrites the review state. Portable DDL (SQLite and PostgreSQL).
-- Grain: one row per case.
create table cases (
    case_id           varchar(32) primary key,
    member_id         varchar(64) not null,
    status            varchar(20) not null default 'new'
        check (status in ('new', 'in_review', 'needs_info', 'closed_fraud', 'closed_legitimate')),
    assigned_to       varchar(64),
    decision          varchar(20) check (decision in ('fraud', 'legitimate', 'needs_info')),
    decided_by        varchar(64),
    decided_at        timestamp with time zone,
    note              text,
    review_updated_at timestamp with time zone,
    score             double precision not null,
    rule_score        double precision,
    ensemble_score    double precision,
    amount_at_risk    numeric(14, 2) not null default 0,
    claim_ids         text,
    reason_codes      text,
    reasons           text,
    scheme_id         varchar(64),
    previous_case_id  varchar(32),
    opened_run_id     varchar(64) not null,
    last_run_id       varchar(64) not null,
    opened_at         timestamp with time zone not null,
    updated_at        timestamp with time zone not null
)

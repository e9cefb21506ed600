-- Persisted features: what the last feature build covered (a run rebuilds only what its new
-- data touches) and the portfolio aggregates it used (refreshed on a schedule). The feature
-- tables themselves (feat_member_profile, feat_claim_signals, ...) are created by a full
-- rebuild from the feature queries (sql/features), so they follow those queries' columns.

-- one row: the watermarks of the stored features
create table if not exists feature_state (
    built_run_id           varchar not null,
    built_at               timestamptz not null,
    claims_loaded_through  timestamptz,   -- lines loaded up to here are in the stored features
    events_loaded_through  timestamptz,
    claims_count           bigint not null,
    full_rebuild           boolean not null,
    features_version       varchar not null  -- digest of the feature queries they were built by
);

-- one row: the portfolio aggregates in use (feat_peer_amounts, feat_portfolio_rates,
-- feat_bank_prevalence and the fitted PyOD ensemble) and when they were computed
create table if not exists feature_aggregates (
    refreshed_run_id varchar not null,
    refreshed_at     timestamptz not null,
    members          bigint not null,     -- portfolio size at the refresh
    ensemble         blob                 -- the fitted ensemble (pickle; null with < 50 members)
);

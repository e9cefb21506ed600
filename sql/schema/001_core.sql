-- Core tables of the claimwatch database: installation guard, ingest ledger, quarantine,
-- the pseudonymised raw tables and breach linkage.
-- Grain is stated per table. No column ever holds a clear NIR, IBAN, e-mail or phone:
-- identifiers are stored as HMAC-SHA-256 hex digests (*_hash) with a few derived clear
-- attributes that help detection (IBAN country and bank code, e-mail domain, NIR sex/birth).

-- one row: the installation (key fingerprint guards against running with another key)
create table if not exists installation (
    key_fingerprint varchar not null,
    created_at      timestamptz not null default current_timestamp
);

-- one row per run of the pipeline
create table if not exists runs (
    run_id       varchar primary key,
    flow         varchar not null,
    started_at   timestamptz not null,
    finished_at  timestamptz,
    status       varchar not null,          -- running | committed | completed | failed | publish_failed
    inbox        varchar,
    summary_json varchar
);

-- one row per distinct input file content (sha256), loaded or rejected
create table if not exists file_ledger (
    file_sha256      varchar primary key,
    file_name        varchar not null,
    kind             varchar,               -- members | account_events | claims | breach_list | labels
    file_format      varchar,               -- csv | parquet
    status           varchar not null,      -- loaded | rejected
    reason           varchar,               -- why a file was rejected whole
    rows_read        bigint not null default 0,
    rows_loaded      bigint not null default 0,
    rows_quarantined bigint not null default 0,
    bytes            bigint,
    run_id           varchar,
    recorded_at      timestamptz not null default current_timestamp
);

create sequence if not exists quarantine_seq start 1;

-- one row per rejected input line (every reason of that line in one row)
create table if not exists quarantine (
    quarantine_id  bigint primary key default nextval('quarantine_seq'),
    run_id         varchar,
    file_name      varchar not null,
    file_sha256    varchar not null,
    kind           varchar not null,
    line           bigint not null,         -- CSV: line in the file (header = line 1); Parquet: row number (1-based)
    columns        varchar not null,        -- offending column(s), comma-separated
    reasons        varchar not null,        -- every reason, '; '-separated
    raw_json       varchar,                 -- the input line, identifier fields already hashed
    retryable      boolean not null default false,  -- only reason: member_id not (yet) known
    resolved_at    timestamptz,             -- set when a retryable line loaded on a later run
    quarantined_at timestamptz not null default current_timestamp
);

-- one row per insured person (beneficiary), latest version
create table if not exists members (
    member_id        varchar not null,
    subscriber_id    varchar not null,      -- adhérent: the contract holder
    birth_date       date not null,
    sex              varchar not null,
    postcode         varchar not null,
    department       varchar not null,
    contract_start   date not null,
    nir_hash         varchar,
    nir_sex          varchar,               -- derived from the NIR (1 = M, 2 = F)
    nir_birth_year   integer,
    nir_birth_month  integer,
    email_hash       varchar,
    email_domain     varchar,
    phone_hash       varchar,
    iban_hash        varchar,
    iban_country     varchar,
    iban_bank_code   varchar,
    source_file      varchar not null,
    source_line      bigint not null,
    loaded_at        timestamptz not null
);

-- one row per (member, identifier type, identifier value) ever seen: breach linkage needs
-- every value a member has had, not only the current one
create table if not exists member_identifiers (
    member_id       varchar not null,
    identifier_type varchar not null,       -- nir | email | phone | iban
    identifier_hash varchar not null,
    source          varchar not null,       -- members | account_events
    first_seen_at   timestamptz not null
);

-- one row per account event
create table if not exists account_events (
    event_id          varchar not null,
    member_id         varchar not null,
    event_time        timestamptz not null,
    event_type        varchar not null,
    new_value_hash    varchar,              -- new IBAN / e-mail / phone, hashed
    new_postcode      varchar,              -- address_change keeps the postcode in clear
    new_iban_country  varchar,
    new_iban_bank_code varchar,
    new_email_domain  varchar,
    channel           varchar not null,
    ip_country        varchar,
    source_file       varchar not null,
    source_line       bigint not null,
    loaded_at         timestamptz not null
);

-- one row per reimbursement line (prestation); a repeated claim_id replaces the line.
-- Big tables carry no index: uniqueness is kept by the loader and asserted by sql/checks/.
create table if not exists claims (
    claim_id           varchar not null,
    member_id          varchar not null,
    care_date          date not null,
    received_date      date not null,
    source             varchar not null,
    care_category      varchar not null,
    act_code           varchar not null,
    provider_id        varchar not null,
    provider_postcode  varchar,
    billed_amount      decimal(12, 2) not null,  -- frais réels
    ro_amount          decimal(12, 2) not null,  -- part Assurance Maladie (régime obligatoire)
    claimed_amount     decimal(12, 2) not null,  -- share asked of the complementary insurer
    payee              varchar not null,
    payee_iban_hash    varchar,
    payee_iban_country varchar,
    payee_iban_bank_code varchar,
    source_file        varchar not null,
    source_line        bigint not null,
    loaded_at          timestamptz not null
);

-- lines held back only because their member_id is not known yet (retried every run)
create table if not exists pending_claims as select *, 0::bigint as quarantine_id from claims limit 0;
create table if not exists pending_account_events as
    select *, 0::bigint as quarantine_id from account_events limit 0;

-- one row per (breach, identifier type, hashed identifier)
create table if not exists breach_identifiers (
    identifier_type varchar not null,
    identifier_hash varchar not null,
    breach_name     varchar not null,
    breach_date     date not null,
    source_file     varchar not null
);

-- one row per (member, breach, identifier type) where a value the member has ever had leaked
create table if not exists breach_exposure (
    member_id       varchar not null,
    breach_name     varchar not null,
    breach_date     date not null,
    matched_type    varchar not null,
    matched_current boolean not null        -- the leaked value is still the member's current one
);

-- one row per labelled claim line (evaluation data only; never read by the detectors)
create table if not exists labels (
    claim_id    varchar not null,
    is_fraud    boolean not null,
    scenario    varchar,
    source_file varchar not null
);

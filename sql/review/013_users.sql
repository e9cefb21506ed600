-- Review store: reviewers and leads of the web app. Only an Argon2 hash of the password is
-- kept; repeated failed logins lock the account until locked_until.
-- Grain: one row per user.
create table users (
    name          varchar(64) primary key,
    role          varchar(16) not null check (role in ('reviewer', 'lead')),
    password_hash text not null,
    failed_logins integer not null default 0,
    locked_until  timestamp with time zone,
    created_at    timestamp with time zone not null
)

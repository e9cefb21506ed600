-- Review store (SQLite): the append-only audit log of every case view, assignment, decision,
-- note, export and purge, with the actor. Triggers (010, 011) refuse UPDATE and DELETE.
-- Grain: one row per audited action.
create table audit_log (
    audit_id    integer primary key autoincrement,
    logged_at   timestamp with time zone not null,
    actor       varchar(64) not null,
    action      varchar(20) not null,
    case_id     varchar(32),
    details     text,
    row_count   bigint,
    file_sha256 varchar(64)
)

-- Review store (SQLite): reviewers' notes on a case, oldest first; the id is the order.
-- Grain: one row per note.
create table case_notes (
    note_id    integer primary key autoincrement,
    case_id    varchar(32) not null,
    author     varchar(64) not null,
    body       text not null,
    created_at timestamp with time zone not null
)

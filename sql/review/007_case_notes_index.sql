-- Review store: a case's notes are read with the case.
-- Grain: index over case_notes.
create index case_notes_case on case_notes (case_id, note_id)

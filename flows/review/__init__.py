"""The review room: the review store and its Python API (the CLI and the web app call it).

Storage (``store.py``)
    ``open_store(settings=None, *, url=None) -> ReviewStore`` opens and migrates the review store:
    SQLite (WAL, mode 0600) at ``<db stem>.review.sqlite`` beside the DuckDB file, or the
    SQLAlchemy URL of ``CLAIMWATCH_REVIEW_DB`` (PostgreSQL for a team). ``store.read()`` /
    ``store.write()`` give a short transaction; ``store.close()``. A writer waits at most
    ``BUSY_TIMEOUT_SECONDS`` (5 s) for another, then ``ReviewStoreBusy``. Every expected failure
    is a ``ReviewError`` (a ``ValueError``) with a one-line message.

Queue (``queue.py``) — every function takes the store first; actors are validated
(``validate_name``: 1-64 characters, no control character, no leading ``= + - @``)
    ``list_cases(store, *, status=None, reason=None, scheme=None, assignee=None, min_amount=None,
    sort="rank", offset=0, limit=None) -> CasePage`` (``.rows``: dicts with every case column and
    ``rank`` among open cases; ``.total``: the filter's count). ``status``: a status, ``open``
    (default), ``closed``, ``all``; ``assignee=UNASSIGNED`` for nobody's; ``sort``: one of
    ``SORTS``, ``-`` prefix reverses.
    ``get_case(store, case_id, *, actor) -> dict`` (audited ``view``): ``case``, ``notes``,
    ``audit``, ``scheme_cases``, and from the published analytics copy ``member``, ``claims``,
    ``account_events``, ``data_as_of``.
    ``assign(store, case_id, to, *, actor, reason=None)``; ``assign_many(store, case_ids, to, *,
    actor, reason=None) -> int`` (all or none).
    ``decide(store, case_id, decision, *, actor, note=None) -> status`` (``fraud`` |
    ``legitimate`` | ``needs_info``; conditional on the case being open: of two reviewers
    deciding at once, the second gets ``ReviewError``).
    ``decide_scheme(store, scheme_id, decision, *, actor, note=None) -> {case_id: status}``.
    ``add_note(store, case_id, body, *, actor) -> note_id``.
    ``audit(store, *, case_id=None, actor=None, action=None, offset=0, limit=None) -> list[dict]``.
    ``workload(store) -> list[dict]`` (open cases and amount at risk per assignee).

Exports (``export.py``)
    ``export(store, fmt, out, *, actor, top=None, status=None, reason=None, scheme=None,
    assignee=None, min_amount=None) -> ExportResult(rows, sha256, path)``: CSV, XLSX (styled table
    ``cases`` + a ``lines`` sheet) or Parquet, first columns ``EXPORT_COLUMNS``; audited.

Users (``users.py``)
    ``add_user(store, name, role, password, *, actor="admin")``, ``verify_user(store, name,
    password) -> dict | None`` (Argon2; ``MAX_FAILED_LOGINS`` failures lock ``LOCK_MINUTES``),
    ``set_password``, ``get_user``, ``list_users``.

Runs and analysts (``sync.py``), retention (``retention.py``)
    ``catch_up(db, store)`` and ``pull_review_state(db, store)`` at a run's start, ``push_run(db,
    store, run_id)`` at its end; ``store_frames(store, names)`` for ``claimwatch sql``;
    ``purge(db, store, actor=..., now=None)`` applies retention to both stores.

Every case view, assignment, decision, note, export, login and purge is appended to the
store's ``audit_log`` with its actor; the product never updates or deletes it and database
triggers refuse it on SQLite and PostgreSQL.
"""

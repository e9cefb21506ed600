"""claimwatch: orchestration and I/O (installed as the ``claimwatch`` package).

The repository's top level installs as one namespace, so nothing generic lands in
site-packages: ``flows/`` is ``claimwatch``, ``detectors/`` is ``claimwatch.detectors``,
``sql/`` is ``claimwatch.sql`` (package data) and ``sample_data/`` is
``claimwatch.sample_data``. An editable install in strict mode
(``pip install -e . --config-settings editable_mode=strict``) lays out the same tree as links,
so static tools and IDEs follow every import to its file.

Import map (one room a subpackage; an arrow is "may import")::

    cli/         the ``claimwatch`` command line          → pipelines, rooms, web, store, settings
    web/         the reviewers' web app (``claimwatch web``) → review, store, settings, detectors
    pipelines/   Prefect flows and deployments            → rooms, store, settings
      run.py         ``claimwatch-run``: ingest → score → queue → publish
      purge.py       ``claimwatch-purge``: retention
      deployments.py schedules served by ``claimwatch serve`` and declared in prefect.yaml
    ingest/      inbox files → validated, pseudonymised rows   → store, settings
    scoring/     features (sql/features) → detectors → scores, cases → store, detectors, settings
    review/      the review queue: list, show, assign, decide, export, retention → store, settings
    publish/     analytics copy, run report, Prefect artifacts → store, detectors, settings
    store/       DuckDB connection, migrations, SQL files, key, redaction, runs → settings
    settings.py  the one ``Settings`` class;  errors.py  the ``ClaimwatchError`` family

Layering rule: imports point down this list only. Rooms (ingest, scoring, review, publish)
never import each other or ``pipelines``/``cli``; ``detectors`` is pure (no I/O, no Prefect,
no ``claimwatch`` import but its own modules); every SQL statement lives in ``sql/``.
"""

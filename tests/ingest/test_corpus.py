"""The bad-input corpus: every case's inbox is ingested and must give exactly its manifest.

Each folder of tests/ingest/corpus holds an inbox and ``case.json`` (see build_corpus.py):
the status and counts of every inbox entry, every quarantined line with its physical line,
column and reason, extra SQL checks, and clear values that no file under the database folder
may contain after the run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from claimwatch.ingest.load import ingest_batch
from claimwatch.settings import Settings
from claimwatch.store.db import connect

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "case.json").exists())


def test_corpus_is_large_enough():
    assert len(CASES) >= 40


def _inbox(tmp_path: Path, name: str, spec: dict) -> Path:
    inbox = tmp_path / "case_inbox"
    shutil.copytree(CORPUS / name / "inbox", inbox, symlinks=True)
    if spec.get("members", True):
        shutil.copy(CORPUS / "members.csv", inbox / "members.csv")
    for entry in spec.get("make", []):
        if "dir" in entry:
            (inbox / entry["dir"]).mkdir()
            (inbox / entry["dir"] / "claims.csv").write_text("claim_id\n")
        elif "outside" in entry:
            outside = tmp_path / "elsewhere" / entry["symlink"]
            outside.parent.mkdir(exist_ok=True)
            outside.write_text(entry["outside"])
            (inbox / entry["symlink"]).symlink_to(outside)
        else:
            (inbox / entry["symlink"]).symlink_to(entry["to"])
    return inbox


@pytest.mark.parametrize("name", CASES)
def test_case(name: str, tmp_path: Path, settings: Settings):
    spec = json.loads((CORPUS / name / "case.json").read_text())
    inbox = _inbox(tmp_path, name, spec)
    settings.db = tmp_path / "db" / "claimwatch.duckdb"
    db = connect(settings, create=True)
    try:
        with db.transaction():
            summary = ingest_batch(db, inbox, "corpus", tasks=False)
    finally:
        db.close()

    expected = dict(spec["files"])
    if spec.get("members", True):
        expected["members.csv"] = ["loaded", 2, 2, 0]
    got = {}
    for f in summary.files:
        if f.status == "loaded":
            got[f.file_name] = [f.status, f.rows_read, f.rows_loaded, f.rows_quarantined]
        else:
            got[f.file_name] = [f.status, f.reason or ""]
    # every inbox entry has its line in the summary, with its status
    assert set(got) == set(expected), spec["why"]
    for file_name, want in expected.items():
        if want[0] == "loaded":
            assert got[file_name] == want, (file_name, spec["why"])
        else:
            assert got[file_name][0] == want[0], (file_name, got[file_name])
            assert want[1] in got[file_name][1], (file_name, got[file_name])

    con = duckdb.connect(str(settings.db), read_only=True)
    try:
        rows = con.execute(
            "select file_name, line, columns, reasons, raw_json from quarantine order by file_name, line"
        ).fetchall()
        assert len(rows) == len(spec.get("quarantine", [])), rows
        for (file_name, line, columns, reasons, _raw), want in zip(
            rows, spec.get("quarantine", []), strict=True
        ):
            assert (file_name, line) == (want[0], want[1]), (rows, spec["why"])
            assert want[2] in columns, (columns, want)
            assert want[3] in reasons, (reasons, want)
        for query, result in spec.get("sql", []):
            assert [list(r) for r in con.execute(query).fetchall()] == result, query
        rejected = con.execute(
            "select file_name, reason from file_ledger where status = 'rejected'"
        ).fetchall()
        # a rejected file is recorded in the ledger with its reason
        assert {r[0] for r in rejected} == {n for n, w in expected.items() if w[0] == "rejected"}
    finally:
        con.close()

    # no clear value of the case in any file under the database folder
    for path in (tmp_path / "db").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in spec.get("secrets", []):
                assert secret.encode() not in data, (secret, path)

"""Ingest against the data contract: every rule, quarantine, idempotency, atomicity, privacy."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path

import duckdb
import polars as pl
import pytest

from claimwatch.ingest.load import ingest_batch
from claimwatch.settings import Settings
from claimwatch.store.db import connect
from claimwatch.store.privacy import PseudonymKeyError
from tests.helpers import TEST_KEY, clear_identifiers

IBAN_A = "FR7630006000011234567890189"  # valid (mod 97)
IBAN_B = "FR7630004000031234567890143"  # valid
NIR_1 = "180057511234580"  # valid key (97 - n mod 97 = 80)
NIR_SPACED = "1 80 05 75 112 345 80"  # the same NIR as breach dumps write it

MEMBER_HEADER = (
    "member_id,subscriber_id,birth_date,sex,postcode,contract_start,nir,email,phone,iban,last_name,first_name"
)
MEMBERS = f"""{MEMBER_HEADER}
M1,S1,1980-05-04,M,75011,2020-01-01,{NIR_1},Jean.Dupont@Gmail.com,06 12 34 56 78,{IBAN_A},Dupont,Jean
M2,S1,1982-07-01,F,1000,2020-01-01,,,,{IBAN_A},Dupont,Marie
"""

CLAIM_HEADER = (
    "claim_id,member_id,care_date,received_date,source,care_category,act_code,"
    "provider_id,provider_postcode,billed_amount,ro_amount,claimed_amount,payee,payee_iban"
)
GOOD = f"C1,M1,2025-03-01,2025-03-04,noemie,consultation,G,10001234567,75011,30.00,19.00,9.00,member,{IBAN_A}"


def write(inbox: Path, name: str, text: str) -> Path:
    path = inbox / name
    path.write_text(text, encoding="utf-8")
    return path


def ingest(settings: Settings, run_id: str = "r1"):
    db = connect(settings, create=True)
    try:
        with db.transaction():
            return ingest_batch(db, settings.inbox, run_id, tasks=False)
    finally:
        db.close()


def query(settings: Settings, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(settings.db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


# Each case: one bad claim line (line 3 of the file) and the column + reason expected.
BAD_CLAIMS = [
    (
        "C2,M1,2025-02-30,2025-03-04,noemie,consultation,G,P1,,30,19,9,member," + IBAN_A,
        "care_date",
        "not an ISO date",
    ),
    (
        "C2,M1,2025-03-01,2025-03-04,noemie,consultation,G,P1,,-5,19,9,member," + IBAN_A,
        "billed_amount",
        "negative",
    ),
    (
        "C2,M1,2025-03-01,2025-03-04,noemie,consultation,G,P1,,30,19,9;5,member," + IBAN_A,
        "claimed_amount",
        "not a decimal",
    ),
    (
        "C2,M1,2025-03-01,2025-03-04,fax,consultation,G,P1,,30,19,9,member," + IBAN_A,
        "source",
        "unknown value",
    ),
    (
        "C2,M1,2025-03-01,2025-03-04,noemie,massage,G,P1,,30,19,9,member," + IBAN_A,
        "care_category",
        "unknown value",
    ),
    (
        "C2,M1,2025-03-05,2025-03-01,noemie,consultation,G,P1,,30,19,9,member," + IBAN_A,
        "received_date",
        "before care_date",
    ),
    (
        "C2,M1,2025-03-01,2025-03-04,noemie,consultation,G,P1,,30,19,9,member,FR7630006000011234567890188",
        "payee_iban",
        "checksum",
    ),
    (
        "C2,M1,2025-03-01,2025-03-04,noemie,consultation,G,P1,,30,19,9,member,",
        "payee_iban",
        "required when payee = member",
    ),
    ("C2,M1,2025-03-01,2025-03-04,noemie,consultation,G,,,30,19,9,provider,", "provider_id", "missing"),
    ("C2,M1,2025-03-01,2025-03-04,noemie,consultation,G,P1,,30,19,9,insurer,", "payee", "unknown value"),
]


@pytest.mark.parametrize(("line", "column", "reason"), BAD_CLAIMS)
def test_each_claim_rule_quarantines_exactly_the_bad_line(settings, line, column, reason):
    write(settings.inbox, "members.csv", MEMBERS)
    write(settings.inbox, "claims_1.csv", f"{CLAIM_HEADER}\n{GOOD}\n{line}\n")
    summary = ingest(settings)
    claims_file = next(f for f in summary.files if f.kind == "claims")
    assert (claims_file.rows_read, claims_file.rows_loaded, claims_file.rows_quarantined) == (2, 1, 1)
    rows = query(settings, "select file_name, line, columns, reasons, retryable from quarantine")
    assert len(rows) == 1
    file_name, line_no, columns, reasons, retryable = rows[0]
    # header is line 1, the good line 2, the bad one 3
    assert (file_name, line_no, retryable) == ("claims_1.csv", 3, False)
    assert column in columns.split(",")
    assert reason in reasons
    assert query(settings, "select claim_id from claims") == [("C1",)]


def test_every_reason_of_a_line_is_in_its_single_quarantine_row(settings):
    write(settings.inbox, "members.csv", MEMBERS)
    bad = "C2,M1,2025-13-01,2025-03-04,fax,consultation,G,P1,,-1,19,9,member,"
    write(settings.inbox, "claims.csv", f"{CLAIM_HEADER}\n{bad}\n")
    ingest(settings)
    rows = query(settings, "select columns, reasons from quarantine")
    assert len(rows) == 1
    assert set(rows[0][0].split(",")) == {"care_date", "source", "billed_amount", "payee_iban"}


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (f"M3,S2,1980-05-04,M,75011,2020-01-01,180057511234581,,,{IBAN_A},X,Y", "nir", "NIR key"),
        ("M3,S2,1980-05-04,M,75011,2020-01-01,,,,FR7630006000011234567890180,X,Y", "iban", "checksum"),
        (f"M3,S2,1980-05-04,X,75011,2020-01-01,,,,{IBAN_A},X,Y", "sex", "not M or F"),
        (f"M3,S2,04/05/1980,M,75011,2020-01-01,,,,{IBAN_A},X,Y", "birth_date", "not an ISO date"),
        (f"M3,S2,1980-05-04,M,7501,2020-01-01,,,,{IBAN_A},X,Y", None, None),  # 07501: accepted
    ],
)
def test_member_rules(settings, row, column, reason):
    write(settings.inbox, "members.csv", MEMBERS + row + "\n")
    ingest(settings)
    rows = query(settings, "select line, columns, reasons from quarantine")
    if column is None:
        assert rows == []
        assert query(settings, "select postcode, department from members where member_id = 'M3'") == [
            ("07501", "07")
        ]
    else:
        assert rows == [(4, column, f"{column}: " + rows[0][2].split(": ", 1)[1])]
        assert reason in rows[0][2]


def test_missing_required_column_rejects_the_whole_file_naming_it(settings):
    write(settings.inbox, "members.csv", MEMBERS)
    header = CLAIM_HEADER.replace("care_date,", "")
    write(settings.inbox, "claims_x.csv", header + "\nC1,M1,2025-03-04,noemie\n")
    summary = ingest(settings)
    result = next(f for f in summary.files if f.kind == "claims")
    assert result.status == "rejected"
    assert "care_date" in result.reason
    assert query(settings, "select status, file_name, reason from file_ledger where kind = 'claims'") == [
        ("rejected", "claims_x.csv", "missing required column 'care_date'")
    ]
    assert query(settings, "select count(*) from claims") == [(0,)]


def test_unreadable_file_is_rejected_and_malformed_lines_quarantined(settings):
    write(settings.inbox, "members.csv", MEMBERS)
    (settings.inbox / "claims_bin.csv").write_bytes(CLAIM_HEADER.encode() + b"\nC1,\xff\xfe\x00garbage\n")
    write(settings.inbox, "claims_ragged.csv", f"{CLAIM_HEADER}\n{GOOD},extra\n{GOOD.replace('C1', 'C9')}\n")
    summary = ingest(settings)
    by_name = {f.file_name: f for f in summary.files}
    assert by_name["claims_bin.csv"].status == "rejected"
    assert "UTF-8" in by_name["claims_bin.csv"].reason
    ragged = by_name["claims_ragged.csv"]
    assert (ragged.status, ragged.rows_loaded, ragged.rows_quarantined) == ("loaded", 1, 1)
    assert query(settings, "select line, reasons from quarantine") == [
        (2, "malformed CSV line: too many columns")
    ]
    # the good line after the malformed one keeps its own line number
    assert query(settings, "select claim_id, source_line from claims") == [("C9", 3)]


def test_unknown_columns_are_ignored_with_a_warning(settings):
    write(
        settings.inbox,
        "members.csv",
        MEMBERS.replace("first_name\n", "first_name,loyalty\n", 1)
        .replace("Jean\n", "Jean,gold\n")
        .replace("Marie\n", "Marie,silver\n"),
    )
    summary = ingest(settings)
    assert summary.files[0].warnings == ["unknown column(s) ignored: loyalty"]
    columns = {r[0] for r in query(settings, "select column_name from information_schema.columns")}
    assert "loyalty" not in columns and "last_name" not in columns and "first_name" not in columns


def test_same_inbox_twice_changes_nothing(settings):
    write(settings.inbox, "members.csv", MEMBERS)
    write(settings.inbox, "claims.csv", f"{CLAIM_HEADER}\n{GOOD}\n")
    ingest(settings, "r1")
    snapshot = query(settings, "select * exclude (loaded_at) from claims order by all")
    second = ingest(settings, "r2")
    assert {f.status for f in second.files} == {"skipped"}
    assert query(settings, "select * exclude (loaded_at) from claims order by all") == snapshot
    assert query(settings, "select count(*) from file_ledger") == [(2,)]


def test_repeated_claim_id_updates_the_line(settings):
    write(settings.inbox, "members.csv", MEMBERS)
    write(settings.inbox, "claims_1.csv", f"{CLAIM_HEADER}\n{GOOD}\n")
    ingest(settings, "r1")
    write(settings.inbox, "claims_2.csv", f"{CLAIM_HEADER}\n{GOOD.replace(',9.00,', ',12.50,')}\n")
    ingest(settings, "r2")
    assert query(settings, "select claim_id, claimed_amount::double, source_file from claims") == [
        ("C1", 12.5, "claims_2.csv")
    ]


def test_newer_member_row_replaces_older_and_identifier_history_is_kept(settings):
    write(settings.inbox, "members_1.csv", MEMBERS)
    ingest(settings, "r1")
    write(
        settings.inbox,
        "members_2.csv",
        MEMBERS.replace(f"06 12 34 56 78,{IBAN_A}", f"06 12 34 56 78,{IBAN_B}"),
    )
    ingest(settings, "r2")
    assert query(settings, "select count(*), count(distinct iban_hash) from members") == [(2, 2)]
    assert query(
        settings,
        "select count(*) from member_identifiers where member_id = 'M1' and identifier_type = 'iban'",
    ) == [(2,)]


def test_claim_of_unknown_member_waits_and_loads_when_the_member_arrives(settings):
    write(settings.inbox, "claims.csv", f"{CLAIM_HEADER}\n{GOOD}\n")
    first = ingest(settings, "r1")
    assert first.files[0].rows_quarantined == 1
    assert query(settings, "select retryable, resolved_at is null, columns from quarantine") == [
        (True, True, "member_id")
    ]
    write(settings.inbox, "members.csv", MEMBERS)
    second = ingest(settings, "r2")
    assert second.released_lines == 1
    assert query(settings, "select claim_id from claims") == [("C1",)]
    assert query(settings, "select resolved_at is not null from quarantine") == [(True,)]
    assert query(settings, "select count(*) from pending_claims") == [(0,)]


def test_members_file_after_claims_file_in_one_batch(settings):
    # files of one extraction arrive in any order: members load first whatever their names
    write(settings.inbox, "claims_a.csv", f"{CLAIM_HEADER}\n{GOOD}\n")
    write(settings.inbox, "members_z.csv", MEMBERS)
    summary = ingest(settings)
    assert [f.kind for f in summary.files] == ["members", "claims"]
    assert query(settings, "select count(*) from quarantine") == [(0,)]


def test_failed_batch_leaves_the_database_as_it_was(settings, monkeypatch):
    write(settings.inbox, "members.csv", MEMBERS)
    ingest(settings, "r1")
    before = query(settings, "select count(*) from members union all select count(*) from file_ledger")
    write(settings.inbox, "claims.csv", f"{CLAIM_HEADER}\n{GOOD}\n")
    write(settings.inbox, "labels.csv", "claim_id,is_fraud\nC1,0\n")
    import claimwatch.ingest.load as ingest_module

    real = ingest_module.load_one_file

    def fail_on_labels(db, f, run_id, progress=None, **kw):
        if f.kind == "labels":
            raise OSError("disk full")
        return real(db, f, run_id, progress, **kw)

    monkeypatch.setattr(ingest_module, "load_one_file", fail_on_labels)
    with pytest.raises(OSError):
        ingest(settings, "r2")
    assert (
        query(settings, "select count(*) from members union all select count(*) from file_ledger") == before
    )
    assert query(settings, "select count(*) from claims") == [(0,)]


def test_database_refuses_another_key(settings, monkeypatch):
    connect(settings, create=True).close()
    monkeypatch.setenv("CLAIMWATCH_KEY", "another-key-0123456789abcdef0123456789")
    with pytest.raises(PseudonymKeyError, match="another pseudonymisation key"):
        connect(Settings(db=settings.db))


def test_key_file_is_created_private_on_first_use(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("CLAIMWATCH_KEY", raising=False)
    db = connect(Settings(db=tmp_path / "x.duckdb"), create=True)
    db.close()
    key_file = tmp_path / "x.duckdb.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "NEW pseudonymisation key" in capsys.readouterr().err
    # reopening with the same file works; its fingerprint, not the key, is in the database
    connect(Settings(db=tmp_path / "x.duckdb")).close()
    secret = key_file.read_text().strip()
    con = duckdb.connect(str(tmp_path / "x.duckdb"), read_only=True)
    assert secret not in str(con.execute("select * from installation").fetchall())
    con.close()


def test_sql_hmac_equals_python_hmac(settings):
    write(settings.inbox, "members.csv", MEMBERS)
    ingest(settings)
    expected = hmac.new(TEST_KEY.encode(), IBAN_A.encode(), hashlib.sha256).hexdigest()
    assert query(settings, "select distinct iban_hash from members") == [(expected,)]
    # e-mail: trimmed, lower case; phone: E.164
    email = hmac.new(TEST_KEY.encode(), b"jean.dupont@gmail.com", hashlib.sha256).hexdigest()
    phone = hmac.new(TEST_KEY.encode(), b"+33612345678", hashlib.sha256).hexdigest()
    assert query(
        settings, "select email_hash, phone_hash, email_domain from members where member_id='M1'"
    ) == [(email, phone, "gmail.com")]


def test_csv_and_parquet_load_the_same_rows(tmp_path, monkeypatch):
    monkeypatch.setenv("CLAIMWATCH_KEY", TEST_KEY)
    frames = {
        "members": pl.read_csv(MEMBERS.encode(), infer_schema=False),
        "claims": pl.read_csv(f"{CLAIM_HEADER}\n{GOOD}\n{BAD_CLAIMS[1][0]}\n".encode(), infer_schema=False),
    }
    results = {}
    for fmt in ("csv", "parquet"):
        inbox = tmp_path / fmt
        inbox.mkdir()
        for name, frame in frames.items():
            if fmt == "csv":
                frame.write_csv(inbox / f"{name}.csv")
            else:
                # typed Parquet as an insurer would write it: numbers and dates, not text
                typed = frame.with_columns(
                    pl.col(c).str.to_date()
                    for c in ("birth_date", "contract_start", "care_date", "received_date")
                    if c in frame.columns
                ).with_columns(
                    pl.col(c).cast(pl.Float64)
                    for c in ("billed_amount", "ro_amount", "claimed_amount")
                    if c in frame.columns
                )
                typed.write_parquet(inbox / f"{name}.parquet")
        s = Settings(db=tmp_path / f"{fmt}.duckdb", inbox=inbox)
        ingest(s)
        results[fmt] = (
            # CSV counts lines (header = 1), Parquet counts rows: compare everything else
            query(s, "select * exclude (source_file, source_line, loaded_at) from claims order by all"),
            query(s, "select * exclude (source_file, source_line, loaded_at) from members order by all"),
            query(s, "select columns, reasons from quarantine order by all"),
        )
    assert results["csv"] == results["parquet"]
    assert len(results["csv"][0]) == 1 and len(results["csv"][2]) == 1


def test_breach_linkage_uses_every_value_a_member_ever_had(settings):
    write(settings.inbox, "members.csv", MEMBERS)
    write(
        settings.inbox,
        "account_events.csv",
        "event_id,member_id,event_time,event_type,new_value,channel,ip_country\n"
        "E1,M1,2026-01-10T10:00:00,email_change,new.address@proton.me,web,FR\n",
    )
    write(
        settings.inbox,
        "breach_list.csv",
        "identifier_type,identifier,breach_name,breach_date\n"
        "phone,+33 6 12 34 56 78,tele-2025-12,2025-12-01\n"
        "email,NEW.Address@Proton.me,forum-2026-02,2026-02-01\n"
        f"nir,{NIR_SPACED},tele-2025-12,2025-12-01\n"
        "phone,0033699999999,tele-2025-12,2025-12-01\n",
    )
    ingest(settings)
    assert query(
        settings,
        "select member_id, breach_name, matched_type, matched_current from breach_exposure order by all",
    ) == [
        ("M1", "forum-2026-02", "email", False),
        ("M1", "tele-2025-12", "nir", True),
        ("M1", "tele-2025-12", "phone", True),
    ]


def test_no_clear_identifier_reaches_any_table(settings, generated_inbox):
    for path in generated_inbox.iterdir():
        (settings.inbox / path.name).write_bytes(path.read_bytes())
    ingest(settings)
    values = clear_identifiers(generated_inbox)
    assert len(values) > 1000
    con = duckdb.connect(str(settings.db), read_only=True)
    text_columns = con.execute(
        "select table_name, column_name from information_schema.columns "
        "where data_type = 'VARCHAR' and table_schema = 'main'"
    ).fetchall()
    probe = pl.DataFrame({"v": sorted(values)})
    con.register("probe", probe.to_arrow())
    leaks = []
    for table, column in text_columns:
        hit = con.execute(
            f'select count(*) from "{table}" as t join probe as p on t."{column}" = p.v'
        ).fetchall()[0][0]
        # values embedded in longer text (reasons, JSON copies of quarantined lines)
        embedded = (
            con.execute(
                f'select count(*) from "{table}" as t join probe as p on contains(t."{column}", p.v) '
                f'where length(t."{column}") > length(p.v)'
            ).fetchall()[0][0]
            if table in ("quarantine", "file_ledger", "runs")
            else 0
        )
        if hit or embedded:
            leaks.append((table, column, hit, embedded))
    con.close()
    assert leaks == []


def test_database_is_private_to_its_owner_key(settings):
    write(settings.inbox, "members.csv", MEMBERS)
    ingest(settings)
    assert os.environ["CLAIMWATCH_KEY"] == TEST_KEY
    assert TEST_KEY.encode() not in settings.db.read_bytes()


def test_line_numbers_stay_exact_in_a_large_file(settings):
    # 300k lines span many row groups and threads: the line of a bad row far down the file
    # must still be its line in the file (header = 1)
    write(settings.inbox, "members.csv", MEMBERS)
    n = 300_000
    bad_at = 287_654  # 1-based data row
    frame = pl.DataFrame({"i": range(1, n + 1)}).select(
        line=pl.format(
            "C{},M1,2025-03-01,{},noemie,consultation,G,P1,,30.00,19.00,9.00,member," + IBAN_A,
            pl.col("i"),
            pl.when(pl.col("i") == bad_at).then(pl.lit("2025-02-01")).otherwise(pl.lit("2025-03-04")),
        )
    )
    (settings.inbox / "claims.csv").write_text(CLAIM_HEADER + "\n" + "\n".join(frame["line"]) + "\n")
    ingest(settings)
    assert query(settings, "select line, columns from quarantine") == [(bad_at + 1, "received_date")]
    assert query(settings, "select source_line from claims where claim_id = 'C250000'") == [(250_001,)]


def test_iban_validation_matches_python_stdnum(settings):
    from stdnum import iban

    candidates = [
        IBAN_A,
        IBAN_B,
        "DE89370400440532013000",
        "BE68539007547034",
        "CH9300762011623852957",
        "LU280019400644750000",
        "LT121000011101001000",
        "ES9121000418450200051332",
        "GB82WEST12345698765432",
        "NL91ABNA0417164300",
        "IT60X0542811101000000123456",
        "MC5811222000010123456789030",
        "DE89370400440532013001",  # checksum
        "FR763000600001123456789018",  # one character short
        "XX7630006000011234567890189",  # unknown country
        "FR76300060000112345678901891",  # one character long
    ]
    rows = [
        f"M{i},S{i},1980-01-01,M,75011,2020-01-01,,,,{value},X,Y"
        for i, value in enumerate(candidates, start=10)
    ]
    write(settings.inbox, "members.csv", MEMBER_HEADER + "\n" + "\n".join(rows) + "\n")
    ingest(settings)
    loaded = {r[0] for r in query(settings, "select member_id from members")}
    # the contract asks for the mod-97 check (with each country's length), not the national
    # check digits some countries add inside the BBAN
    for i, value in enumerate(candidates, start=10):
        assert (f"M{i}" in loaded) == iban.is_valid(value, check_country=False), value


def test_a_file_staged_in_slices_loads_as_in_one(settings, tmp_path, monkeypatch):
    # a big file is staged and loaded slice by slice: with slices of 3 rows, a repeated
    # claim_id across slices (the later line wins), a bad line, an unknown member's line and a
    # blank line before the last rows (line numbers past it) must give the same tables
    from claimwatch.ingest import load

    rows = [
        GOOD,
        GOOD.replace("C1,", "C2,"),
        GOOD.replace("C1,", "C3,").replace("2025-03-04", "2025-02-01"),  # received before care
        GOOD.replace("C1,", "C4,").replace(",M1,", ",M9,"),  # unknown member: waits
        GOOD.replace(",9.00,", ",12.50,"),  # C1 again, later: replaces the first C1
        "",
        GOOD.replace("C1,", "C5,"),
        GOOD.replace("C1,", "C2,").replace(",9.00,", ",7.00,"),  # C2 again, last
    ]
    text = CLAIM_HEADER + "\n" + "\n".join(rows) + "\n"
    tables = (
        "select claim_id, claimed_amount::double, source_line from claims order by claim_id",
        "select line, columns, reasons from quarantine order by line",
        "select claim_id, source_line from pending_claims order by claim_id",
    )
    results = []
    for slice_rows in (1_000_000, 3):
        monkeypatch.setattr(load, "STAGE_SLICE_ROWS", slice_rows)
        run_settings = settings.model_copy(update={"db": tmp_path / f"s{slice_rows}.duckdb"})
        write(run_settings.inbox, "members.csv", MEMBERS)
        write(run_settings.inbox, "claims.csv", text)
        ingest(run_settings)
        results.append([query(run_settings, sql) for sql in tables])
    assert results[0] == results[1]
    claims, quarantine, pending = results[0]
    assert claims == [("C1", 12.5, 6), ("C2", 7.0, 9), ("C5", 9.0, 8)]
    assert [(line, columns) for line, columns, _ in quarantine] == [(4, "received_date"), (5, "member_id")]
    assert pending == [("C4", 5)]

"""Synthetic inbox generator: contract columns, valid identifiers, labels, determinism."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import polars as pl
import pytest
from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.fr import nir as std_nir

from claimwatch.ingest.contract import CONTRACTS
from claimwatch.sample_data.generator import SCENARIOS, generate_inbox

REQUIRED = {kind: set(contract.required) for kind, contract in CONTRACTS.items()}
OPTIONAL = {
    "members": {"nir", "email", "phone", "iban", "last_name", "first_name"},
    "account_events": {"new_value", "ip_country"},
    "claims": {"provider_postcode", "payee_iban"},
    "breach_list": set(),
    "labels": {"scenario"},
}
N = 800
SEED = 7


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("inbox")
    counts = generate_inbox(out, members=N, seed=SEED)
    return out, counts


def read(out: Path, stem: str) -> pl.DataFrame:
    return pl.read_csv(out / f"{stem}.csv", infer_schema=False)  # every column as text


def test_files_and_columns(inbox):
    out, counts = inbox
    for stem, cols in REQUIRED.items():
        df = read(out, stem)
        assert cols <= set(df.columns), (stem, cols - set(df.columns))
        assert set(df.columns) <= cols | OPTIONAL[stem], stem
        assert counts[stem] == df.height
    assert counts["members"] == N
    m = read(out, "members")
    assert m["member_id"].is_unique().all()
    assert read(out, "account_events")["event_id"].is_unique().all()


def test_formats(inbox):
    out, _ = inbox
    m = read(out, "members")
    c = read(out, "claims")
    e = read(out, "account_events")
    assert m["postcode"].str.contains(r"^(\d{5})$").all()
    assert m["postcode"].str.starts_with("0").any()  # leading zeros kept (01..09 departments)
    assert m["postcode"].str.starts_with("97").any() and m["postcode"].str.starts_with("20").any()
    assert c["provider_postcode"].drop_nulls().str.contains(r"^\d{5}$").all()
    assert set(m["sex"].unique()) == {"M", "F"}
    for col in ("birth_date", "contract_start"):
        assert m[col].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    for col in ("billed_amount", "ro_amount", "claimed_amount"):
        assert c[col].str.contains(r"^\d+\.\d{2}$").all(), col
    assert e["event_time"].str.contains(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$").all()
    assert set(c["source"].unique()) == {"noemie", "tiers_payant", "member_upload", "paper"}
    assert c["care_category"].n_unique() == 10
    assert set(e["event_type"].unique()) == {
        "iban_change",
        "email_change",
        "phone_change",
        "address_change",
        "password_reset",
        "login_new_device",
    }
    assert set(e["channel"].unique()) <= {"web", "app", "phone", "mail", "agency"}
    assert set(read(out, "breach_list")["identifier_type"].unique()) == {
        "nir",
        "email",
        "phone",
        "iban",
    }


def test_identifiers_valid(inbox):
    out, _ = inbox
    m = read(out, "members")
    nirs = m["nir"].drop_nulls()
    assert nirs.len() > 0.8 * N
    assert all(std_nir.is_valid(x) for x in nirs)
    # NIR consistent with sex and birth date
    chk = m.drop_nulls("nir").select(
        ok=(
            pl.col("nir").str.slice(0, 1)
            == pl.when(pl.col("sex") == "M").then(pl.lit("1")).otherwise(pl.lit("2"))
        )
        & (pl.col("nir").str.slice(1, 2) == pl.col("birth_date").str.slice(2, 2))
        & (pl.col("nir").str.slice(3, 2) == pl.col("birth_date").str.slice(5, 2))
    )
    assert chk["ok"].all()
    ibans = set(m["iban"].drop_nulls())
    e = read(out, "account_events")
    ibans |= set(e.filter(pl.col("event_type") == "iban_change")["new_value"])
    ibans |= set(read(out, "claims")["payee_iban"].drop_nulls())
    b = read(out, "breach_list")
    assert all(std_iban.is_valid(x) for x in ibans)
    assert {x[:2] for x in ibans} > {"FR"}  # border workers / fraudsters' foreign accounts
    assert all(std_iban.is_valid(x) for x in b.filter(pl.col("identifier_type") == "iban")["identifier"])
    assert all(std_nir.is_valid(x) for x in b.filter(pl.col("identifier_type") == "nir")["identifier"])
    # legitimate FINESS / RPPS providers carry a valid Luhn key (FINESS read with 2A/2B as 20); a
    # few typos allowed. ADELI numbers (osteopaths, psychologists: alternative medicine) have no
    # key: about nine in ten fail a Luhn check, which is why detection must not run one on them
    c = read(out, "claims").join(read(out, "labels"), on="claim_id")
    legit = c.filter(pl.col("is_fraud") == "0")
    adeli = set(legit.filter(pl.col("care_category") == "alternative_medicine")["provider_id"])
    prov = legit.filter(~pl.col("provider_id").is_in(list(adeli)))["provider_id"].unique()
    bad = [p for p in prov if not luhn.is_valid(p.replace("2A", "20").replace("2B", "20"))]
    assert len(bad) <= max(3, 0.01 * len(prov))
    assert set(prov.str.len_chars().unique()) == {9, 11}
    assert all(len(p) == 9 and p.isdigit() for p in adeli)
    assert sum(not luhn.is_valid(p) for p in adeli) > 0.5 * len(adeli)


def test_claim_rules(inbox):
    out, _ = inbox
    c = read(out, "claims")
    m = read(out, "members")
    assert (c["received_date"] >= c["care_date"]).all()  # ISO dates compare as text
    assert (c["payee_iban"].is_not_null() == (c["payee"] == "member")).all()
    assert c.filter(pl.col("source") == "tiers_payant")["payee"].eq("provider").all()
    assert c.filter(pl.col("source").is_in(["member_upload", "paper"]))["payee"].eq("member").all()
    assert set(c["member_id"]) <= set(m["member_id"])
    assert set(read(out, "account_events")["member_id"]) <= set(m["member_id"])
    amounts = c.select(pl.col("billed_amount", "ro_amount", "claimed_amount").cast(pl.Float64))
    assert (amounts.min_horizontal() >= 0).all()
    # a repeated claim_id is an update, later in the file
    assert c["claim_id"].n_unique() < c.height
    assert c.group_by("claim_id").agg(pl.len()).filter(pl.col("len") > 2).height == 0


def test_labels(inbox):
    out, counts = inbox
    c = read(out, "claims")
    lab = read(out, "labels")
    assert lab["claim_id"].is_unique().all()
    assert set(lab["claim_id"]) == set(c["claim_id"])
    assert set(lab["is_fraud"].unique()) == {"0", "1"}
    assert (lab["scenario"].is_null() == (lab["is_fraud"] == "0")).all()
    assert set(lab["scenario"].drop_nulls().unique()) == set(SCENARIOS)
    for s in SCENARIOS:
        assert counts[f"incidents_{s}"] >= 1
    fraud = lab.filter(pl.col("is_fraud") == "1").height
    assert 0 < fraud < 0.05 * lab.height


def test_breach_list_formats(inbox):
    out, _ = inbox
    b = read(out, "breach_list")
    phones = b.filter(pl.col("identifier_type") == "phone")["identifier"]
    formats = {
        "compact": r"^0\d{9}$",
        "spaced": r"^0\d( \d\d){4}$",
        "intl": r"^\+33\d{9}$",
        "0033": r"^0033\d{9}$",
    }
    seen = {k for k, rx in formats.items() if phones.str.contains(rx).any()}
    assert len(seen) >= 3, seen
    emails = b.filter(pl.col("identifier_type") == "email")["identifier"]
    assert emails.str.contains(r"[A-Z]").any() and emails.str.contains(r"^[a-z0-9._-]+@[a-z.]+$").any()
    assert b.filter(pl.col("identifier_type") == "nir")["identifier"].str.contains(" ").any()
    m = read(out, "members")
    exposed = set(b["identifier"].str.to_lowercase()) & set(m["email"].drop_nulls().str.to_lowercase())
    assert exposed  # members' e-mails leak (in whatever case)


def _digest(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("*.csv"))}


def test_deterministic(inbox, tmp_path):
    out, counts = inbox
    again = generate_inbox(tmp_path / "a", members=N, seed=SEED)
    assert again == counts
    assert _digest(tmp_path / "a") == _digest(out)
    generate_inbox(tmp_path / "b", members=N, seed=SEED + 1)
    assert _digest(tmp_path / "b")["claims.csv"] != _digest(out)["claims.csv"]


def test_custom_period(tmp_path):
    from datetime import date

    counts = generate_inbox(tmp_path, members=300, seed=1, start=date(2024, 3, 1), end=date(2024, 8, 31))
    c = read(tmp_path, "claims")
    assert c["care_date"].min() >= "2024-03-01" and c["received_date"].max() <= "2024-08-31"
    assert re.match(r"^\d{4}-\d{2}-\d{2}$", read(tmp_path, "breach_list")["breach_date"][0])
    assert counts["claims"] == c.height


def test_legitimate_look_alikes_are_generated(tmp_path):
    # the honest patterns detection must not misread are all present, and none is labelled fraud
    counts = generate_inbox(tmp_path / "x", members=3000, seed=5)
    lab = read(tmp_path / "x", "labels")
    assert set(lab["is_fraud"].unique()) == {"0", "1"}
    c = read(tmp_path / "x", "claims")
    # 0 € pairs: two lines of one care, both asking nothing of the complementary insurer
    zero = c.filter(pl.col("claimed_amount") == "0.00").group_by("member_id", "care_date", "act_code").len()
    assert zero.filter(pl.col("len") >= 2).height > 0
    # a member's invoice received before the noemie line of the same care
    pairs = c.filter(pl.col("source") == "member_upload").join(
        c.filter(pl.col("source") == "noemie"), on=["member_id", "care_date", "act_code", "provider_id"]
    )
    assert pairs.filter(pl.col("received_date") < pl.col("received_date_right")).height > 0
    # people moving abroad: an IBAN change to a foreign bank from a session in that country
    e = read(tmp_path / "x", "account_events")
    moves = e.filter(
        (pl.col("event_type") == "iban_change")
        & (pl.col("ip_country").is_not_null())
        & (pl.col("ip_country") == pl.col("new_value").str.slice(0, 2))
        & (pl.col("ip_country") != "FR")
    )
    assert moves.height > 0
    assert counts["claims"] == c.height

"""Write the bad-input corpus (tests/ingest/corpus): one folder per case, with its manifest.

Run once to (re)create the committed files: ``python tests/ingest/build_corpus.py``. Each
case is a small inbox; ``case.json`` states what ingest must do with every entry of it:
``files`` maps an entry to [status, rows read, loaded, quarantined] (loaded files) or
[status, reason fragment] (rejected / ignored / skipped), ``quarantine`` lists every expected
quarantined line as [file, physical line, column, reason fragment], ``sql`` holds extra
checks [query, expected rows], ``secrets`` are clear values that must be found in no file
under the database folder, ``make`` entries are created at test time (git keeps no empty
folders and no symlinks to temp paths), and ``members`` adds the shared members file.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import shutil
from pathlib import Path

import polars as pl

ROOT = Path(__file__).parent / "corpus"
IBAN_A = "FR7630006000011234567890189"
IBAN_B = "FR7630004000031234567890143"
NIR_1 = "180057511234580"
CLAIM_HEADER = (
    "claim_id,member_id,care_date,received_date,source,care_category,act_code,"
    "provider_id,provider_postcode,billed_amount,ro_amount,claimed_amount,payee,payee_iban"
)
MEMBER_HEADER = (
    "member_id,subscriber_id,birth_date,sex,postcode,contract_start,nir,email,phone,iban,last_name,first_name"
)
MEMBERS = (
    f"{MEMBER_HEADER}\n"
    f"M1,S1,1980-05-04,M,75011,2020-01-01,{NIR_1},jean.dupont@gmail.com,06 12 34 56 78,{IBAN_A},Dupont,Jean\n"
    f"M2,S2,1982-07-01,F,69003,2020-01-01,,marie.curie@orange.fr,0698765432,{IBAN_B},Curie,Marie\n"
)
EVENT_HEADER = "event_id,member_id,event_time,event_type,new_value,channel,ip_country"
BREACH_HEADER = "identifier_type,identifier,breach_name,breach_date"


def claim(cid="C1", member="M1", care="2025-03-01", received="2025-03-04", **kw) -> str:
    v = {
        "source": "noemie",
        "category": "consultation",
        "act": "G",
        "provider": "10001234567",
        "ppc": "75011",
        "billed": "30.00",
        "ro": "19.00",
        "claimed": "9.00",
        "payee": "member",
        "iban": IBAN_A,
    } | kw
    return (
        f"{cid},{member},{care},{received},{v['source']},{v['category']},{v['act']},{v['provider']},"
        f"{v['ppc']},{v['billed']},{v['ro']},{v['claimed']},{v['payee']},{v['iban']}"
    )


def claims(*lines: str) -> str:
    return CLAIM_HEADER + "\n" + "\n".join(lines) + "\n"


CASES: dict[str, dict] = {}


def case(name: str, why: str, files: dict[str, str | bytes], expect: dict, **extra) -> None:
    CASES[name] = {"why": why, "content": files, "members": extra.pop("members", True), **expect, **extra}


GOOD = claims(claim("C1"), claim("C2", member="M2", iban=IBAN_B))
rng = random.Random(9)

# --- files that cannot be read: rejected whole, the rest of the batch loads
case(
    "random_bytes_named_csv",
    "random bytes named claims_bad.csv: rejected, the good claims file loads",
    {"claims_bad.csv": bytes(rng.randrange(256) for _ in range(4000)), "claims.csv": GOOD},
    {"files": {"claims_bad.csv": ["rejected", ""], "claims.csv": ["loaded", 2, 2, 0]}},
)
case(
    "gzip_named_csv",
    "gzip content named .csv: rejected with the reason (name it .csv.gz)",
    {"claims_z.csv": gzip.compress(GOOD.encode(), mtime=0), "claims.csv": claims(claim("C3"))},
    {"files": {"claims_z.csv": ["rejected", "gzip"], "claims.csv": ["loaded", 1, 1, 0]}},
)
case(
    "csv_gz_is_read",
    "a .csv.gz file is read (DuckDB reads gzip natively), lines counted in the content",
    {"claims.csv.gz": gzip.compress(claims(claim("C1"), claim("C2", care="2025/03/01")).encode(), mtime=0)},
    {
        "files": {"claims.csv.gz": ["loaded", 2, 1, 1]},
        "quarantine": [["claims.csv.gz", 3, "care_date", "not an ISO date"]],
    },
)
case(
    "corrupt_gzip",
    "a .csv.gz that is not gzip: rejected",
    {"claims.csv.gz": b"this is not gzip at all\n", "claims_ok.csv": claims(claim("C7"))},
    {"files": {"claims.csv.gz": ["rejected", "gzip"], "claims_ok.csv": ["loaded", 1, 1, 0]}},
)
case(
    "text_named_parquet",
    "a .parquet that is not Parquet: rejected, the CSV beside it loads",
    {"claims.parquet": b"PAR1 not really\n" + GOOD.encode(), "claims.csv": GOOD},
    {"files": {"claims.parquet": ["rejected", "Parquet"], "claims.csv": ["loaded", 2, 2, 0]}},
)
buf = io.BytesIO()
pl.read_csv(GOOD.encode(), infer_schema=False).write_parquet(buf)
case(
    "truncated_parquet",
    "a Parquet file cut in half: rejected",
    {"claims_cut.parquet": buf.getvalue()[: len(buf.getvalue()) // 2], "claims.csv": claims(claim("C5"))},
    {"files": {"claims_cut.parquet": ["rejected", "Parquet"], "claims.csv": ["loaded", 1, 1, 0]}},
)
case(
    "good_parquet",
    "a typed Parquet claims file loads; line = row number",
    {"claims.parquet": buf.getvalue()},
    {"files": {"claims.parquet": ["loaded", 2, 2, 0]}},
)
case(
    "three_megabyte_field",
    "a 3 MB field: the file is rejected (not contract data), the other file loads",
    {
        "claims_big.csv": claims(claim("C1", act="X" * 3_000_000)),
        "claims.csv": claims(claim("C8")),
    },
    {"files": {"claims_big.csv": ["rejected", "longer than"], "claims.csv": ["loaded", 1, 1, 0]}},
)
case(
    "latin1_in_dropped_name_column",
    "Latin-1 bytes only in last_name (dropped): still rejected, the contract requires UTF-8",
    {
        "members_latin1.csv": (
            f"{MEMBER_HEADER}\nM3,S3,1990-01-01,F,75011,2020-01-01,,,,,H\xe9lo\xefse,Ana\n"
        ).encode("latin-1")
    },
    {"files": {"members_latin1.csv": ["rejected", "UTF-8 text (first bad byte on line 2"]}},
)
case(
    "semicolon_delimited",
    "a ;-delimited file is rejected naming the delimiter, not 'missing columns'",
    {"claims_semi.csv": GOOD.replace(",", ";")},
    {"files": {"claims_semi.csv": ["rejected", "semicolon-delimited"]}},
)
case(
    "tab_delimited",
    "a tab-delimited file is rejected naming the delimiter",
    {"claims_tab.csv": GOOD.replace(",", "\t")},
    {"files": {"claims_tab.csv": ["rejected", "tab-delimited"]}},
)
case(
    "utf16",
    "a UTF-16 file is rejected naming the encoding",
    {"claims_utf16.csv": GOOD.encode("utf-16")},
    {"files": {"claims_utf16.csv": ["rejected", "UTF-16"]}},
)
case(
    "utf8_bom",
    "a UTF-8 byte-order mark is accepted",
    {"claims.csv": b"\xef\xbb\xbf" + GOOD.encode()},
    {"files": {"claims.csv": ["loaded", 2, 2, 0]}},
)
case(
    "empty_file",
    "an empty file is rejected",
    {"claims_empty.csv": b"", "claims.csv": claims(claim("C9"))},
    {"files": {"claims_empty.csv": ["rejected", "empty file"], "claims.csv": ["loaded", 1, 1, 0]}},
)
case(
    "header_only",
    "a header without rows loads nothing and is not an error",
    {"claims.csv": CLAIM_HEADER + "\n"},
    {"files": {"claims.csv": ["loaded", 0, 0, 0]}},
)
case(
    "missing_required_column",
    "a missing required column rejects the file naming the column",
    {"claims.csv": GOOD.replace("care_date,", "", 1).replace("2025-03-01,", "", 2)},
    {"files": {"claims.csv": ["rejected", "missing required column 'care_date'"]}},
)
case(
    "unknown_column_warned",
    "an unknown column is ignored (with a warning) and the rows load",
    {
        "claims.csv": GOOD.replace("payee_iban", "payee_iban,loyalty", 1)
        .replace("\nC1", "\nC1")
        .replace(IBAN_A + "\n", IBAN_A + ",gold\n")
        .replace(IBAN_B + "\n", IBAN_B + ",silver\n")
    },
    {"files": {"claims.csv": ["loaded", 2, 2, 0]}},
)

# --- physical line numbers
case(
    "blank_lines_shift",
    "three blank lines before a bad line: its reported line is the physical one",
    {"claims.csv": CLAIM_HEADER + "\n" + claim("C1") + "\n\n\n\n" + claim("C2", billed="-1") + "\n"},
    {
        "files": {"claims.csv": ["loaded", 2, 1, 1]},
        "quarantine": [["claims.csv", 6, "billed_amount", "negative"]],
        "sql": [["select claim_id, source_line from claims", [["C1", 2]]]],
    },
)
case(
    "quoted_line_break",
    "a quoted field with line breaks: later lines keep their physical numbers",
    {
        "claims.csv": CLAIM_HEADER
        + "\n"
        + claim("C1", act='"G\nwith\nbreaks"')
        + "\n"
        + claim("C2")
        + "\n"
        + claim("C3", source="fax")
        + "\n"
    },
    {
        "files": {"claims.csv": ["loaded", 3, 2, 1]},
        "quarantine": [["claims.csv", 6, "source", "unknown value"]],
        "sql": [["select claim_id, source_line from claims order by 1", [["C1", 2], ["C2", 5]]]],
    },
)
case(
    "crlf_and_blank_lines",
    "CRLF line endings, a blank CRLF line and a malformed line",
    {
        "claims.csv": (
            CLAIM_HEADER
            + "\r\n"
            + claim("C1")
            + "\r\n\r\n"
            + claim("C2")
            + ",extra\r\n"
            + claim("C3")
            + "\r\n"
        ).encode()
    },
    {
        "files": {"claims.csv": ["loaded", 3, 2, 1]},
        "quarantine": [["claims.csv", 4, "*", "malformed CSV line: too many columns"]],
        "sql": [["select claim_id, source_line from claims order by 1", [["C1", 2], ["C3", 5]]]],
    },
)
case(
    "too_few_columns",
    "a short line is quarantined as malformed on its own line",
    {"claims.csv": claims(claim("C1"), "C2,M1,2025-03-01", claim("C3"))},
    {
        "files": {"claims.csv": ["loaded", 3, 2, 1]},
        "quarantine": [["claims.csv", 3, "", "malformed CSV line"]],
    },
)
case(
    "no_final_newline",
    "a last line without its newline still loads with its line",
    {"claims.csv": CLAIM_HEADER + "\n" + claim("C1") + "\n" + claim("C2", payee="insurer")},
    {
        "files": {"claims.csv": ["loaded", 2, 1, 1]},
        "quarantine": [["claims.csv", 3, "payee", "unknown value"]],
    },
)

# --- contract strictness on values
case(
    "slash_dates",
    "2025/01/01 is not an ISO date",
    {"claims.csv": claims(claim("C1", care="2025/01/01"))},
    {
        "files": {"claims.csv": ["loaded", 1, 0, 1]},
        "quarantine": [["claims.csv", 2, "care_date", "ISO date"]],
    },
)
case(
    "exponent_amount",
    "1e3 is not a plain decimal amount",
    {"claims.csv": claims(claim("C1", billed="1e3"))},
    {
        "files": {"claims.csv": ["loaded", 1, 0, 1]},
        "quarantine": [["claims.csv", 2, "billed_amount", "exponent"]],
    },
)
case(
    "three_decimals",
    "12.555 has more than 2 decimals: quarantined, never rounded",
    {"claims.csv": claims(claim("C1", claimed="12.555"))},
    {
        "files": {"claims.csv": ["loaded", 1, 0, 1]},
        "quarantine": [["claims.csv", 2, "claimed_amount", "more than 2 decimals"]],
    },
)
case(
    "amount_out_of_range",
    "an amount beyond decimal(12, 2) says out of range",
    {"claims.csv": claims(claim("C1", billed="123456789012.00"))},
    {
        "files": {"claims.csv": ["loaded", 1, 0, 1]},
        "quarantine": [["claims.csv", 2, "billed_amount", "out of range"]],
    },
)
case(
    "decimal_comma",
    "a quoted 12,50 uses a decimal comma",
    {"claims.csv": claims(claim("C1", ro='"12,50"'))},
    {
        "files": {"claims.csv": ["loaded", 1, 0, 1]},
        "quarantine": [["claims.csv", 2, "ro_amount", "decimal comma"]],
    },
)
case(
    "nul_byte_in_id",
    "a NUL byte inside a claim id is quarantined",
    {"claims.csv": claims(claim("C1"), claim("C\x002"))},
    {
        "files": {"claims.csv": ["loaded", 2, 1, 1]},
        "quarantine": [["claims.csv", 3, "claim_id", "NUL byte"]],
    },
)
case(
    "care_date_far_future",
    "care and received dates in 2099, long after the extraction",
    {"claims.csv": claims(claim("C1", care="2099-01-01", received="2099-01-02"))},
    {
        "files": {"claims.csv": ["loaded", 1, 0, 1]},
        "quarantine": [["claims.csv", 2, "care_date,received_date", "in the future"]],
    },
)
case(
    "received_before_care",
    "received before care",
    {"claims.csv": claims(claim("C1", care="2025-03-05", received="2025-03-01"))},
    {
        "files": {"claims.csv": ["loaded", 1, 0, 1]},
        "quarantine": [["claims.csv", 2, "received_date", "before care_date"]],
    },
)
case(
    "event_time_not_iso",
    "an event time written 10/01/2026 10:00 is not ISO 8601; a future one is quarantined",
    {
        "account_events.csv": EVENT_HEADER
        + "\nE1,M1,10/01/2026 10:00,password_reset,,web,FR\nE2,M1,2099-01-01T00:00:00,password_reset,,web,FR"
        + "\nE3,M1,2026-01-10T10:00:00Z,password_reset,,web,FR\n"
    },
    {
        "files": {"account_events.csv": ["loaded", 3, 1, 2]},
        "quarantine": [
            ["account_events.csv", 2, "event_time", "ISO 8601"],
            ["account_events.csv", 3, "event_time", "in the future"],
        ],
    },
)

# --- identifiers: placeholders, redaction, identifiers in the wrong column
case(
    "placeholder_phones_and_breach",
    "phones n/a, -, inconnu, 0 hash to NULL; a breach-list 'N/A' phone is quarantined, exposes nobody",
    {
        "members.csv": f"{MEMBER_HEADER}\n"
        "M1,S1,1980-05-04,M,75011,2020-01-01,,n/a,n/a,,X,Y\n"
        "M2,S2,1980-05-04,M,75011,2020-01-01,,-,-,,X,Y\n"
        "M3,S3,1980-05-04,M,75011,2020-01-01,,inconnu,inconnu,,X,Y\n"
        "M4,S4,1980-05-04,M,75011,2020-01-01,000000000000000,null,0,xx,X,Y\n"
        "M5,S5,1980-05-04,M,75011,2020-01-01,,none,00 00 00 00 00,,X,Y\n",
        "breach_list.csv": f"{BREACH_HEADER}\nphone,N/A,dump-1,2025-01-01\nemail,inconnu,dump-1,2025-01-01\n"
        "phone,0612345678,dump-1,2025-01-01\n",
    },
    {
        "files": {"members.csv": ["loaded", 5, 5, 0], "breach_list.csv": ["loaded", 3, 1, 2]},
        "quarantine": [
            ["breach_list.csv", 2, "identifier", "placeholder"],
            ["breach_list.csv", 3, "identifier", "placeholder"],
        ],
        "sql": [
            [
                "select count(nir_hash), count(email_hash), count(phone_hash), count(iban_hash) from members",
                [[0, 0, 0, 0]],
            ],
            ["select count(*) from breach_exposure", [[0]]],
        ],
    },
    members=False,
)
case(
    "email_as_member_id",
    "an e-mail used as member_id is quarantined (not retryable) and stored nowhere in clear",
    {"claims.csv": claims(claim("C1", member="victim.one@example.org"), claim("C2"))},
    {
        "files": {"claims.csv": ["loaded", 2, 1, 1]},
        "quarantine": [["claims.csv", 2, "member_id", "looks like a direct identifier"]],
        "sql": [
            ["select count(*) from pending_claims", [[0]]],
            ["select count(*) from quarantine where retryable", [[0]]],
        ],
        "secrets": ["victim.one@example.org"],
    },
)
case(
    "identifiers_in_codes",
    "a NIR in act_code, a phone in provider_id: quarantined, masked in the quarantine copy",
    {
        "claims.csv": claims(
            claim("C1", act="2 84 12 75 115 422 14"), claim("C2", provider="+33 6 11 22 33 44")
        )
    },
    {
        "files": {"claims.csv": ["loaded", 2, 0, 2]},
        "quarantine": [
            ["claims.csv", 2, "act_code", "looks like a direct identifier"],
            ["claims.csv", 3, "provider_id", "looks like a direct identifier"],
        ],
        "secrets": ["2 84 12 75 115 422 14", "284127511542214", "+33 6 11 22 33 44", "+33611223344"],
    },
)
case(
    "email_in_breach_name",
    "an e-mail in breach_name is quarantined and masked",
    {"breach_list.csv": f"{BREACH_HEADER}\nemail,a.b@c.fr,leak of boss.name@corp.fr,2025-01-01\n"},
    {
        "files": {"breach_list.csv": ["loaded", 1, 0, 1]},
        "quarantine": [["breach_list.csv", 2, "breach_name", "looks like a direct identifier"]],
        "secrets": ["boss.name@corp.fr", "a.b@c.fr"],
    },
)
case(
    "spaced_identifiers_in_quarantined_line",
    "a NIR with dashes, an IBAN with spaces and a phone without its 0 in other columns of a bad line",
    {
        "members.csv": f"{MEMBER_HEADER}\n"
        "M9,2-84-12-75-115-422-14,1980-13-01,M,75011,2020-01-01,,,,,X,Y\n"
        "M8,S8,FR76 3000 6000 0112 3456 7890 189,M,75011,2020-01-01,,,,,X,Y\n"
        "M7,S7,1980-01-01,M,612345678,2020-01-01,,,,,X,Y\n",
    },
    {
        "files": {"members.csv": ["loaded", 3, 0, 3]},
        "quarantine": [
            ["members.csv", 2, "subscriber_id", "looks like a direct identifier"],
            ["members.csv", 3, "birth_date", "ISO date"],
            ["members.csv", 4, "postcode", "5-digit"],
        ],
        "secrets": ["2-84-12-75-115-422-14", "FR76 3000 6000 0112 3456 7890 189", "612345678"],
    },
    members=False,
)
case(
    "identifier_forms_join",
    "spaced NIR, dashed IBAN, +33 / 0033 phones and upper-case e-mail match the members",
    {
        "breach_list.csv": f"{BREACH_HEADER}\n"
        "nir,1 80 05 75 112 345 80,d1,2025-01-01\n"
        "iban,FR76-3000-6000-0112-3456-7890-189,d1,2025-01-01\n"
        "phone,0033 6 98 76 54 32,d2,2025-01-01\n"
        "email,JEAN.DUPONT@GMAIL.COM,d3,2025-01-01\n"
    },
    {
        "files": {"breach_list.csv": ["loaded", 4, 4, 0]},
        "sql": [
            [
                "select member_id, breach_name, matched_type from breach_exposure order by all",
                [["M1", "d1", "iban"], ["M1", "d1", "nir"], ["M1", "d3", "email"], ["M2", "d2", "phone"]],
            ]
        ],
    },
)
case(
    "invalid_nir_and_iban",
    "a NIR with a wrong key and an IBAN with a wrong checksum",
    {
        "members.csv": f"{MEMBER_HEADER}\n"
        "M3,S3,1980-05-04,M,75011,2020-01-01,1-80-05-75-112-345-81,,,,X,Y\n"
        "M4,S4,1980-05-04,M,75011,2020-01-01,,,,FR76 3000 6000 0112 3456 7890 188,X,Y\n"
    },
    {
        "files": {"members.csv": ["loaded", 2, 0, 2]},
        "quarantine": [["members.csv", 2, "nir", "NIR key"], ["members.csv", 3, "iban", "checksum"]],
        "secrets": [
            "1-80-05-75-112-345-81",
            "FR76 3000 6000 0112 3456 7890 188",
            "FR7630006000011234567890188",
        ],
    },
    members=False,
)
case(
    "claim_moves_to_another_member",
    "a repeated claim_id with another member_id is an update of the line",
    {"claims_1.csv": claims(claim("C1")), "claims_2.csv": claims(claim("C1", member="M2", iban=IBAN_B))},
    {
        "files": {"claims_1.csv": ["loaded", 1, 1, 0], "claims_2.csv": ["loaded", 1, 1, 0]},
        "sql": [["select claim_id, member_id, source_file from claims", [["C1", "M2", "claims_2.csv"]]]],
    },
)
case(
    "repeated_claim_in_one_file",
    "a claim_id twice in one file: the last line wins",
    {"claims.csv": claims(claim("C1"), claim("C1", claimed="12.50"))},
    {
        "files": {"claims.csv": ["loaded", 2, 2, 0]},
        "sql": [["select claim_id, claimed_amount::varchar, source_line from claims", [["C1", "12.50", 3]]]],
    },
)
case(
    "unknown_member_waits",
    "a claim of an unknown member is quarantined as retryable and held back",
    {"claims.csv": claims(claim("C1", member="M404"))},
    {
        "files": {"claims.csv": ["loaded", 1, 0, 1]},
        "quarantine": [["claims.csv", 2, "member_id", "unknown member"]],
        "sql": [["select count(*) from pending_claims", [[1]]]],
    },
)
case(
    "same_content_twice",
    "the same content under two names is loaded once",
    {"claims_a.csv": GOOD, "claims_b.csv": GOOD},
    {"files": {"claims_a.csv": ["loaded", 2, 2, 0], "claims_b.csv": ["skipped", "same content"]}},
)

# --- inbox entries that are not loaded: each named in the summary
case(
    "not_contract_entries",
    "hidden files, unknown stems, other extensions, upper-case names",
    {
        ".DS_Store": b"\x00\x01",
        "notes.csv": "a,b\n1,2\n",
        "claims.txt": GOOD,
        "CLAIMS_UPPER.CSV": claims(claim("C4")),
    },
    {
        "files": {
            ".DS_Store": ["ignored", "hidden"],
            "notes.csv": ["ignored", "unknown file kind"],
            "claims.txt": ["ignored", "not a contract file"],
            "CLAIMS_UPPER.CSV": ["loaded", 1, 1, 0],
        }
    },
)
case(
    "directories_and_symlinks",
    "a directory named like a claims file, a dangling link, a link out of the inbox, a link inside it",
    {"claims.csv": claims(claim("C6"))},
    {
        "files": {
            "claims.csv": ["loaded", 1, 1, 0],
            "claims_dir.csv": ["ignored", "a directory"],
            "claims_dangling.csv": ["ignored", "dangling"],
            "claims_outside.csv": ["ignored", "outside the inbox"],
            "claims_inside.csv": ["skipped", "same content"],
        },
        "make": [
            {"dir": "claims_dir.csv"},
            {"symlink": "claims_dangling.csv", "to": "nowhere.csv"},
            {"symlink": "claims_outside.csv", "outside": claims(claim("C66"))},
            {"symlink": "claims_inside.csv", "to": "claims.csv"},
        ],
    },
)


def main() -> None:
    if ROOT.exists():
        shutil.rmtree(ROOT)
    for name, spec in CASES.items():
        folder = ROOT / name
        (folder / "inbox").mkdir(parents=True)
        for file_name, content in spec.pop("content").items():
            data = content.encode() if isinstance(content, str) else content
            (folder / "inbox" / file_name).write_bytes(data)
        (folder / "case.json").write_text(json.dumps(spec, indent=1, ensure_ascii=True) + "\n")
    (ROOT / "members.csv").write_text(MEMBERS)
    print(f"{len(CASES)} cases in {ROOT}")


if __name__ == "__main__":
    main()

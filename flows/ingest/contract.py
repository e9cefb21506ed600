"""The input data contract (DATA_CONTRACT.md v1) as data: file kinds and their columns."""

from __future__ import annotations

from dataclasses import dataclass

# Processing order inside a batch: members first, so that claims and events of a member
# delivered in the same extraction find it whatever the files' names.
KINDS = ("members", "account_events", "claims", "breach_list", "labels")


@dataclass(frozen=True)
class FileContract:
    kind: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()  # accepted but never stored (data minimisation)
    names_member: bool = False  # rows name a member_id that must be known

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


CONTRACTS: dict[str, FileContract] = {
    "members": FileContract(
        "members",
        required=("member_id", "subscriber_id", "birth_date", "sex", "postcode", "contract_start"),
        optional=("nir", "email", "phone", "iban"),
        dropped=("last_name", "first_name"),
    ),
    "account_events": FileContract(
        "account_events",
        required=("event_id", "member_id", "event_time", "event_type", "channel"),
        optional=("new_value", "ip_country"),
        names_member=True,
    ),
    "claims": FileContract(
        "claims",
        required=(
            "claim_id",
            "member_id",
            "care_date",
            "received_date",
            "source",
            "care_category",
            "act_code",
            "provider_id",
            "billed_amount",
            "ro_amount",
            "claimed_amount",
            "payee",
        ),
        optional=("provider_postcode", "payee_iban"),
        names_member=True,
    ),
    "breach_list": FileContract(
        "breach_list", required=("identifier_type", "identifier", "breach_name", "breach_date")
    ),
    "labels": FileContract("labels", required=("claim_id", "is_fraud"), optional=("scenario",)),
}

FORMATS = {".csv": "csv", ".csv.gz": "csv", ".parquet": "parquet", ".pq": "parquet"}


def format_of(name: str) -> tuple[str | None, bool, str | None]:
    """Return (format, gzip-compressed, stem) of a file name, or (None, False, None)."""
    lowered = name.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if lowered.endswith(suffix) and len(name) > len(suffix):
            return FORMATS[suffix], suffix.endswith(".gz"), name[: -len(suffix)]
    return None, False, None


def kind_of(stem: str) -> str | None:
    """Recognise a file by its stem (``claims_2026-11-23`` is a claims file)."""
    lowered = stem.lower()
    # longest prefix first: nothing here is a prefix of another kind today, but stay safe
    for kind in sorted(KINDS, key=len, reverse=True):
        if lowered.startswith(kind):
            return kind
    return None

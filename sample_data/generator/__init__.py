"""Synthetic claimwatch inbox: French complementary-health members, account events, claim lines,
breach list and fraud labels, following the data contract v1 (shared/DATA_CONTRACT.md).

Everything is vectorised (numpy / polars). Python loops only run over the handful of care types,
breaches and fraud incidents, never over members or claim lines.

Modelling choices worth knowing when reading the data:

* ``members.csv`` is the snapshot at extraction time (``end``): postcode, e-mail, phone and IBAN
  are the *current* values, so a victim whose IBAN was not restored still carries the fraudster's
  IBAN. ``account_events.csv`` holds the history (``new_value`` of every change) over start..end.
* amounts follow 2025 tariffs: GP consultation 30 EUR, RO 70 % minus the 2 EUR participation
  forfaitaire (adults; not claimed from the complementary); pharmacy 65/30/15 %; dental, optical
  and hearing at 60 % of low RO bases (0.05 EUR for class-B glasses, 400 EUR per hearing aid,
  120 EUR per crown); hospital forfait journalier 20 EUR/day and the 24 EUR forfait (claimed from
  the complementary); osteopathy and other alternative medicine RO 0.
* ``claimed_amount`` = billed - RO share before the 2 EUR participation (+ the 24 EUR forfait).
* provider ids: RPPS = ``10`` + 8 digits + Luhn key (11 digits); FINESS = department (2A/2B and
  97x kept) + digits + Luhn key computed with 2A/2B read as ``20`` (9 chars); alternative-medicine
  practitioners ADELI: department + profession code + serial, 9 digits, no check key. A few
  legitimate FINESS / RPPS providers carry a bad key.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from claimwatch.sample_data.generator.accounts import Accounts
from claimwatch.sample_data.generator.care import Care
from claimwatch.sample_data.generator.confounders import Confounders
from claimwatch.sample_data.generator.events import EventLog
from claimwatch.sample_data.generator.fraud import Fraud
from claimwatch.sample_data.generator.identifiers import _day
from claimwatch.sample_data.generator.people import People
from claimwatch.sample_data.generator.providers import Providers
from claimwatch.sample_data.generator.reference import SCENARIOS, _name_pools
from claimwatch.sample_data.generator.write import Writer

__all__ = ["generate_inbox", "SCENARIOS", "InboxGenerator"]

# ============================================================================== the generator


def generate_inbox(
    out_dir: Path,
    members: int = 5000,
    seed: int = 42,
    *,
    fraud_member_rate: float = 0.005,
    start: date = date(2025, 1, 1),
    end: date = date(2026, 10, 31),
) -> dict[str, int]:
    """Write members.csv, account_events.csv, claims.csv, breach_list.csv, labels.csv into out_dir;
    return row counts per file (and number of fraud incidents per scenario, keys like
    'incidents_ato_iban').

    Deterministic for a seed. About 22 claim lines per member and year of cover. Each scenario gets
    ``max(1, round(members * fraud_member_rate / 8.5))`` incidents (0 if the rate is 0); fake-provider
    incidents need about 180 members or more. Extra keys: ``fraud_claim_lines``,
    ``claim_corrections`` (repeated claim_ids) and ``members_exposed`` (in the breach list).
    labels.csv has one row per distinct claim_id.
    """
    if members < 20:
        raise ValueError("members must be >= 20")
    if end <= start:
        raise ValueError("end must be after start")
    g = InboxGenerator(members, seed, fraud_member_rate, start, end)
    return g.run(Path(out_dir))


class InboxGenerator(People, Providers, Accounts, Fraud, Care, Confounders, Writer):
    """One synthetic portfolio: members, providers, timelines, fraud, claim lines, files."""

    def __init__(self, n, seed, rate, start, end):
        self.n, self.rate = n, rate
        self.rng = np.random.default_rng(seed)
        self.d0, self.d1 = _day(start), _day(end)
        self.start, self.end = start, end
        self.pools = _name_pools()
        self.ev = EventLog()
        self.counts: dict[str, int] = {}

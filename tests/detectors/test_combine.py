"""How rule and ensemble scores make a member's score (detectors/combine.py)."""

from __future__ import annotations

import polars as pl
import pytest

from claimwatch.detectors.combine import final_score


def scores(rule: list[float], ensemble: list[float]) -> list[float]:
    frame = pl.DataFrame({"rule": rule, "ensemble": ensemble})
    return frame.select(score=final_score(pl.col("rule"), pl.col("ensemble")))["score"].to_list()


def test_the_ensemble_adds_to_rule_evidence_and_never_takes_from_it():
    # ensemble_share 0.2 of what the rules leave unexplained:
    # a relative claimed in by a takeover (rule 0.8) with an ordinary profile (ensemble 0.1):
    #   100 x (1 - 0.2 x (1 - 0.2 x 0.1)) = 100 x (1 - 0.2 x 0.98) = 80.4 (never below 80)
    # a look-alike with less rule evidence (0.76) and an unusual profile (0.99):
    #   100 x (1 - 0.24 x (1 - 0.198)) = 80.752
    # no rule reason: the ensemble alone, at most 20
    got = scores([0.8, 0.76, 0.0, 1.0], [0.1, 0.99, 1.0, 0.0])
    assert got == pytest.approx([80.4, 80.752, 20.0, 100.0])

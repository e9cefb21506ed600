"""Ranking metrics (detectors/metrics.py) on small rankings worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from claimwatch.detectors.metrics import average_precision, precision_at_k, recall_at_k

# A queue of 6 cases, best first; 1 = the member was defrauded. 4 defrauded members in all,
# one of whom never made it into the queue.
RANKED = np.array([1, 0, 1, 1, 0, 0])
POSITIVES = 4


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (1, 1 / 1),  # [1]
        (2, 1 / 2),  # [1, 0]
        (3, 2 / 3),  # [1, 0, 1]
        (4, 3 / 4),  # [1, 0, 1, 1]
        (6, 3 / 6),  # the whole queue
        (10, 3 / 10),  # only 6 cases: the 4 missing slots count as misses (divided by k, not 6)
    ],
)
def test_precision_at_k(k, expected):
    assert precision_at_k(RANKED, k) == pytest.approx(expected)


def test_precision_at_k_needs_a_positive_k():
    with pytest.raises(ValueError):
        precision_at_k(RANKED, 0)


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (1, 1 / 4),  # 1 of the 4 defrauded members found
        (3, 2 / 4),
        (4, 3 / 4),
        (100, 3 / 4),  # the 4th is not in the queue at all: never found
    ],
)
def test_recall_at_k(k, expected):
    assert recall_at_k(RANKED, POSITIVES, k) == pytest.approx(expected)


def test_recall_without_positives_is_undefined():
    assert math.isnan(recall_at_k(RANKED, 0, 3))


def test_average_precision_counts_unranked_positives_as_missed():
    # hits at ranks 1, 3, 4 with precision 1/1, 2/3, 3/4 there; the 4th positive was never
    # ranked and counts 0: (1 + 2/3 + 3/4 + 0) / 4 = 0.6042
    assert average_precision(RANKED, POSITIVES) == pytest.approx((1 + 2 / 3 + 3 / 4) / 4)
    assert average_precision(RANKED, POSITIVES) == pytest.approx(0.6041667, abs=1e-6)


def test_average_precision_matches_sklearn_when_every_positive_is_ranked():
    # same ranking with 3 positives, all ranked: (1 + 2/3 + 3/4) / 3 = 0.8056, which is
    # scikit-learn's step-wise AP for scores decreasing down the queue
    scores = np.arange(len(RANKED), 0, -1)
    assert average_precision(RANKED, 3) == pytest.approx((1 + 2 / 3 + 3 / 4) / 3)
    assert average_precision(RANKED, 3) == pytest.approx(average_precision_score(RANKED, scores))


@pytest.mark.parametrize(
    ("ranked", "positives", "expected"),
    [
        ([1, 1, 0, 0], 2, 1.0),  # every positive on top
        ([0, 0, 1, 1], 2, (1 / 3 + 2 / 4) / 2),  # both at the bottom: 0.4167
        ([0, 0, 0], 2, 0.0),  # none found
        ([], 3, 0.0),  # empty queue
    ],
)
def test_average_precision_extremes(ranked, positives, expected):
    assert average_precision(np.array(ranked), positives) == pytest.approx(expected)


def test_average_precision_without_positives_is_undefined():
    assert math.isnan(average_precision(RANKED, 0))


def test_metrics_accept_boolean_masks():
    # evaluate() passes polars is_in masks (booleans), not 0/1
    hits = RANKED.astype(bool)
    assert precision_at_k(hits, 3) == precision_at_k(RANKED, 3)
    assert average_precision(hits, POSITIVES) == average_precision(RANKED, POSITIVES)

"""Ranking metrics for evaluation against labels: precision@k, recall@k, average precision.

Pure functions on arrays / polars frames; labels never feed the unsupervised detectors.
"""

from __future__ import annotations

import numpy as np


def precision_at_k(ranked_hits: np.ndarray, k: int) -> float:
    """Share of hits among the first k ranked items (fewer items: divided by k all the same)."""
    if k <= 0:
        raise ValueError("k must be positive")
    hits = np.asarray(ranked_hits, dtype=bool)[:k]
    return float(hits.sum()) / k


def recall_at_k(ranked_hits: np.ndarray, total_positives: int, k: int) -> float:
    """Share of all positives found among the first k ranked items."""
    if total_positives <= 0:
        return float("nan")
    return float(np.asarray(ranked_hits, dtype=bool)[:k].sum()) / total_positives


def average_precision(ranked_hits: np.ndarray, total_positives: int) -> float:
    """Average precision of a ranking: mean of precision@i over the ranks i of the hits,
    counting unranked positives as missed (precision 0)."""
    if total_positives <= 0:
        return float("nan")
    hits = np.asarray(ranked_hits, dtype=bool)
    if not hits.any():
        return 0.0
    cumulative = np.cumsum(hits)
    ranks = np.arange(1, len(hits) + 1)
    return float((cumulative[hits] / ranks[hits]).sum()) / total_positives

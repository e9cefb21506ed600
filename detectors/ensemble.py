"""Unsupervised anomaly ensemble over member profiles, wrapping PyOD detectors.

Follows PyOD's detector contract: ``fit(X)`` then ``decision_function(X)``; higher = more
anomalous. Each detector's scores are turned into ranks (empirical CDF against the training
scores), then averaged, so detectors on different scales weigh the same. Pure: no I/O.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from claimwatch.detectors.kernels import export

DETECTORS = ("iforest", "pca", "gmm", "hbos", "ecod")
# default: isolation (trees), reconstruction error (PCA) and density (Gaussian mixture) see
# different kinds of outliers and score every row on its own, so a member's score does not
# depend on which members are scored with it (partitions, chunks). ECOD refits on train + new
# rows when scoring (transductive) and HBOS costs ~5 s of numba warm-up per process: both are
# available, not default.
DEFAULT_DETECTORS = ("iforest", "pca", "gmm")
# detectors fitted on a smaller sample (cost grows with the training size)
SMALL_SAMPLE_DETECTORS = ("ecod", "gmm")
# Raw scores are rounded to this many significant digits before they are ranked against the
# training scores: BLAS kernels (OPENBLAS_CORETYPE) and batch sizes move GMM/PCA scores by
# ~1e-15, which must never move a rank (reruns, chunks and partitions give identical queues).
RAW_SCORE_SIGNIFICANT_DIGITS = 9


def quantise(raw: np.ndarray, digits: int = RAW_SCORE_SIGNIFICANT_DIGITS) -> np.ndarray:
    """Round scores to ``digits`` significant digits (relative 1e-9 by default), so float noise
    far below that precision cannot change how a score compares with another."""
    raw = np.asarray(raw, dtype=np.float64)
    finite = np.isfinite(raw) & (raw != 0)
    exponent = np.zeros_like(raw)
    exponent[finite] = np.floor(np.log10(np.abs(raw[finite])))
    scale = 10.0 ** (digits - 1 - exponent)
    out = np.where(finite, np.round(raw * scale) / scale, raw)
    return out


def _make(name: str, random_state: int):
    # PyOD is imported here, not at module level, and only the detector asked for: importing
    # PyOD pulls scikit-learn (~2 s), and ECOD/HBOS pull matplotlib (~1 s more), which every
    # command that never fits that detector would pay
    if name == "iforest":
        from pyod.models.iforest import IForest

        return IForest(n_estimators=100, max_samples=256, random_state=random_state)
    if name == "hbos":
        from pyod.models.hbos import HBOS

        return HBOS(n_bins="auto")
    if name == "ecod":
        from pyod.models.ecod import ECOD

        return ECOD()
    if name == "pca":
        from pyod.models.pca import PCA

        return PCA(random_state=random_state)
    if name == "gmm":
        from pyod.models.gmm import GMM

        return GMM(n_components=4, covariance_type="full", random_state=random_state)
    raise ValueError(f"unknown detector {name!r}; choose from {DETECTORS}")


class AnomalyEnsemble:
    """Rank-averaged ensemble of PyOD detectors.

    Parameters
    ----------
    detectors : tuple of str
        Names among ``iforest``, ``pca``, ``gmm``, ``hbos``, ``ecod``.
    sample_size : int
        At most this many rows are used to fit (a uniform sample): fitting cost and, for
        ECOD, scoring cost grow with the training size.
    ecod_sample_size : int
        Training rows of the density detectors (GMM, and ECOD, which scores new data
        transductively: it refits its ECDFs on train + new): a smaller sample bounds their
        fitting and scoring time.
    random_state : int
        Seed of the sampling and of the isolation forest.

    Attributes
    ----------
    detectors_ : dict
        What scores each detector once stored: the NumPy kernel of the fitted PyOD model
        (detectors/kernels.py; HBOS and ECOD keep the model). The process that fits also keeps
        the PyOD models and scores with them (compiled trees); both give identical scores
        (tested), so a stored ensemble unpickles and scores without scikit-learn.
    train_scores_ : dict
        Sorted training scores of each detector (the reference for ranks).
    center_, scale_ : ndarray
        Robust centre (median) and scale (IQR) of each feature, for explanations.
    """

    def __init__(
        self,
        detectors: tuple[str, ...] = DEFAULT_DETECTORS,
        sample_size: int = 200_000,
        ecod_sample_size: int = 20_000,
        random_state: int = 42,
    ):
        if not detectors:
            raise ValueError("at least one detector is needed")
        for name in detectors:
            if name not in DETECTORS:
                raise ValueError(f"unknown detector {name!r}; choose from {DETECTORS}")
        if sample_size < 10 or ecod_sample_size < 10:
            raise ValueError("sample sizes must be at least 10")
        self.detectors = tuple(detectors)
        self.sample_size = sample_size
        self.ecod_sample_size = ecod_sample_size
        self.random_state = random_state

    def fit(self, X: np.ndarray) -> AnomalyEnsemble:
        """Fit every detector on (a sample of) X."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) < 10:
            raise ValueError("need a 2-D matrix of at least 10 rows")
        rng = np.random.default_rng(self.random_state)
        sample = X if len(X) <= self.sample_size else X[rng.choice(len(X), self.sample_size, replace=False)]
        self.center_ = np.median(sample, axis=0)
        q75, q25 = np.percentile(sample, [75, 25], axis=0)
        spread = np.maximum(q75 - q25, sample.std(axis=0))
        self.scale_ = np.where(spread > 0, spread, 1.0)
        self.detectors_ = {}
        self._models = {}
        self.train_scores_ = {}
        for name in self.detectors:
            fit_on = sample
            if name in SMALL_SAMPLE_DETECTORS and len(sample) > self.ecod_sample_size:
                fit_on = sample[rng.choice(len(sample), self.ecod_sample_size, replace=False)]
            model = _make(name, self.random_state).fit(fit_on)
            self._models[name] = model
            self.detectors_[name] = export(name, model)
            self.train_scores_[name] = np.sort(quantise(model.decision_scores_))
        return self

    def detector_scores(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Rank of each row under each detector, in [0, 1] (1 = most anomalous)."""
        X = np.asarray(X, dtype=np.float64)
        ranks = {}
        fitted = self.__dict__.get("_models", {})
        for name, kernel in self.detectors_.items():
            raw = quantise(fitted.get(name, kernel).decision_function(X))
            reference = self.train_scores_[name]
            ranks[name] = np.searchsorted(reference, raw, side="right") / len(reference)
        return ranks

    def __getstate__(self) -> dict:
        # stored without the PyOD models: unpickling then needs NumPy only
        state = dict(self.__dict__)
        state.pop("_models", None)
        return state

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Ensemble anomaly score in [0, 1]; higher = more anomalous."""
        ranks = self.detector_scores(X)
        return np.mean(np.vstack(list(ranks.values())), axis=0)

    def standing_out(self, X: np.ndarray, top: int = 3) -> np.ndarray:
        """Column indices of the features that stand out most (robust z-score) for each row,
        most first: shape (rows, top)."""
        z = (np.asarray(X, dtype=np.float64) - self.center_) / self.scale_
        return np.argsort(-np.abs(z), axis=1, kind="stable")[:, :top]

    def explain(self, X: np.ndarray, feature_names: list[str], top: int = 3) -> list[list[str]]:
        """Name the features that stand out most (robust z-score) for each row."""
        return np.asarray(feature_names)[self.standing_out(X, top)].tolist()


# Features of sql/features/member_features.sql handed to the ensemble, with their transform.
LOG_FEATURES = (
    "claim_lines",
    "claimed_total",
    "duplicate_lines",
    "lines_paid_to_new_iban_30d",
    "max_payee_iban_subscribers",
    "new_categories_after_breach",
    "longest_gap_days",
    "providers",
    "iban_changes",
    "security_events",
    "contact_changes",
    "foreign_ip_events",
    "max_amount_vs_own_history",
)
PLAIN_FEATURES = (
    "member_sent_share",
    "high_risk_amount_share",
    "max_amount_peer_z",
    "max_provider_exposure_z",
    "max_provider_outside_share",
    "billed_by_bad_key_provider",
    "billed_by_new_provider",
    "max_security_events_before_change",
    "changed_to_foreign_iban",
    "breach_count",
    "age",
)


def feature_matrix(features: pl.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Build the detector matrix from member features (logs for counts, inverses for
    'smaller is more suspicious' quantities)."""
    c = pl.col
    exprs = [c(n).cast(pl.Float64).fill_null(0).clip(lower_bound=0).log1p().alias(n) for n in LOG_FEATURES]
    exprs += [c(n).cast(pl.Float64).fill_null(0).alias(n) for n in PLAIN_FEATURES]
    exprs += [
        (1.0 / (1.0 + c("min_days_change_to_payment").cast(pl.Float64).fill_null(999).clip(0, 999))).alias(
            "min_days_change_to_payment"
        ),
        (1.0 - c("min_new_bank_share").cast(pl.Float64).fill_null(1).clip(0, 1))
        .sqrt()
        .alias("min_new_bank_share"),
    ]
    frame = features.select(exprs)
    return frame.to_numpy(), frame.columns

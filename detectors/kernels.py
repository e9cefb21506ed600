"""NumPy scoring kernels of fitted PyOD detectors.

A fitted ``IForest``, ``PCA`` or ``GMM`` is exported to the arrays its ``decision_function``
needs (tree nodes, principal axes, mixture parameters) and scores new rows with NumPy alone.
The ensemble stored with the portfolio aggregates keeps only these kernels, so a nightly run
that scores a few thousand members against it never imports scikit-learn or PyOD (~3 s of
every run's start). Each kernel computes what the PyOD detector computes, in the same order of
operations (tested against PyOD in tests/detectors/test_kernels.py); the ensemble ranks every
score, training scores included, through the kernel, so its ranks never mix two
implementations.
"""

from __future__ import annotations

import math

import numpy as np


def _average_path_length(n: np.ndarray) -> np.ndarray:
    """Average path length of an unsuccessful search in a binary tree of ``n`` samples
    (scikit-learn's ``_average_path_length``)."""
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


class IsolationForestKernel:
    """Isolation forest scores: ``offset - 2 ** (-mean depth / c(max_samples))``, as PyOD's
    ``IForest.decision_function`` (the inverted scikit-learn ``decision_function``).

    Parameters
    ----------
    model : pyod.models.iforest.IForest
        A fitted detector.

    Attributes
    ----------
    trees_ : list of tuple
        Per tree: (feature, threshold, left child, right child, missing-goes-left, node value),
        node value being the depth of the node plus the average path length of its samples
        minus one, what scikit-learn adds up at the leaf a row falls in.
    features_ : list of ndarray or None
        The columns each tree was grown on (None: all, in order).
    max_depth_ : int
        Depth of the deepest tree (the number of steps a row descends at most).
    denominator_ : float
        Number of trees times the average path length of ``max_samples`` samples.
    offset_ : float
        scikit-learn's ``offset_``.
    """

    def __init__(self, model):
        forest = model.detector_
        subsample = forest._max_features != forest.n_features_in_
        self.trees_ = []
        self.features_ = []
        self.max_depth_ = 0
        for tree, features, depths, averages in zip(
            forest.estimators_,
            forest.estimators_features_,
            forest._decision_path_lengths,
            forest._average_path_length_per_tree,
        ):
            t = tree.tree_
            missing_left = getattr(t, "missing_go_to_left", np.zeros(t.node_count, dtype=np.uint8))
            self.trees_.append(
                (
                    t.feature.astype(np.int64),
                    t.threshold.astype(np.float64),
                    t.children_left.astype(np.int64),
                    t.children_right.astype(np.int64),
                    np.asarray(missing_left, dtype=bool),
                    np.asarray(depths, dtype=np.float64) + np.asarray(averages, dtype=np.float64) - 1.0,
                )
            )
            self.features_.append(np.asarray(features, dtype=np.int64) if subsample else None)
            self.max_depth_ = max(self.max_depth_, int(t.max_depth))
        self.denominator_ = float(len(forest.estimators_) * _average_path_length(np.array([forest._max_samples]))[0])
        self.offset_ = float(forest.offset_)

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        # scikit-learn descends the trees on float32 values compared with float64 thresholds
        X = np.asarray(X, dtype=np.float32)
        rows = np.arange(len(X))
        depths = np.zeros(len(X), dtype=np.float64)
        for (feature, threshold, left, right, missing_left, value), columns in zip(self.trees_, self.features_):
            Xt = X if columns is None else X[:, columns]
            node = np.zeros(len(X), dtype=np.int64)
            for _ in range(self.max_depth_):
                inner = left[node] != -1
                if not inner.any():
                    break
                f = np.where(inner, feature[node], 0)
                x = Xt[rows, f].astype(np.float64)
                go_left = np.where(np.isnan(x), missing_left[node], x <= threshold[node])
                node = np.where(inner, np.where(go_left, left[node], right[node]), node)
            depths += value[node]
        scores = 2.0 ** (-np.divide(depths, self.denominator_))
        return self.offset_ + scores  # -(score_samples - offset_), score_samples = -scores


class PCAKernel:
    """PyOD ``PCA`` scores: the sum over the selected principal axes of the distance of the
    standardised row to the axis vector, weighted by the inverse of its explained variance ratio.

    Attributes
    ----------
    mean_, scale_ : ndarray or None
        The standardisation PyOD applied before fitting (None: none).
    components_ : ndarray of shape (n_selected, n_features)
    weights_ : ndarray of shape (n_selected,)
    """

    def __init__(self, model):
        if model.standardization:
            self.mean_ = np.asarray(model.scaler_.mean_, dtype=np.float64)
            self.scale_ = np.asarray(model.scaler_.scale_, dtype=np.float64)
        else:
            self.mean_ = self.scale_ = None
        self.components_ = np.asarray(model.selected_components_, dtype=np.float64)
        self.weights_ = np.asarray(model.selected_w_components_, dtype=np.float64)

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float64)
        if self.mean_ is not None:
            X -= self.mean_
            X /= self.scale_
        # SciPy's cdist: for each axis, squared differences added feature by feature, in order
        distances = np.empty((len(X), len(self.components_)))
        for j, axis in enumerate(self.components_):
            total = np.zeros(len(X))
            for k in range(X.shape[1]):
                diff = X[:, k] - axis[k]
                total += diff * diff
            distances[:, j] = np.sqrt(total)
        return np.sum(distances / self.weights_, axis=1)


class GaussianMixtureKernel:
    """PyOD ``GMM`` scores: minus the log-likelihood of the row under the fitted mixture of
    Gaussians with full covariances (scikit-learn's ``score_samples``).

    Attributes
    ----------
    weights_, means_, precisions_cholesky_ : ndarray
        The fitted mixture.
    """

    def __init__(self, model):
        mixture = model.detector_
        if mixture.covariance_type != "full":
            raise ValueError("only full-covariance mixtures are exported")
        self.weights_ = np.asarray(mixture.weights_, dtype=np.float64)
        self.means_ = np.asarray(mixture.means_, dtype=np.float64)
        self.precisions_cholesky_ = np.asarray(mixture.precisions_cholesky_, dtype=np.float64)

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        n_components, n_features = self.means_.shape
        log_det = np.sum(
            np.log(self.precisions_cholesky_.reshape(n_components, -1)[:, :: n_features + 1]), axis=1
        )
        log_prob = np.empty((len(X), n_components))
        for k, (mu, chol) in enumerate(zip(self.means_, self.precisions_cholesky_)):
            y = (X @ chol) - (mu @ chol)
            log_prob[:, k] = np.sum(np.square(y), axis=1)
        weighted = (-0.5 * (n_features * math.log(2 * math.pi) + log_prob) + log_det) + np.log(self.weights_)
        # scikit-learn's logsumexp: the largest term apart, the others through log1p
        top = np.max(weighted, axis=1, keepdims=True)
        is_top = weighted == top
        rest = weighted.copy()
        rest[is_top] = -np.inf
        m = np.sum(is_top.astype(np.float64), axis=1, keepdims=True)
        shift = np.where(np.isfinite(top), top, 0)
        s = np.sum(np.exp(rest - shift), axis=1, keepdims=True)
        s = np.where(s == 0, s, s / m)
        return -(np.log1p(s) + np.log(m) + top)[:, 0]


KERNELS = {"iforest": IsolationForestKernel, "pca": PCAKernel, "gmm": GaussianMixtureKernel}


def export(name: str, model):
    """The NumPy kernel of a fitted detector, or the detector itself when it has none."""
    kernel = KERNELS.get(name)
    return kernel(model) if kernel is not None else model

"""AnomalyEnsemble follows PyOD's contract; partitioned scoring equals one-partition scoring."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sklearn.metrics import roc_auc_score

from claimwatch.detectors import combine
from claimwatch.detectors.ensemble import DETECTORS, SMALL_SAMPLE_DETECTORS, AnomalyEnsemble, feature_matrix
from claimwatch.scoring.score import build_features, prepare
from claimwatch.settings import Settings
from tests.helpers import loaded_database

FEATURES = ["lines", "amount", "gap", "planted", "age"]
PLANTED = FEATURES.index("planted")
INLIERS, OUTLIERS = 600, 12


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    """Gaussian members plus 12 whose 'planted' feature sits 6 to 8 standard deviations out."""
    rng = np.random.default_rng(0)
    inliers = rng.normal(size=(INLIERS, len(FEATURES)))
    outliers = rng.normal(size=(OUTLIERS, len(FEATURES)))
    outliers[:, PLANTED] = rng.uniform(6, 8, OUTLIERS)
    X = np.vstack([inliers, outliers])
    y = np.r_[np.zeros(INLIERS), np.ones(OUTLIERS)]
    return X, y


@pytest.fixture(scope="module")
def fitted(data) -> AnomalyEnsemble:
    X, _ = data
    return AnomalyEnsemble(random_state=0).fit(X)


# --------------------------------------------------------------------------- contract


@pytest.mark.parametrize(
    "params",
    [
        {"detectors": ()},  # nothing to ensemble
        {"detectors": ("iforest", "lof")},  # LOF is O(n^2): not offered
        {"sample_size": 9},
        {"ecod_sample_size": 0},
    ],
)
def test_parameters_are_checked_in_init(params):
    with pytest.raises(ValueError):
        AnomalyEnsemble(**params)


def test_init_keeps_parameters_and_fits_nothing():
    model = AnomalyEnsemble(detectors=("hbos",), sample_size=100, ecod_sample_size=50, random_state=3)
    assert (model.detectors, model.sample_size, model.ecod_sample_size, model.random_state) == (
        ("hbos",),
        100,
        50,
        3,
    )
    assert not [name for name in vars(model) if name.endswith("_")]


@pytest.mark.parametrize("X", [np.zeros(50), np.zeros((9, 3))])
def test_fit_rejects_a_vector_or_too_few_rows(X):
    with pytest.raises(ValueError):
        AnomalyEnsemble().fit(X)


def test_fit_returns_self_with_fitted_attributes(data):
    X, _ = data
    model = AnomalyEnsemble(random_state=0)
    assert model.fit(X) is model
    fitted_names = {name for name in vars(model) if name.endswith("_")}
    assert fitted_names == {"detectors_", "train_scores_", "center_", "scale_"}
    assert set(model.detectors_) == set(model.detectors)
    # the reference scores are sorted (ranks are looked up with searchsorted)
    for scores in model.train_scores_.values():
        assert np.all(np.diff(scores) >= 0)
    assert model.center_.shape == model.scale_.shape == (len(FEATURES),)
    assert np.all(model.scale_ > 0)


# --------------------------------------------------------------------------- scores


def test_planted_outliers_score_higher(fitted, data):
    # higher = more anomalous: the planted rows must rank near the top
    X, y = data
    assert roc_auc_score(y, fitted.decision_function(X)) >= 0.9


@pytest.mark.parametrize("name", DETECTORS)
def test_each_detector_rank_points_the_same_way(data, name):
    # every available detector, in the default ensemble or not; a lower floor per detector:
    # ECOD adds up tail evidence over all five features, so one far-out feature is diluted by
    # the other four (measured: AUC 0.90)
    X, y = data
    model = AnomalyEnsemble(detectors=(name,), random_state=0).fit(X)
    assert set(model.detector_scores(X)) == {name}
    assert roc_auc_score(y, model.decision_function(X)) >= 0.85


def test_scores_are_ranks_in_zero_one(fitted, data):
    X, _ = data
    rng = np.random.default_rng(1)
    # new data, including rows far beyond anything seen in training on every side
    new = np.vstack(
        [
            rng.normal(size=(50, len(FEATURES))),
            np.full((1, len(FEATURES)), 50.0),
            np.full((1, len(FEATURES)), -50.0),
        ]
    )
    for scores in (fitted.decision_function(X), fitted.decision_function(new)):
        assert scores.min() >= 0.0
        assert scores.max() <= 1.0
    # a row far beyond training sits at (or next to) the top rank of every detector
    assert fitted.decision_function(new)[-2] >= 0.95


def test_scores_are_deterministic_for_a_random_state(data):
    X, _ = data
    a = AnomalyEnsemble(sample_size=300, random_state=7).fit(X).decision_function(X)
    b = AnomalyEnsemble(sample_size=300, random_state=7).fit(X).decision_function(X)
    c = AnomalyEnsemble(sample_size=300, random_state=8).fit(X).decision_function(X)
    np.testing.assert_array_equal(a, b)
    # the seed matters (sample and isolation forest): otherwise the test above proves nothing
    assert not np.array_equal(a, c)


@pytest.mark.filterwarnings("ignore:max_samples")  # iforest's 256-row subsample > 200 rows: expected
def test_sample_size_caps_training(data):
    X, _ = data
    model = AnomalyEnsemble(detectors=DETECTORS, sample_size=200, ecod_sample_size=80, random_state=0).fit(X)
    # 612 rows, capped at 200; the density detectors (ECOD, GMM) on a further sub-sample of 80
    expected = {name: 80 if name in SMALL_SAMPLE_DETECTORS else 200 for name in DETECTORS}
    assert {name: len(s) for name, s in model.train_scores_.items()} == expected
    # under the caps, every row is used
    small = AnomalyEnsemble(sample_size=10_000, ecod_sample_size=10_000, random_state=0).fit(X)
    assert {name: len(s) for name, s in small.train_scores_.items()} == dict.fromkeys(small.detectors, len(X))


def test_explain_names_the_planted_feature(fitted, data):
    X, _ = data
    top = fitted.explain(X[INLIERS:], FEATURES, top=1)
    assert top == [["planted"]] * OUTLIERS
    assert len(fitted.explain(X[:1], FEATURES)[0]) == 3  # top 3 by default


# --------------------------------------------------------------------------- partitions


@pytest.fixture(scope="module")
def pipeline_inputs(generated_inbox, tmp_path_factory):
    """The real scoring inputs (features, signals, changes, profile) of the generated inbox."""
    tmp = tmp_path_factory.mktemp("partitions")
    settings = Settings(db=tmp / "x.duckdb", inbox=generated_inbox)
    db = loaded_database(settings.db, generated_inbox, score=False)
    try:
        build_features(db)
        whole, providers, model = prepare(db, settings)
    finally:
        db.close()
    return whole, providers, model


def partitioned(whole, providers, model, partitions: int, chunk_size: int):
    return combine.merge(
        [combine.score_partition(p, providers, model, chunk_size) for p in combine.split(whole, partitions)]
    )


def test_split_score_merge_equals_one_partition(pipeline_inputs):
    # inductive detectors only (a row's score depends on that row alone, unlike ECOD's): partitions
    # and chunks must not change a single value
    whole, providers, _ = pipeline_inputs
    X, _ = feature_matrix(whole.features)
    inductive = tuple(name for name in DETECTORS if name != "ecod")
    model = AnomalyEnsemble(detectors=inductive, random_state=42).fit(X)
    one_members, one_flags = partitioned(whole, providers, model, 1, 250_000)
    # the test is only worth something if there is something to find
    assert one_members.filter(pl.col("is_candidate")).height > 10
    assert one_flags["reason_code"].n_unique() >= 4
    sizes = [p.features.height for p in combine.split(whole, 3)]
    assert sum(sizes) == whole.features.height and min(sizes) > 0
    members, flags = partitioned(whole, providers, model, 3, 97)
    assert_frame_equal(members, one_members, check_exact=False, rel_tol=1e-12, abs_tol=1e-12)
    assert_frame_equal(flags, one_flags)


def test_default_ensemble_partitioned_equals_one_partition(pipeline_inputs):
    whole, providers, model = pipeline_inputs
    one_members, _ = partitioned(whole, providers, model, 1, 250_000)
    members, _ = partitioned(whole, providers, model, 3, 97)
    assert_frame_equal(members, one_members, check_exact=False, rel_tol=1e-12, abs_tol=1e-12)


def test_split_is_stable_and_keeps_members_together(pipeline_inputs):
    whole, _, _ = pipeline_inputs
    first, again = combine.split(whole, 4), combine.split(whole, 4)
    for a, b in zip(first, again, strict=True):
        assert a.features["member_id"].to_list() == b.features["member_id"].to_list()
    # a member's lines and IBAN changes go with its features (every member with a line or an
    # event has features), and no member is in two partitions
    seen: set[str] = set()
    for part in first:
        members = set(part.features["member_id"].to_list())
        assert set(part.signals["member_id"].to_list()) <= members
        assert set(part.changes["member_id"].to_list()) <= members
        profile = set(part.profile["member_id"].to_list())
        assert not profile & seen
        seen |= profile
    assert seen == set(whole.profile["member_id"].to_list())

"""The NumPy kernels score exactly as the PyOD detectors they are exported from, and a stored
ensemble scores in a process that never imports scikit-learn or PyOD."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

from claimwatch.detectors.ensemble import DEFAULT_DETECTORS, AnomalyEnsemble, _make
from claimwatch.detectors.kernels import KERNELS, export


def member_like(rows: int, seed: int) -> np.ndarray:
    """Columns shaped like the member features: log counts that are mostly 0 or small integers
    (ties everywhere, which is where a threshold comparison or an order of additions shows),
    shares in [0, 1], z-scores and an age."""
    rng = np.random.default_rng(seed)
    counts = np.log1p(rng.poisson([0.2, 1.0, 3.0, 12.0, 40.0], size=(rows, 5)).astype(float))
    shares = rng.beta(0.5, 3.0, size=(rows, 3))
    shares[rng.random(rows) < 0.5, 0] = 0.0
    z = rng.standard_t(3, size=(rows, 2))
    age = rng.integers(0, 95, size=(rows, 1)).astype(float)
    return np.hstack([counts, shares, z, age])


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_kernel_scores_equal_the_pyod_detector_bit_for_bit(name):
    train, new = member_like(3000, 1), member_like(2000, 2)
    new[:20] *= 25  # far outside the training range: leaves and tails, not only the bulk
    model = _make(name, random_state=3).fit(train)
    kernel = export(name, model)
    assert kernel is not model
    # bit for bit, not approximately: a member's rank must not depend on which of the two
    # scored it (the fitting run scores with PyOD, a nightly run with the stored kernel)
    assert np.array_equal(kernel.decision_function(new), model.decision_function(new))
    assert np.array_equal(kernel.decision_function(train), model.decision_function(train))


def test_detectors_without_a_kernel_are_kept_as_fitted():
    model = _make("hbos", random_state=0).fit(member_like(500, 4))
    assert export("hbos", model) is model


def test_stored_ensemble_scores_without_scikit_learn(tmp_path):
    train, new = member_like(4000, 5), member_like(1500, 6)
    fitted = AnomalyEnsemble(detectors=DEFAULT_DETECTORS, ecod_sample_size=2000, random_state=7).fit(train)
    (tmp_path / "model.pickle").write_bytes(pickle.dumps(fitted))
    np.save(tmp_path / "new.npy", new)
    code = (
        "import pickle, sys, numpy as np\n"
        f"model = pickle.loads(open({str(tmp_path / 'model.pickle')!r}, 'rb').read())\n"
        f"scores = model.decision_function(np.load({str(tmp_path / 'new.npy')!r}))\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'pyod', 'scipy'))\n"
        "assert not heavy, heavy\n"
        f"np.save({str(tmp_path / 'scores.npy')!r}, scores)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    stored = np.load(tmp_path / "scores.npy")
    assert np.array_equal(stored, fitted.decision_function(new))
    assert 0.0 < stored.min() < stored.max() <= 1.0

"""engine/assignment.py gives SciPy's linear_sum_assignment pairs, ties included (the worker no longer loads SciPy)."""

from __future__ import annotations

import numpy as np
import pytest

from attendance_worker.engine.assignment import linear_sum_assignment


def _scipy():
    return pytest.importorskip("scipy.optimize", reason="SciPy is not installed here").linear_sum_assignment


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (5, 3), (30, 40), (40, 30), (12, 12)])
def test_the_pairs_equal_scipys_on_random_and_tied_costs(shape: tuple[int, int]):
    reference = _scipy()
    rng = np.random.default_rng(sum(shape))
    for trial in range(60):
        if trial % 3 == 0:
            cost = rng.normal(size=shape)
        elif trial % 3 == 1:
            cost = rng.integers(0, 3, size=shape).astype(float)  # many ties
        else:  # as match_faces builds it: -similarity where eligible, 1e6 elsewhere
            sims = rng.uniform(-0.2, 0.9, size=shape).astype(np.float32)
            cost = np.where(sims >= 0.38, -sims, 1e6)
        rows, cols = linear_sum_assignment(cost)
        want_rows, want_cols = reference(cost)
        np.testing.assert_array_equal(rows, want_rows)
        np.testing.assert_array_equal(cols, want_cols)


def test_empty_and_invalid_matrices():
    rows, cols = linear_sum_assignment(np.zeros((0, 4)))
    assert rows.size == cols.size == 0
    with pytest.raises(ValueError, match="invalid numeric"):
        linear_sum_assignment(np.array([[0.0, np.nan]]))

"""The one-to-one assignment of a photo's faces to students: minimum-cost rectangular assignment.

SciPy's `linear_sum_assignment` (Crouse's shortest augmenting path, scipy/optimize/rectangular_lsap), step for step
with the same tie-breaking, so the pairs are the ones SciPy gives (tests/engine/test_assignment.py compares them).
Here rather than imported: `scipy.optimize` and the linear algebra it loads keep ~49 MB more resident in every
worker process (docs/benchmarks.md, section 4), for a problem of at most a few hundred rows.
"""

from __future__ import annotations

import numpy as np


def linear_sum_assignment(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of a minimum-cost assignment of a 2-D cost matrix, rows ascending (as SciPy returns them)."""
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2:
        raise ValueError(f"expected a matrix (2-D array), got a {cost.ndim}-D array")
    if not np.isfinite(cost).all():
        raise ValueError("matrix contains invalid numeric entries")
    transposed = cost.shape[0] > cost.shape[1]
    if transposed:
        cost = cost.T
    nr, nc = cost.shape
    if nr == 0 or nc == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    col4row = _solve(cost - cost.min())
    if not transposed:
        return np.arange(nr, dtype=np.int64), col4row
    order = np.argsort(col4row, kind="stable")
    return col4row[order], order.astype(np.int64)


def _solve(cost: np.ndarray) -> np.ndarray:
    nr, nc = cost.shape
    u = np.zeros(nr)
    v = np.zeros(nc)
    path = np.full(nc, -1, np.int64)
    col4row = np.full(nr, -1, np.int64)
    row4col = np.full(nc, -1, np.int64)
    for current in range(nr):
        sink, min_val, shortest, rows_seen, cols_seen = _augmenting_path(cost, u, v, path, row4col, current)
        u[current] += min_val  # update the dual variables
        others = rows_seen.copy()
        others[current] = False
        u[others] += min_val - shortest[col4row[others]]
        v[cols_seen] -= min_val - shortest[cols_seen]
        j = sink  # augment the previous solution
        while True:
            i = int(path[j])
            row4col[j] = i
            col4row[i], j = j, int(col4row[i])
            if i == current:
                break
    return col4row


def _augmenting_path(
    cost: np.ndarray, u: np.ndarray, v: np.ndarray, path: np.ndarray, row4col: np.ndarray, i: int
) -> tuple[int, float, np.ndarray, np.ndarray, np.ndarray]:
    nr, nc = cost.shape
    remaining = np.arange(nc - 1, -1, -1, dtype=np.int64)  # reversed: a constant matrix gives the identity
    count = nc
    rows_seen = np.zeros(nr, bool)
    cols_seen = np.zeros(nc, bool)
    shortest = np.full(nc, np.inf)
    min_val = 0.0
    while True:
        rows_seen[i] = True
        js = remaining[:count]
        r = min_val + cost[i, js] - u[i] - v[js]
        better = r < shortest[js]
        path[js[better]] = i
        shortest[js[better]] = r[better]
        values = shortest[js]
        lowest = values.min()
        # SciPy's scan keeps the first minimum unless a later one is a free column (a new sink): the last free one.
        at_lowest = values == lowest
        free = np.nonzero(at_lowest & (row4col[js] == -1))[0]
        index = int(free[-1]) if free.size else int(np.argmax(at_lowest))
        min_val = float(lowest)
        if min_val == np.inf:
            raise ValueError("cost matrix is infeasible")
        j = int(remaining[index])
        cols_seen[j] = True
        remaining[index] = remaining[count - 1]
        count -= 1
        if row4col[j] == -1:
            return j, min_val, shortest, rows_seen, cols_seen
        i = int(row4col[j])

"""The shared HiGHS helpers: a model built from arrays solves to the known optimum."""

from __future__ import annotations

import highspy
import numpy as np
from scipy import sparse

from nudge._highs import build_lp, new_highs


def test_a_small_knapsack_solves_to_its_optimum() -> None:
    # maximise 5a + 4b + 3c subject to 2a + 3b + c <= 4, binary: a and c (value 8)
    lp = build_lp(
        cost=np.array([5.0, 4.0, 3.0]), col_lower=np.zeros(3), col_upper=np.ones(3),
        integer=np.array([True, True, True]), matrix=sparse.csr_array([[2.0, 3.0, 1.0]]),
        row_lower=np.array([-np.inf]), row_upper=np.array([4.0]), maximize=True, offset=1.0,
    )  # fmt: skip
    h = new_highs(time_limit=10, mip_gap=0)
    h.passModel(lp)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert np.round(h.getSolution().col_value).tolist() == [1.0, 0.0, 1.0]
    assert h.getInfo().objective_function_value == 9.0  # 8 plus the offset


def test_continuous_columns_stay_continuous() -> None:
    lp = build_lp(
        cost=np.array([1.0]), col_lower=np.zeros(1), col_upper=np.full(1, 10.0),
        integer=np.array([False]), matrix=sparse.csr_array([[2.0]]),
        row_lower=np.array([3.0]), row_upper=np.array([np.inf]),
    )  # fmt: skip
    h = new_highs(time_limit=10, mip_gap=0)
    h.passModel(lp)
    h.run()
    assert h.getSolution().col_value[0] == 1.5

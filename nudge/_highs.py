"""Small helpers shared by the models nudge solves with HiGHS (site selection, rotation)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import highspy
import numpy as np
from scipy import sparse


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send C-level stdout to stderr (HiGHS prints a banner on first use)."""
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
        err = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    saved = os.dup(fd)
    try:
        os.dup2(err, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def new_highs(*, time_limit: float, mip_gap: float) -> highspy.Highs:
    """Return a quiet HiGHS instance with a time limit and a relative MIP gap."""
    with stdout_to_stderr():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    return h


def build_lp(
    *,
    cost: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    integer: np.ndarray,
    matrix: sparse.sparray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    maximize: bool = False,
    offset: float = 0.0,
) -> highspy.HighsLp:
    """Return a HiGHS model from column bounds and costs, a constraint matrix and row bounds.

    `integer` marks the integer columns; `matrix` has one row per constraint.
    """
    csc = sparse.csc_array(matrix)
    n_cols = len(cost)
    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = csc.shape[0]
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    lp.offset_ = float(offset)
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_ = np.asarray(col_lower, dtype=float)
    lp.col_upper_ = np.asarray(col_upper, dtype=float)
    lp.row_lower_ = np.asarray(row_lower, dtype=float)
    lp.row_upper_ = np.asarray(row_upper, dtype=float)
    kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
    lp.integrality_ = [kinds[int(flag)] for flag in np.asarray(integer, dtype=bool)]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(float)
    lp.a_matrix_.num_col_ = n_cols
    lp.a_matrix_.num_row_ = csc.shape[0]
    return lp

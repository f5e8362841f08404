"""Calibrate signal weights with real pedestrian counts.

A planner with counts at some places (CSV: ``lat``, ``lon``, ``count``, optional
``period``) fits non-negative weights with `scipy.optimize.nnls` on the signals
of the nearest candidates, and sees how well the fit predicts counts it has not
seen (leave-one-out Spearman rank correlation and R²).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import nnls
from scipy.spatial import cKDTree
from scipy.stats import spearmanr

from nudge._errors import InputFileError, ProfileError, RowProblem
from nudge.io.tables import coordinates_of, find_column, read_table
from nudge.placement._problem import number
from nudge.placement.profiles import SIGNALS, Profile


@dataclass(frozen=True)
class Calibration:
    """Fitted weights and how well they predict the counts."""

    profile: Profile
    weights: dict[str, float]
    intercept: float
    counts: int
    matched: int
    spearman_loo: float
    r2_loo: float
    r2_fit: float
    problems: tuple[RowProblem, ...]

    def summary(self) -> dict[str, object]:
        """Return the calibration figures for ``nudge score --counts --json``."""
        return {
            "counts": self.counts,
            "matched": self.matched,
            "weights": {k: round(v, 4) for k, v in self.weights.items()},
            "spearman_loo": round(self.spearman_loo, 3),
            "r2_loo": round(self.r2_loo, 3),
            "r2_fit": round(self.r2_fit, 3),
            "problems": [p.as_dict() for p in self.problems],
        }


def counts_from_file(path: str | Path) -> tuple[pd.DataFrame, list[RowProblem]]:
    """Read pedestrian counts, keeping good rows and reporting each bad one.

    Returns
    -------
    tuple
        A table with ``lat``, ``lon``, ``count``, ``period`` and the source
        ``row`` number, and the problems of the rows that were left out.
    """
    path = Path(path)
    table, _ = read_table(path, name=path.name)
    lat, lon = coordinates_of(table, name=f"The counts file {path.name}", file=path.name)
    count_col = find_column(table, ("count", "counts", "pedestrians", "value"))
    if count_col is None:
        raise InputFileError(
            code="counts_column_missing",
            file=path.name,
            columns=", ".join(str(c) for c in table.columns if c != "row"),
        )
    count = pd.to_numeric(table[count_col], errors="coerce")
    period_col = find_column(table, ("period", "date", "month"))
    rows = table["row"].to_numpy()
    bad_xy = ~(lat.between(-90, 90) & lon.between(-180, 180)).to_numpy(dtype=bool)
    bad_count = ~(count >= 0).to_numpy(dtype=bool) & ~bad_xy
    raw = table[count_col].to_numpy()
    problems = [
        RowProblem(int(r), code="placement_bad_coordinates", column="lat/lon") for r in rows[bad_xy]
    ]
    problems += [
        RowProblem(int(r), code="counts_bad_count", params={"value": str(v)}, column="count")
        for r, v in zip(rows[bad_count], raw[bad_count], strict=True)
    ]
    period = table[period_col].astype("string") if period_col else pd.NA
    out = pd.DataFrame({"lat": lat, "lon": lon, "count": count, "period": period, "row": rows})
    keep = ~(bad_xy | bad_count)
    return out.loc[keep].reset_index(drop=True), sorted(problems, key=lambda p: p.row)


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    w, _ = nnls(np.c_[x, np.ones(len(x))], y)
    return w[:-1], float(w[-1])


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    total = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - pred) ** 2).sum()) / total if total > 0 else 0.0


def calibrate_profile(
    candidates: gpd.GeoDataFrame,
    counts: pd.DataFrame,
    *,
    profile: Profile,
    max_distance: float = 100.0,
    problems: list[RowProblem] | None = None,
) -> Calibration:
    """Fit signal weights to pedestrian counts at the nearest scored candidates.

    Parameters
    ----------
    candidates
        Scored candidates with ``signal_<name>`` columns (from `score_candidates`).
    counts
        From `counts_from_file`. Several counts at one candidate are averaged.
    profile
        The profile whose weights are replaced by the fitted ones.
    max_distance
        Counts farther than this from every candidate are reported and left out.
    problems
        Problems found while reading the counts, reported with the result.

    Raises
    ------
    ProfileError
        When fewer counts match candidates than the fit needs.
    """
    problems = list(problems or [])
    crs = candidates.geometry.estimate_utm_crs()
    cxy = shapely.get_coordinates(candidates.geometry.to_crs(crs).array)
    pts = gpd.GeoSeries(gpd.points_from_xy(counts["lon"], counts["lat"]), crs=4326).to_crs(crs)
    dist, idx = cKDTree(cxy).query(shapely.get_coordinates(pts.array))
    far = dist > max_distance
    for row, d in zip(counts["row"].to_numpy()[far], dist[far], strict=True):
        params = {"max": number(max_distance), "distance": round(float(d))}
        problems.append(RowProblem(int(row), code="counts_no_candidate_near", params=params))
    matched = pd.DataFrame({"cand": idx[~far], "count": counts["count"].to_numpy()[~far]})
    per_site = matched.groupby("cand")["count"].mean()
    signals = [s for s in SIGNALS if f"signal_{s}" in candidates.columns]
    x = candidates[[f"signal_{s}" for s in signals]].to_numpy()[per_site.index.to_numpy()]
    y = per_site.to_numpy(dtype=float)
    need = len(signals) + 2
    if len(y) < need:
        raise ProfileError(code="calibration_too_few_counts", need=need, matched=len(y))
    w, b = _fit(x, y)
    loo = np.array([_predict_without(x, y, i) for i in range(len(y))])
    rho = spearmanr(y, loo).statistic if np.ptp(loo) > 0 and np.ptp(y) > 0 else 0.0
    weights = dict(zip(signals, w / w.sum() if w.sum() > 0 else w, strict=True))
    if sum(weights.values()) <= 0:
        raise ProfileError(code="calibration_no_positive_weights")
    return Calibration(
        profile=profile.with_weights(weights),
        weights=weights,
        intercept=b,
        counts=len(counts) + len([p for p in problems if p.column]),
        matched=len(y),
        spearman_loo=float(np.nan_to_num(rho)),
        r2_loo=_r2(y, loo),
        r2_fit=_r2(y, x @ w + b),
        problems=tuple(sorted(problems, key=lambda p: p.row)),
    )


def _predict_without(x: np.ndarray, y: np.ndarray, i: int) -> float:
    keep = np.arange(len(y)) != i
    w, b = _fit(x[keep], y[keep])
    return float(x[i] @ w + b)


__all__ = ["Calibration", "calibrate_profile", "counts_from_file"]

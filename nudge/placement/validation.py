"""Check the footfall score against measured footfall, and beside naive baselines.

`validate_profile` scores the places where counts were taken (pedestrian counts or transit
boardings) with a profile, and reports how well the score ranks them:

- Spearman and Kendall rank correlation, with a bootstrap 95% interval for Spearman;
- the hit rate of the top decile (the share of the 10% busiest places that the score also
  puts in its top 10%);
- the same for two naive baselines, so a user sees whether the score beats the obvious:
  the number of public spaces within 300 m, and the distance to the city centre (the place
  with the most public spaces within 500 m);
- for a profile calibrated on the counts, spatially blocked cross-validation: the counts are
  grouped in square blocks of a grid, each block's counts are predicted by weights fitted on
  the other blocks, so neighbouring places cannot leak into each other.

Ranks, not absolute numbers, are judged: the score estimates where more people are, not how
many.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import nnls
from scipy.spatial import cKDTree
from scipy.stats import kendalltau, rankdata, spearmanr

from nudge._errors import InputFileError, RowProblem
from nudge.osm.datasets import CityDataset
from nudge.placement.candidates import candidates_from_points
from nudge.placement.profiles import SIGNALS, Profile
from nudge.placement.scoring import score_candidates

CountKind = Literal["boardings", "pedestrians"]
COUNT_KINDS: tuple[CountKind, ...] = ("boardings", "pedestrians")
MIN_COUNTS = 10
"""Fewer counted places than this cannot support a rank correlation worth reporting."""
SHRINK = 0.5
"""How far calibration keeps to the default weights (0: the free fit, 1: the defaults)."""
BASELINE_RADIUS_M = 300.0
CENTRE_RADIUS_M = 500.0
_EXCLUDED_CATEGORIES = ("worship", "historic", "crossing")


@dataclass(frozen=True)
class RankAgreement:
    """How well one predictor ranks the counted places."""

    spearman: float
    spearman_low: float
    spearman_high: float
    kendall: float
    top_decile_hit: float

    def as_dict(self) -> dict[str, Any]:
        """Return the figures rounded for JSON."""
        return {
            "spearman": round(self.spearman, 3),
            "spearman_ci95": [round(self.spearman_low, 3), round(self.spearman_high, 3)],
            "kendall": round(self.kendall, 3),
            "top_decile_hit": round(self.top_decile_hit, 3),
        }


@dataclass(frozen=True)
class Validation:
    """The score, the baselines and the calibrated profile against measured counts."""

    what: CountKind
    profile: str
    counts: int
    matched: int
    outside: int
    default: RankAgreement
    baselines: dict[str, RankAgreement]
    calibrated: RankAgreement | None
    calibrated_weights: dict[str, float]
    block_m: float
    blocks: int
    table: pd.DataFrame = field(repr=False)
    problems: tuple[RowProblem, ...] = ()

    def summary(self) -> dict[str, Any]:
        """Return the figures ``nudge validate --json`` prints."""
        return {
            "what": self.what,
            "profile": self.profile,
            "counts": self.counts,
            "matched": self.matched,
            "outside_area": self.outside,
            "default": self.default.as_dict(),
            "baselines": {k: v.as_dict() for k, v in self.baselines.items()},
            "calibrated_blocked_cv": None if self.calibrated is None else self.calibrated.as_dict(),
            "calibrated_weights": {k: round(v, 4) for k, v in self.calibrated_weights.items()},
            "block_m": self.block_m,
            "blocks": self.blocks,
            "beats_baselines": all(
                self.default.spearman > b.spearman for b in self.baselines.values()
            ),
            "problems": [p.as_dict() for p in self.problems],
        }


def rank_agreement(
    counts: np.ndarray, predicted: np.ndarray, *, draws: int = 2000, seed: int = 0
) -> RankAgreement:
    """Return the rank agreement of `predicted` with `counts` (bootstrap interval, seeded)."""
    y = np.asarray(counts, dtype=float)
    x = np.asarray(predicted, dtype=float)
    rho = _spearman(y, x)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), size=(draws, len(y)))
    boot = _row_correlations(rankdata(y[idx], axis=1), rankdata(x[idx], axis=1))
    low, high = np.nanpercentile(boot, [2.5, 97.5]) if np.isfinite(boot).any() else (0.0, 0.0)
    tau = kendalltau(y, x).statistic if np.ptp(x) > 0 and np.ptp(y) > 0 else 0.0
    n = max(1, round(0.1 * len(y)))
    top_y = set(np.argsort(-y, kind="stable")[:n])
    top_x = set(np.argsort(-x, kind="stable")[:n])
    return RankAgreement(
        spearman=rho,
        spearman_low=float(low),
        spearman_high=float(high),
        kendall=float(np.nan_to_num(tau)),
        top_decile_hit=len(top_y & top_x) / n,
    )


def _row_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the Pearson correlation of each row of `a` with the same row of `b` (NaN if flat)."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    norm = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, (a * b).sum(axis=1) / norm, np.nan)


def _spearman(y: np.ndarray, x: np.ndarray) -> float:
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    return float(spearmanr(y, x).statistic)


def baselines_at(xy: np.ndarray, places_xy: np.ndarray) -> dict[str, np.ndarray]:
    """Return the naive predictors at metric points `xy`, given the public spaces' points."""
    if len(places_xy) == 0:
        zero = np.zeros(len(xy))
        return {"places_within_300m": zero, "near_city_centre": zero}
    tree = cKDTree(places_xy)
    within = tree.query_ball_point(xy, r=BASELINE_RADIUS_M, return_length=True)
    density = tree.query_ball_point(places_xy, r=CENTRE_RADIUS_M, return_length=True)
    centre = places_xy[int(np.argmax(density))]
    return {
        "places_within_300m": np.asarray(within, dtype=float),
        "near_city_centre": -np.hypot(*(xy - centre).T),
    }


def fitted_weights(
    x: np.ndarray, y: np.ndarray, prior: np.ndarray, *, shrink: float = SHRINK
) -> np.ndarray:
    """Return signal weights (summing to 1) fitted to counts, shrunk towards `prior`.

    Non-negative least squares of ``log(1 + count)`` on the signals: footfall spans orders
    of magnitude, and on a log scale one very busy station does not decide the weights
    alone. With a few dozen counts and nine signals a free fit chases noise, so the result
    moves the `prior` weights (the default profile) only part of the way: ``(1 - shrink) *
    fitted + shrink * prior``.
    """
    w, _ = nnls(np.c_[x, np.ones(len(y))], np.log1p(y))
    w = w[:-1]
    fitted = w / w.sum() if w.sum() > 0 else np.zeros_like(w)
    base = prior / prior.sum() if prior.sum() > 0 else np.zeros_like(prior)
    return (1.0 - shrink) * fitted + shrink * base


def blocked_predictions(
    x: np.ndarray, y: np.ndarray, xy: np.ndarray, prior: np.ndarray, *, block_m: float
) -> tuple[np.ndarray, int]:
    """Score each counted place with weights fitted on the other blocks of a square grid.

    Returns
    -------
    tuple
        The out-of-block scores (0–1 scale) and the number of blocks.
    """
    cell = np.floor((xy - xy.min(axis=0)) / block_m).astype(np.int64)
    block = np.unique(cell, axis=0, return_inverse=True)[1].ravel()
    pred = np.zeros(len(y))
    for b in np.unique(block):
        test = block == b
        pred[test] = x[test] @ fitted_weights(x[~test], y[~test], prior)
    return pred, int(block.max() + 1)


def validate_profile(
    counts: pd.DataFrame,
    dataset: CityDataset,
    *,
    profile: Profile,
    what: CountKind = "boardings",
    block_m: float = 1000.0,
    problems: list[RowProblem] | None = None,
    seed: int = 0,
) -> Validation:
    """Score the counted places with `profile` and compare with the counts and the baselines.

    Parameters
    ----------
    counts
        From `nudge.placement.calibration.counts_from_file`: ``lat``, ``lon``, ``count``, ``row``.
        Several counts at one place are averaged.
    dataset
        The city the counts were taken in; counts outside its area are counted and left out.
    profile
        The profile to judge (for example ``load_profile("banner")``).
    what
        Whether the counts are transit ``boardings`` or ``pedestrians`` (reported, for the
        reader of the figures).
    block_m
        Side of the grid blocks of the cross-validation, in metres.
    problems
        Problems found while reading the counts, reported with the result.

    Raises
    ------
    InputFileError
        When fewer than `MIN_COUNTS` places with counts lie inside the dataset's area, or the
        counts do not vary.
    """
    problems = list(problems or [])
    read = len(counts) + len([p for p in problems if p.column])
    if what not in COUNT_KINDS:
        raise InputFileError(
            code="validate_unknown_what", what=str(what), kinds=", ".join(COUNT_KINDS)
        )
    sites, outside = _sites_in_area(counts, dataset)
    if len(sites) < MIN_COUNTS and problems:
        first = problems[0]
        raise InputFileError(
            code="validate_too_few_good_counts",
            matched=len(sites),
            need=MIN_COUNTS,
            bad=len(problems),
            row=first.row,
            problem=first,
        )
    if len(sites) < MIN_COUNTS:
        raise InputFileError(
            code="validate_too_few_counts",
            matched=len(sites),
            outside=outside,
            need=MIN_COUNTS,
        )
    y = sites["count"].to_numpy(dtype=float)
    if np.ptp(y) == 0:
        raise InputFileError(code="validate_counts_constant")
    labels = [f"count/{i}" for i in range(len(sites))]
    cands = candidates_from_points(
        sites["lon"].to_numpy(), sites["lat"].to_numpy(), kind=profile.name, labels=labels
    )
    scored = score_candidates(cands, dataset, profile=profile, draws=0).candidates.loc[labels]
    crs = cands.geometry.estimate_utm_crs()
    xy = shapely.get_coordinates(cands.geometry.to_crs(crs).array)
    base = baselines_at(xy, _place_points(dataset, crs))
    signals = [s for s in SIGNALS if f"signal_{s}" in scored.columns]
    x = scored[[f"signal_{s}" for s in signals]].to_numpy(dtype=float)
    prior = np.array([profile.weights.get(s, 0.0) for s in signals])
    pred, blocks = blocked_predictions(x, y, xy, prior, block_m=block_m)
    table = pd.DataFrame(
        {
            "lat": sites["lat"].to_numpy(),
            "lon": sites["lon"].to_numpy(),
            "count": y,
            "score": scored["score"].to_numpy(dtype=float),
            "calibrated_cv": pred,
            **base,
        },
    )
    return Validation(
        what=what,
        profile=profile.name,
        counts=read,
        matched=len(sites),
        outside=outside,
        default=rank_agreement(y, table["score"].to_numpy(), seed=seed),
        baselines={k: rank_agreement(y, v, seed=seed) for k, v in base.items()},
        calibrated=rank_agreement(y, pred, seed=seed) if blocks > 1 else None,
        calibrated_weights=dict(zip(signals, fitted_weights(x, y, prior).tolist(), strict=True)),
        block_m=block_m,
        blocks=blocks,
        table=table,
        problems=tuple(sorted(problems, key=lambda p: p.row)),
    )


def _sites_in_area(counts: pd.DataFrame, dataset: CityDataset) -> tuple[pd.DataFrame, int]:
    """Return the counts inside the dataset's bounding box averaged per place, and how many
    counts lay outside it."""
    bbox = dataset.meta.get("bbox") or list(
        shapely.total_bounds(np.asarray(dataset.features.geometry.array))
    )
    w, s, e, n = bbox
    inside = counts["lon"].between(w, e) & counts["lat"].between(s, n)
    kept = counts.loc[inside]
    sites = kept.groupby([kept["lat"].round(6), kept["lon"].round(6)])["count"].mean().reset_index()
    return sites, int((~inside).sum())


def _place_points(dataset: CityDataset, crs: Any) -> np.ndarray:
    f = dataset.features
    f = f.loc[~f["category"].isin(_EXCLUDED_CATEGORIES)]
    pts = f["point"] if "point" in f.columns else f.geometry.representative_point()
    return shapely.get_coordinates(gpd.GeoSeries(pts, crs=4326).to_crs(crs).array)


def scatter_png(validation: Validation, path: str | Path, *, credit: str = "") -> Path:
    """Draw the score against the counts (log scale) with the rank correlation, as a PNG.

    `credit` (the source and licence of the counts, e.g. "Boardings: HSL 2016, CC BY 4.0")
    is printed under the plot.
    """
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    t = validation.table
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=110)
    ax.scatter(t["score"], t["count"], s=18, alpha=0.7, color="#1f6f8b")
    ax.set_yscale("log")
    ax.set_xlabel(f"nudge {validation.profile} score (0-100)")
    ax.set_ylabel(f"measured {validation.what} (log scale)")
    d = validation.default
    ax.set_title(
        f"Spearman {d.spearman:.2f} [{d.spearman_low:.2f}, {d.spearman_high:.2f}], "
        f"n = {validation.matched}",
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    if credit:
        fig.text(0.01, 0.01, credit, fontsize=7, color="#555555")
    fig.tight_layout(rect=(0, 0.03 if credit else 0, 1, 1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path

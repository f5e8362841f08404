"""Design-based means of domains with Taylor-linearised standard errors.

For a domain ``d`` (respondents of one region, year and group with an answer) the weighted mean
is ``ybar = sum(d w y) / sum(d w)``. Its linearised score is ``z_k = d_k w_k (y_k - ybar) /
sum(d w)``; the variance sums, over strata ``h`` with ``n_h`` primary sampling units (PSUs), of
``n_h / (n_h - 1) * sum_j (z_hj - zbar_h)^2`` where ``z_hj`` is the total of the scores in PSU
``j`` (with replacement, no finite-population correction). Without PSUs every respondent is
one; without strata the sample is one stratum. The domain keeps the whole design (scores are
zero outside it), as a domain estimate must. Degrees of freedom are PSUs minus strata.

This is the estimator of `samplics.TaylorEstimator` (mean, domain) and of R's ``survey::svymean``
on a subset; ``tests/test_evaluation_survey.py`` checks it against samplics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import t as student


@dataclass(frozen=True, slots=True)
class Design:
    """The sampling design of a data set: weights, stratum and PSU codes per respondent."""

    weight: NDArray[np.float64]
    stratum: NDArray[np.int64]
    psu: NDArray[np.int64]  # unique across strata
    df: int

    @classmethod
    def from_codes(
        cls, weight: NDArray[np.float64], stratum: NDArray[np.int64], psu: NDArray[np.int64]
    ) -> Design:
        """Build the design from integer codes (PSU codes made unique within strata)."""
        pairs = np.stack([stratum, psu], axis=1)
        _, psu_ids = np.unique(pairs, axis=0, return_inverse=True)
        n_psu = int(psu_ids.max()) + 1 if len(psu_ids) else 0
        n_strata = len(np.unique(stratum))
        return cls(weight, stratum, psu_ids.reshape(-1), n_psu - n_strata)


@dataclass(frozen=True, slots=True)
class DomainMean:
    """One design-based estimate."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    weight_sum: float


def domain_mean(
    design: Design,
    y: NDArray[np.float64],
    domain: NDArray[np.bool_],
    *,
    proportion: bool,
    alpha: float = 0.05,
) -> DomainMean:
    """Return the weighted mean of `y` over `domain` with its linearised SE and interval.

    Respondents with ``y`` NaN are outside the domain. With `proportion` (0/1 values) the
    interval is the logit interval samplics uses; otherwise it is ``mean ± t * se``.
    """
    inside = domain & ~np.isnan(y)
    dw = np.where(inside, design.weight, 0.0)
    total = dw.sum()
    if total <= 0:
        return DomainMean(math.nan, math.nan, math.nan, math.nan, 0, 0.0)
    values = np.where(inside, y, 0.0)
    mean = float((dw * values).sum() / total)
    scores = dw * (values - mean) / total
    psu_totals = np.bincount(design.psu, weights=scores)
    psu_stratum = np.zeros(len(psu_totals), dtype=np.int64)
    psu_stratum[design.psu] = design.stratum
    variance = 0.0
    for h in np.unique(psu_stratum):
        z = psu_totals[psu_stratum == h]
        if len(z) > 1:
            variance += len(z) / (len(z) - 1) * float(((z - z.mean()) ** 2).sum())
    se = math.sqrt(variance)
    quantile = float(student.ppf(1 - alpha / 2, df=max(design.df, 1)))
    low, high = _interval(mean, se, quantile, proportion=proportion)
    return DomainMean(mean, se, low, high, int(inside.sum()), float(total))


def _interval(mean: float, se: float, quantile: float, *, proportion: bool) -> tuple[float, float]:
    if not proportion:
        return mean - quantile * se, mean + quantile * se
    if mean in (0.0, 1.0):
        return mean, mean
    centre = math.log(mean / (1 - mean))
    half = quantile * se / (mean * (1 - mean))
    return 1 / (1 + math.exp(-(centre - half))), 1 / (1 + math.exp(-(centre + half)))

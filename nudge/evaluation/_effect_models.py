"""The three models behind `nudge.evaluation.analysis`, on a checked table of cells.

A *cell* is one unit (region) in one period (survey wave): its index estimate and whether the
unit had the campaign then (``treated``, 0 or 1). The public module checks the panel and the
schedule and builds the cells; these functions only fit:

- `mixed_model`: the Hussey & Hughes (2007) model of a stepped wedge on cluster-period means,
  ``y_ij = beta_j + theta X_ij + a_i + e_ij``, fitted by REML with statsmodels ``MixedLM``;
- `two_way_fixed_effects`: difference in differences, ``y_ij = a_i + beta_j + theta X_ij + e_ij``
  by OLS with standard errors clustered by unit (statsmodels);
- `synthetic_control`: Abadie, Diamond & Hainmueller (2010): the treated unit against a convex
  mix of never-treated units fitted on the periods before its start, with placebos in space.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.optimize import nnls
from scipy.stats import t as t_dist

from nudge._errors import RecordError


@dataclass(frozen=True)
class SyntheticFit:
    """The synthetic control of one treated unit.

    ``gaps`` is the treated unit minus its synthetic control per period; ``placebo_ratios``
    the post/pre RMSPE ratio of every unit (the treated one and each donor as a placebo).
    """

    unit: str
    weights: dict[str, float]
    rmspe_pre: float
    rmspe_post: float
    gaps: dict[str, float]
    placebo_ratios: dict[str, float]
    p_value: float


@dataclass(frozen=True)
class Fit:
    """What one model says about the treatment effect."""

    effect: float
    se: float | None
    df: float | None
    method: str
    converged: bool = True
    variances: dict[str, float] = field(default_factory=dict)
    synthetic: SyntheticFit | None = None

    def interval(self, alpha: float) -> tuple[float | None, float | None, float | None]:
        """Return the two-sided t interval and p-value (None when there is no SE)."""
        if self.se is None or self.df is None:
            return None, None, None
        q = float(t_dist.ppf(1 - alpha / 2, self.df))
        if self.se == 0:
            return self.effect, self.effect, 0.0 if self.effect else 1.0
        p = float(2 * t_dist.sf(abs(self.effect) / self.se, self.df))
        return self.effect - q * self.se, self.effect + q * self.se, p


def _singular() -> RecordError:
    msg = (
        "The campaign's effect cannot be told apart from the periods and units: every unit "
        "starts in the same period, or no period holds units with and without the campaign."
    )
    return RecordError(msg, code="analysis_singular")


def _dummies(values: pd.Series, *, drop_first: bool) -> NDArray[np.float64]:
    codes, uniques = pd.factorize(values, sort=True)
    full = np.eye(len(uniques))[codes]
    return np.asarray(full[:, 1:] if drop_first else full, dtype=float)


def _full_rank(exog: NDArray[np.float64]) -> None:
    if np.linalg.matrix_rank(exog) < exog.shape[1]:
        raise _singular()


def mixed_model(cells: pd.DataFrame) -> Fit:
    """Fit the stepped-wedge mixed model; the t reference has units - 2 degrees of freedom.

    The index is centred and scaled before the fit (``MixedLM`` optimises badly on variances
    of the order of 1e-3, as shares have) and the effect scaled back.
    """
    y = cells["estimate"].to_numpy(float)
    exog = np.column_stack([_dummies(cells["period"], drop_first=False), cells["treated"]])
    _full_rank(exog)
    from statsmodels.regression.mixed_linear_model import MixedLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    scale = float(y.std()) or 1.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = MixedLM((y - y.mean()) / scale, exog, groups=cells["unit"].to_numpy()).fit(
            reml=True
        )
    converged = bool(result.converged) and not any(
        issubclass(w.category, ConvergenceWarning) for w in caught
    )
    se = float(result.bse_fe[-1]) * scale
    if not math.isfinite(se):
        msg = "The mixed model could not be fitted to this panel (its variance is undefined)."
        raise RecordError(msg, code="analysis_fit_failed")
    units = cells["unit"].nunique()
    between = float(np.asarray(result.cov_re)[0, 0]) * scale**2
    return Fit(
        effect=float(result.fe_params[-1]) * scale,
        se=se,
        df=float(units - 2),
        method="linear mixed model (REML): period effects, campaign, random unit intercept",
        converged=converged,
        variances={"between_unit": between, "residual": float(result.scale) * scale**2},
    )


def two_way_fixed_effects(cells: pd.DataFrame) -> Fit:
    """Fit the difference-in-differences regression; t reference on units - 1 df (CR1 SEs)."""
    import statsmodels.api as sm

    y = cells["estimate"].to_numpy(float)
    exog = np.column_stack(
        [
            _dummies(cells["unit"], drop_first=False),
            _dummies(cells["period"], drop_first=True),
            cells["treated"].to_numpy(float),
        ]
    )
    _full_rank(exog)
    groups = pd.factorize(cells["unit"])[0]
    result = sm.OLS(y, exog).fit(
        cov_type="cluster", cov_kwds={"groups": groups, "use_correction": True}, use_t=True
    )
    return Fit(
        effect=float(result.params[-1]),
        se=float(result.bse[-1]),
        df=float(len(np.unique(groups)) - 1),
        method="two-way fixed effects OLS (units, periods), SEs clustered by unit",
    )


def convex_weights(target: NDArray[np.float64], donors: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return w >= 0 with sum 1 minimising ``|target - donors @ w|`` (donors: periods × units).

    Solved as a non-negative least-squares problem with the sum-to-one condition added as a
    heavily weighted row (exact to about 1e-9 at the weight used here).
    """
    big = 1e4 * max(1.0, float(np.abs(donors).max()), float(np.abs(target).max()))
    a = np.vstack([donors, np.full((1, donors.shape[1]), big)])
    b = np.append(target, big)
    weights, _ = nnls(a, b, maxiter=50 * a.shape[1])
    return np.asarray(weights / weights.sum())


_Ratio = tuple[NDArray[np.float64], NDArray[np.float64], float, float]


def _ratio(
    target: NDArray[np.float64], donors: NDArray[np.float64], pre: NDArray[np.bool_]
) -> _Ratio:
    """Return the weights, the gap and the RMSPE before and after the start."""
    weights = convex_weights(target[pre], donors[pre])
    gap = target - donors @ weights
    rmspe_pre = float(np.sqrt(np.mean(gap[pre] ** 2)))
    rmspe_post = float(np.sqrt(np.mean(gap[~pre] ** 2)))
    return weights, gap, rmspe_pre, rmspe_post


def synthetic_control(wide: pd.DataFrame, treated: str, pre: NDArray[np.bool_]) -> Fit:
    """Compare `treated` with its synthetic control; placebo-in-space permutation p-value.

    `wide` is periods × units (the treated unit and its donors, no gaps). Every donor in turn
    is treated as if it had had the campaign and fitted on the other donors; the p-value is
    the share of units (the treated one included) whose post/pre RMSPE ratio is at least the
    treated unit's (Abadie et al. 2010).
    """
    donors = [u for u in wide.columns if u != treated]
    values = wide.to_numpy(float)
    target = wide[treated].to_numpy(float)
    pool = wide[donors].to_numpy(float)
    weights, gap, rmspe_pre, rmspe_post = _ratio(target, pool, pre)
    tiny = 1e-12 * max(1.0, float(np.abs(values).max()))
    ratios = {treated: rmspe_post / max(rmspe_pre, tiny)}
    for k, donor in enumerate(donors):
        others = np.delete(pool, k, axis=1)
        _, _, pre_k, post_k = _ratio(pool[:, k], others, pre)
        ratios[donor] = post_k / max(pre_k, tiny)
    p = float(np.mean(np.asarray(list(ratios.values())) >= ratios[treated] * (1 - 1e-9)))
    detail = SyntheticFit(
        unit=str(treated),
        weights={str(d): float(w) for d, w in zip(donors, weights, strict=True)},
        rmspe_pre=rmspe_pre,
        rmspe_post=rmspe_post,
        gaps={str(p): float(g) for p, g in zip(wide.index, gap, strict=True)},
        placebo_ratios={str(u): float(r) for u, r in ratios.items()},
        p_value=p,
    )
    method = "synthetic control: convex mix of never-treated units fitted before the start"
    return Fit(float(gap[~pre].mean()), None, None, method, synthetic=detail)

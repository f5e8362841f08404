"""Power of a rollout: the Hussey–Hughes variance of the campaign effect and what it detects.

The model is the one of Hussey & Hughes (2007, *Contemporary Clinical Trials* 28:182–191) for a
cross-sectional cluster design analysed on cluster-period means::

    ybar_ij = mu + beta_j + X_ij * theta + a_i + e_ij,
    a_i ~ N(0, tau2),  e_ij ~ N(0, sigma2 / m)

with ``i`` a unit (region), ``j`` a survey wave, ``X_ij`` 1 when unit ``i`` has the campaign at
wave ``j``, ``m`` the respondents per unit per wave, ``sigma2`` the respondent-level variance
(``p (1 - p)`` for a binary agreement index, ``sd ** 2`` for a scale) and ``tau2`` the
between-unit variance, fixed by the intraclass correlation ``icc = tau2 / (tau2 + sigma2)``.

`hussey_hughes_variance` is their closed form (their equation 8); `gls_variance` computes the
same number as the treatment entry of ``(Z' V^-1 Z)^-1`` and serves as its check. Power of the
two-sided Wald test is ``Phi(|change| / se - z) + Phi(-|change| / se - z)``; `simulate_power`
checks it by drawing trials from the model (respondent-level binary answers, or normal means)
and testing the generalised-least-squares estimate. See ``docs/evaluation.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq
from scipy.stats import norm

from nudge._errors import RecordError

Outcome = Literal["binary", "normal"]


@dataclass(frozen=True, slots=True)
class PowerResult:
    """The power of one design for one index, with every input it rests on.

    ``variance`` is Var(theta-hat) of the Hussey–Hughes model; ``mdc`` the smallest change of
    the index (in its own units: a share for a binary index) detected with ``target_power``.
    """

    design: str
    units: int
    waves: int
    per_unit: int
    icc: float
    sigma2: float
    tau2: float
    variance: float
    se: float
    alpha: float
    target_power: float
    mdc: float
    change: float | None
    power: float | None

    def as_dict(self) -> dict[str, Any]:
        """Return the figures as plain values (for JSON)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """Rejection rate of simulated trials next to the formula's power."""

    trials: int
    seed: int
    outcome: str
    rejection_rate: float
    mc_se: float
    formula_power: float
    mean_estimate: float


def _check_matrix(design: ArrayLike) -> NDArray[np.float64]:
    x = np.asarray(design, dtype=float)
    if x.ndim != 2 or x.size == 0 or not np.isin(x, (0.0, 1.0)).all():
        msg = "A design matrix must be a non-empty table of 0 and 1 (units × survey waves)."
        raise RecordError(msg, code="eval_design_matrix")
    return x


def stepped_wedge_matrix(
    units_per_step: Sequence[int], *, baseline_waves: int = 1, waves_per_step: int = 1
) -> NDArray[np.float64]:
    """Return the 0/1 matrix of a stepped-wedge design (units × survey waves).

    Parameters
    ----------
    units_per_step
        How many units cross from control to campaign at each step.
    baseline_waves
        Waves before the first step, when every unit is in control.
    waves_per_step
        Waves observed after each step.
    """
    steps = len(units_per_step)
    waves = baseline_waves + steps * waves_per_step
    rows = []
    for step, count in enumerate(units_per_step):
        start = baseline_waves + step * waves_per_step
        rows += [[1.0 if j >= start else 0.0 for j in range(waves)]] * int(count)
    return _check_matrix(rows)


def parallel_matrix(treated: int, control: int, *, baseline: bool = False) -> NDArray[np.float64]:
    """Return the matrix of a parallel comparison (one wave after, optionally one before)."""
    after = [[1.0]] * treated + [[0.0]] * control
    rows = [[0.0, *row] for row in after] if baseline else after
    return _check_matrix(rows)


def hussey_hughes_variance(design: ArrayLike, *, sigma2_mean: float, tau2: float) -> float:
    """Return Var(theta-hat) by the closed form of Hussey & Hughes (2007, eq. 8).

    ``I s (s + T t) / ((I U - W) s + (U^2 + I T U - T W - I V) t)`` with ``s`` the variance of
    a cluster-period mean (``sigma2 / m``), ``t`` = `tau2`, ``U`` the sum of the matrix, ``W``
    the sum of squared column sums and ``V`` the sum of squared row sums.
    """
    x = _check_matrix(design)
    n_units, n_waves = x.shape
    u = x.sum()
    w = (x.sum(axis=0) ** 2).sum()
    v = (x.sum(axis=1) ** 2).sum()
    s, t = sigma2_mean, tau2
    denominator = (n_units * u - w) * s + (
        u * u + n_units * n_waves * u - n_waves * w - n_units * v
    ) * t
    if denominator <= 0:
        msg = "The design cannot estimate the effect: some wave or unit carries no contrast."
        raise RecordError(msg, code="eval_design_singular")
    return float(n_units * s * (s + n_waves * t) / denominator)


def _model_matrix(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return Z of the cluster-period means: one column per wave, then the treatment column."""
    n_units, n_waves = x.shape
    waves = np.tile(np.eye(n_waves), (n_units, 1))
    return np.column_stack([waves, x.reshape(-1)])


def _gls_weights(x: NDArray[np.float64], sigma2_mean: float, tau2: float) -> NDArray[np.float64]:
    """Return w with theta-hat = w @ ybar (ybar in unit-major order) and Var = w' V w."""
    n_units, n_waves = x.shape
    z = _model_matrix(x)
    block = sigma2_mean * np.eye(n_waves) + tau2 * np.ones((n_waves, n_waves))
    v_inv = np.kron(np.eye(n_units), np.linalg.inv(block))
    info = z.T @ v_inv @ z
    if np.linalg.matrix_rank(info) < info.shape[0]:
        msg = "The design cannot estimate the effect: some wave or unit carries no contrast."
        raise RecordError(msg, code="eval_design_singular")
    return np.asarray(np.linalg.solve(info, z.T @ v_inv)[-1])


def gls_variance(design: ArrayLike, *, sigma2_mean: float, tau2: float) -> float:
    """Return Var(theta-hat) as the treatment entry of ``(Z' V^-1 Z)^-1`` (the matrix route)."""
    x = _check_matrix(design)
    w = _gls_weights(x, sigma2_mean, tau2)
    n_units, n_waves = x.shape
    block = sigma2_mean * np.eye(n_waves) + tau2 * np.ones((n_waves, n_waves))
    return float(w @ np.kron(np.eye(n_units), block) @ w)


def power_of_change(change: float, variance: float, *, alpha: float = 0.05) -> float:
    """Return the power of the two-sided Wald test to detect `change` (both tails)."""
    z = norm.ppf(1 - alpha / 2)
    ratio = abs(change) / math.sqrt(variance)
    return float(norm.cdf(ratio - z) + norm.cdf(-ratio - z))


def minimum_detectable_change(variance: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Return the smallest change detected with `power` (solves `power_of_change` exactly)."""
    se = math.sqrt(variance)
    upper = (norm.ppf(1 - alpha / 2) + norm.ppf(power) + 1) * se
    return float(brentq(lambda d: power_of_change(d, variance, alpha=alpha) - power, 0.0, upper))


def _variances(*, icc: float, baseline: float | None, sd: float | None) -> tuple[float, float]:
    problems = []
    if not 0 <= icc < 1:
        problems.append(f"the ICC must be at least 0 and below 1, not {icc}")
    if (baseline is None) == (sd is None):
        problems.append("give either a baseline proportion or a standard deviation, not both")
    elif baseline is not None and not 0 < baseline < 1:
        problems.append(f"the baseline proportion must lie between 0 and 1, not {baseline}")
    elif sd is not None and not sd > 0:
        problems.append(f"the standard deviation must be positive, not {sd}")
    if problems:
        msg = "Cannot compute the power: " + "; ".join(problems) + "."
        raise RecordError(msg, code="eval_power_inputs", problems="; ".join(problems))
    sigma2 = baseline * (1 - baseline) if baseline is not None else (sd or 0.0) ** 2
    return sigma2, icc * sigma2 / (1 - icc)


def design_power(
    design: ArrayLike,
    *,
    per_unit: int,
    icc: float,
    baseline: float | None = None,
    sd: float | None = None,
    change: float | None = None,
    alpha: float = 0.05,
    target_power: float = 0.8,
    name: str = "custom",
) -> PowerResult:
    """Return the power and minimum detectable change of a design for one index.

    Parameters
    ----------
    design
        0/1 matrix, units × survey waves (1: the unit has the campaign at that wave).
    per_unit
        Survey respondents per unit per wave (``m``).
    icc
        Intraclass correlation of the index between units.
    baseline
        Baseline share agreeing, for a binary index (``sigma2 = p (1 - p)``).
    sd
        Respondent-level standard deviation, for a scale index.
    change
        The change of the index to detect (share or scale points); None gives only the MDC.
    alpha, target_power
        Two-sided significance level and the power the MDC is for.
    name
        The design's name, kept in the result.
    """
    if per_unit < 1:
        msg = f"Respondents per unit and wave must be at least 1, not {per_unit}."
        raise RecordError(msg, code="eval_per_unit", value=per_unit)
    sigma2, tau2 = _variances(icc=icc, baseline=baseline, sd=sd)
    x = _check_matrix(design)
    variance = hussey_hughes_variance(x, sigma2_mean=sigma2 / per_unit, tau2=tau2)
    return PowerResult(
        design=name,
        units=x.shape[0],
        waves=x.shape[1],
        per_unit=per_unit,
        icc=icc,
        sigma2=sigma2,
        tau2=tau2,
        variance=variance,
        se=math.sqrt(variance),
        alpha=alpha,
        target_power=target_power,
        mdc=minimum_detectable_change(variance, alpha=alpha, power=target_power),
        change=change,
        power=None if change is None else power_of_change(change, variance, alpha=alpha),
    )


def _simulated_means(
    x: NDArray[np.float64],
    result: PowerResult,
    rng: np.random.Generator,
    *,
    trials: int,
    outcome: Outcome,
    level: float,
) -> NDArray[np.float64]:
    n_units, n_waves = x.shape
    trend = np.linspace(0.0, 0.02, n_waves)  # a secular trend the wave effects must absorb
    effect = result.change or 0.0
    unit = rng.normal(0.0, math.sqrt(result.tau2), size=(trials, n_units, 1))
    mean = level + trend + effect * x + unit
    if outcome == "normal":
        noise = rng.normal(0.0, math.sqrt(result.sigma2 / result.per_unit), size=mean.shape)
        return np.asarray(mean + noise)
    share = np.clip(mean, 0.0, 1.0)
    return np.asarray(rng.binomial(result.per_unit, share) / result.per_unit)


def simulate_power(
    design: ArrayLike,
    result: PowerResult,
    *,
    trials: int = 1000,
    seed: int = 0,
    outcome: Outcome = "binary",
    baseline: float = 0.5,
) -> SimulationResult:
    """Draw trials from the Hussey–Hughes model and count how often the effect is found.

    Each trial draws unit effects ``a_i ~ N(0, tau2)`` and cluster-period means (for a binary
    index, ``per_unit`` respondents' answers with probability ``baseline + trend_j + X theta +
    a_i``), estimates the effect by generalised least squares with the wave effects and the
    model's variances, and rejects when ``|theta-hat| / se > z``.
    """
    x = _check_matrix(design)
    rng = np.random.default_rng(seed)
    means = _simulated_means(x, result, rng, trials=trials, outcome=outcome, level=baseline)
    weights = _gls_weights(x, result.sigma2 / result.per_unit, result.tau2)
    estimates = means.reshape(trials, -1) @ weights
    z = norm.ppf(1 - result.alpha / 2)
    rate = float(np.mean(np.abs(estimates) / result.se > z))
    expected = power_of_change(result.change or 0.0, result.variance, alpha=result.alpha)
    return SimulationResult(
        trials=trials,
        seed=seed,
        outcome=outcome,
        rejection_rate=rate,
        mc_se=math.sqrt(expected * (1 - expected) / trials),
        formula_power=expected,
        mean_estimate=float(estimates.mean()),
    )


__all__ = [
    "PowerResult",
    "SimulationResult",
    "design_power",
    "gls_variance",
    "hussey_hughes_variance",
    "minimum_detectable_change",
    "parallel_matrix",
    "power_of_change",
    "simulate_power",
    "stepped_wedge_matrix",
]

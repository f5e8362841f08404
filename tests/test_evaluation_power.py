"""Power of rollout designs: the Hussey–Hughes closed form, published figures, simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from nudge._errors import RecordError
from nudge.evaluation.power import (
    Outcome,
    design_power,
    gls_variance,
    hussey_hughes_variance,
    minimum_detectable_change,
    parallel_matrix,
    power_of_change,
    simulate_power,
    stepped_wedge_matrix,
)


@pytest.mark.parametrize(
    ("design", "s", "t"),
    [
        (stepped_wedge_matrix([5, 5, 5, 5]), 0.0021, 0.011),
        (stepped_wedge_matrix([2, 3, 1]), 1.0, 0.0),
        (stepped_wedge_matrix([3, 3], baseline_waves=2, waves_per_step=2), 0.3, 2.0),
        (parallel_matrix(6, 4, baseline=True), 0.5, 0.2),
    ],
)
def test_closed_form_equals_the_matrix_route(design: np.ndarray, s: float, t: float) -> None:
    closed = hussey_hughes_variance(design, sigma2_mean=s, tau2=t)
    assert closed == pytest.approx(gls_variance(design, sigma2_mean=s, tau2=t), rel=1e-10)


def test_counts_of_a_published_design() -> None:
    # Teerenstra's SAS program (steventeerenstra/stepped-wedge, 2level_SomeNonstandardDesign.sas)
    # gives U = 8, V = 14, W = 34 for the 5 × 3 design 011 011 011 001 001, with I = 5, T = 3.
    x = np.array([[0, 1, 1]] * 3 + [[0, 0, 1]] * 2, dtype=float)
    assert (x.sum(), (x.sum(axis=1) ** 2).sum(), (x.sum(axis=0) ** 2).sum()) == (8, 14, 34)
    s, t = 0.3 * 0.7 / 40, 0.1 / 0.9 * 0.3 * 0.7
    u, v, w, i, n = 8, 14, 34, 5, 3
    by_hand = i * s * (s + n * t) / ((i * u - w) * s + (u**2 + i * n * u - n * w - i * v) * t)
    assert hussey_hughes_variance(x, sigma2_mean=s, tau2=t) == pytest.approx(by_hand, rel=1e-12)


# Kristunas et al. (2017), "An imbalance in cluster sizes does not lead to notable loss of power
# in cross-sectional, stepped-wedge cluster randomised trials with a continuous outcome",
# Trials 18:109, Table 2, rows without imbalance (CV = 0): Woertman's design effect, the sample
# size and the power of the design (ICC 0.05, standardised effect 0.2, two-sided 5 %, 80 %).
PUBLISHED = [
    # (cluster size m, steps, design effect, sample size I * m, power)
    (10, 4, 0.535, 440, 0.818),
    (20, 3, 0.767, 660, 0.835),
    (20, 4, 0.572, 480, 0.825),
]


@pytest.mark.parametrize(("m", "steps", "effect", "size", "power"), PUBLISHED)
def test_published_stepped_wedge_example(
    m: int, steps: int, effect: float, size: int, power: float
) -> None:
    units = size // m
    x = stepped_wedge_matrix([units // steps] * steps)
    result = design_power(x, per_unit=m, icc=0.05, sd=math.sqrt(0.95), change=0.2)
    assert result.sigma2 + result.tau2 == pytest.approx(1.0)  # the effect is in total SDs
    # Woertman's design effect: Var = DE * 4 * total variance / (clusters * m)
    assert round(result.variance * units * m / 4, 3) == effect
    assert round(result.power or 0, 3) == power
    smaller = stepped_wedge_matrix([units // steps - 1] * steps)
    fewer = design_power(smaller, per_unit=m, icc=0.05, sd=math.sqrt(0.95), change=0.2)
    assert (fewer.power or 0) < 0.8 <= (result.power or 0)  # the smallest design with 80 %


def test_parallel_design_is_the_textbook_formula() -> None:
    m, icc, sd, k = 50, 0.04, 1.3, 12
    result = design_power(parallel_matrix(k, k), per_unit=m, icc=icc, sd=sd, change=0.3)
    total = sd**2 / (1 - icc)  # within variance sd**2 is (1 - icc) of the total
    textbook = 2 * total * (1 + (m - 1) * icc) / (k * m)  # 2 sigma^2 DE / n per arm
    assert result.variance == pytest.approx(textbook, rel=1e-12)
    z = norm.ppf(0.975)
    expected = norm.cdf(0.3 / math.sqrt(textbook) - z) + norm.cdf(-0.3 / math.sqrt(textbook) - z)
    assert result.power == pytest.approx(expected, abs=5e-4)
    mdc = (z + norm.ppf(0.8)) * math.sqrt(textbook)
    assert result.mdc == pytest.approx(mdc, rel=1e-4)  # the lower tail is negligible here


def test_phased_design_with_baseline_is_ancova() -> None:
    s, t = 0.5, 0.2
    r = t / (t + s)  # correlation of a unit's two wave means
    ancova = (1 - r * r) * (s + t) * (1 / 6 + 1 / 4)
    design = parallel_matrix(6, 4, baseline=True)
    assert hussey_hughes_variance(design, sigma2_mean=s, tau2=t) == pytest.approx(ancova)


def test_binary_index_uses_the_baseline_variance() -> None:
    result = design_power(stepped_wedge_matrix([5] * 4), per_unit=100, icc=0.05, baseline=0.3)
    assert result.sigma2 == pytest.approx(0.21)
    assert result.tau2 == pytest.approx(0.05 * 0.21 / 0.95)
    assert result.power is None
    assert power_of_change(result.mdc, result.variance) == pytest.approx(0.8, abs=1e-9)
    assert minimum_detectable_change(result.variance, power=0.9) > result.mdc


@pytest.mark.parametrize("outcome", ["binary", "normal"])
def test_simulation_agrees_with_the_formula(outcome: Outcome) -> None:
    x = stepped_wedge_matrix([5, 5, 5, 5])
    result = design_power(x, per_unit=100, icc=0.05, baseline=0.3, change=0.04)
    sim = simulate_power(x, result, trials=1000, seed=20261126, outcome=outcome, baseline=0.3)
    assert 0.5 < sim.formula_power < 0.9
    assert abs(sim.rejection_rate - sim.formula_power) <= 3 * sim.mc_se
    assert sim.mean_estimate == pytest.approx(0.04, abs=0.003)


def test_simulated_null_rejects_about_five_percent() -> None:
    x = stepped_wedge_matrix([4, 4, 4, 4, 4])
    result = design_power(x, per_unit=200, icc=0.02, baseline=0.45, change=0.0)
    sim = simulate_power(x, result, trials=1000, seed=7, outcome="binary", baseline=0.45)
    assert sim.formula_power == pytest.approx(0.05)
    assert abs(sim.rejection_rate - 0.05) <= 3 * sim.mc_se


def test_simulated_phased_design_agrees() -> None:
    x = parallel_matrix(10, 10, baseline=True)
    result = design_power(x, per_unit=300, icc=0.03, baseline=0.4, change=0.05)
    sim = simulate_power(x, result, trials=1000, seed=3, outcome="binary", baseline=0.4)
    assert abs(sim.rejection_rate - sim.formula_power) <= 3 * sim.mc_se


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"icc": 1.0, "baseline": 0.3}, "ICC must be at least 0 and below 1"),
        ({"icc": 0.05, "baseline": 0.3, "sd": 1.0}, "not both"),
        ({"icc": 0.05}, "not both"),
        ({"icc": 0.05, "baseline": 1.2}, "between 0 and 1"),
        ({"icc": 0.05, "sd": -1.0}, "must be positive"),
        ({"icc": 0.05, "sd": 1.0, "per_unit": 0}, "at least 1"),
    ],
)
def test_bad_power_inputs_are_refused(kwargs: dict, match: str) -> None:
    options = {"per_unit": 100, **kwargs}
    with pytest.raises(RecordError, match=match):
        design_power(stepped_wedge_matrix([2, 2]), **options)


def test_a_design_without_contrast_is_refused() -> None:
    with pytest.raises(RecordError, match="no contrast"):
        hussey_hughes_variance(np.zeros((4, 3)), sigma2_mean=1.0, tau2=0.1)
    with pytest.raises(RecordError, match="no contrast"):
        gls_variance(np.ones((4, 3)), sigma2_mean=1.0, tau2=0.1)
    with pytest.raises(RecordError, match="0 and 1"):
        hussey_hughes_variance([[0, 2]], sigma2_mean=1.0, tau2=0.1)

"""Quotas per district of a plan; the districts themselves are `nudge.geo.districts`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nudge._errors import InfeasibleError, Notice
from nudge.placement._problem import NO_LIMIT

QuotaSpec = str | tuple[int | None, int | None] | Mapping[str, Any] | None


def no_site_covered(n_districts: int, n_sites: int) -> Notice:
    """Return the warning that a district layer covers none of the candidate sites."""
    return Notice(code="plan_districts_cover_no_sites", districts=n_districts, sites=n_sites)


def _parse_pair(text: str) -> tuple[int | None, int | None]:
    low, sep, high = str(text).partition(":")
    if not sep:
        raise InfeasibleError(code="quota_not_min_max", quota=str(text))
    try:
        return (int(low) if low.strip() else None, int(high) if high.strip() else None)
    except ValueError:
        raise InfeasibleError(code="quota_not_whole_numbers", quota=str(text)) from None


def _pair(value: Any) -> tuple[int | None, int | None]:
    if isinstance(value, str):
        return _parse_pair(value)
    if isinstance(value, int | np.integer):
        return int(value), int(value)
    low, high = value
    return (None if low is None else int(low), None if high is None else int(high))


def quota_bounds(
    quota: QuotaSpec,
    names: Sequence[str],
    *,
    count: int | None,
    shares: Mapping[str, float] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the minimum and maximum number of sites per district.

    Parameters
    ----------
    quota
        None (no limits), ``"proportional"``, ``"min:max"`` for every district,
        a ``(min, max)`` pair, or a mapping from district name to a pair,
        a ``"min:max"`` string or an exact number.
    names
        District names, in group order.
    count
        Number of sites of the plan (needed by proportional quotas).
    shares
        Weight per district for proportional quotas (population).

    Returns
    -------
    minimums, maximums
        Integer arrays in the order of `names`.
    """
    n = len(names)
    low = np.zeros(n, dtype=np.int64)
    high = np.full(n, NO_LIMIT, dtype=np.int64)
    if quota is None:
        return low, high
    if isinstance(quota, str) and quota.strip().lower() == "proportional":
        return _proportional(names, count=count, shares=shares)
    if isinstance(quota, Mapping):
        unknown = sorted(set(map(str, quota)) - set(names))
        if unknown:
            raise InfeasibleError(
                code="quota_unknown_districts",
                unknown=", ".join(unknown),
                districts=", ".join(map(str, names)),
            )
        pairs = {str(k): _pair(v) for k, v in quota.items()}
    else:
        pair = _pair(quota)
        pairs = dict.fromkeys(names, pair)
    for g, name in enumerate(names):
        lo, hi = pairs.get(name, (None, None))
        if (lo is not None and lo < 0) or (hi is not None and hi < 0):
            quota_text = f"{'' if lo is None else lo}:{'' if hi is None else hi}"
            raise InfeasibleError(code="quota_negative", district=name, quota=quota_text)
        low[g] = lo or 0
        high[g] = NO_LIMIT if hi is None else hi
    return low, high


def _proportional(
    names: Sequence[str], *, count: int | None, shares: Mapping[str, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    if count is None:
        raise InfeasibleError(code="quota_proportional_needs_count")
    if shares is None:
        raise InfeasibleError(code="quota_proportional_needs_population")
    missing = [n for n in names if n not in shares]
    if missing:
        raise InfeasibleError(
            code="quota_population_missing",
            missing=", ".join(map(str, missing)),
            known=", ".join(sorted(map(str, shares))),
        )
    weight = np.array([max(float(shares[n]), 0.0) for n in names])
    if weight.sum() <= 0:
        raise InfeasibleError(code="quota_population_not_positive")
    target = count * weight / weight.sum()
    low = np.floor(target + 1e-9).astype(np.int64)
    high = np.ceil(target - 1e-9).astype(np.int64)
    return low, high

"""Rules a rotation could not keep, found in an assignment and said with the reason.

`check_rotation` looks at a finished assignment (site x flight entry numbers) and
returns one `Violation` per broken rule; `nudge.content.rotation` adds the locks
it had to drop before solving (`dropped_lock`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from nudge._errors import Problem
from nudge.content._solver import RotationProblem, reachable_themes
from nudge.content.matching import MatchResult
from nudge.content.schema import THEMES

_RULES = {
    "rotation_gap": "gap",
    "rotation_neighbour": "neighbour",
    "rotation_theme": "theme",
    "rotation_unplaced": "unplaced",
    "rotation_unplaced_kind": "unplaced",
    "rotation_lock_format": "format",
    "rotation_lock_no_format": "format",
}


class Violation(Problem):
    """One rule the rotation could not keep: a `Problem` at a `site` and `flight`.

    Its `entry` is the content entry concerned; `rule` names the rule broken.
    """

    __slots__ = ()

    @property
    def rule(self) -> str:
        """Return the rule broken: gap, neighbour, theme, unplaced, format or locked."""
        return _RULES.get(self.code or "", "locked")

    @property
    def site_id(self) -> str | None:
        """Return the site of the broken rule (`site`)."""
        return self.site

    @property
    def item_id(self) -> str | None:
        """Return the entry of the broken rule (`entry`)."""
        return self.entry

    def as_dict(self) -> dict[str, Any]:
        """Return the violation as a JSON-ready mapping."""
        return {
            "rule": self.rule,
            "site_id": self.site,
            "flight": self.flight,
            "item_id": self.entry,
            "message": self.message,
        }


def dropped_lock(site: str, flight: int, item: str, items: pd.DataFrame) -> Violation:
    """Return the violation of a lock on an entry that is never placed (`unusable_items`)."""
    status = str(items.at[item, "status"])
    at = Violation(None, site=site, flight=flight, entry=item)
    if status != "active":
        params: dict[str, object] = {"item": item, "status": status}
        return replace(at, code="rotation_lock_status", params=params)
    if not bool(items.at[item, "consent"]):
        return replace(at, code="rotation_lock_no_consent", params={"item": item})
    return replace(at, code="rotation_lock_example", params={"item": item})


def check_rotation(
    assign: np.ndarray,
    problem: RotationProblem,
    site_ids: pd.Index,
    match: MatchResult,
    group_names: list[str],
) -> list[Violation]:
    """Return every rule the assignment breaks, with the reason."""
    item_ids = list(match.items.index)
    ids = [str(s) for s in site_ids]
    out: list[Violation] = []
    out += _unplaced(assign, ids, match)
    out += _gap_violations(assign, problem, ids, item_ids)
    out += _neighbour_violations(assign, problem, ids, item_ids)
    out += _theme_violations(assign, problem, group_names)
    placed = assign >= 0
    rows, cols = np.nonzero(placed & (problem.locked >= 0) & (assign != problem.locked))
    for r, c in zip(rows, cols, strict=True):
        item = item_ids[problem.locked[r, c]]
        at = Violation(None, site=ids[r], flight=int(c) + 1, entry=item)
        out.append(replace(at, code="rotation_lock_not_kept", params={"item": item}))
    rows, cols = np.nonzero(
        placed & ~np.take_along_axis(problem.eligible, np.maximum(assign, 0), 1)
    )
    for r, c in zip(rows, cols, strict=True):
        item = item_ids[assign[r, c]]
        fmt = match.site_format.get(ids[r])
        at = Violation(None, site=ids[r], flight=int(c) + 1, entry=item)
        if fmt is None:
            out.append(replace(at, code="rotation_lock_no_format", params={"item": item}))
        else:
            params = {"item": item, "format": str(fmt)}
            out.append(replace(at, code="rotation_lock_format", params=params))
    return out


def _unplaced(assign: np.ndarray, site_ids: list[str], match: MatchResult) -> list[Violation]:
    rows, cols = np.nonzero(assign < 0)
    out = []
    for r, c in zip(rows, cols, strict=True):
        fmt = match.site_format.iloc[r]
        at = Violation(None, site=site_ids[r], flight=int(c) + 1)
        if fmt is None:
            out.append(replace(at, code="rotation_unplaced_kind"))
        else:
            params: dict[str, object] = {"format": str(fmt)}
            out.append(replace(at, code="rotation_unplaced", params=params))
    return out


def _gap_violations(
    assign: np.ndarray, problem: RotationProblem, site_ids: list[str], item_ids: list[Any]
) -> list[Violation]:
    flights = assign.shape[1]
    since = np.zeros(assign.shape, dtype=np.int64)  # flights since the same entry, 0: none
    for d in range(min(int(problem.gap.max(initial=0)), flights - 1), 0, -1):
        same = (assign[:, d:] == assign[:, :-d]) & (assign[:, d:] >= 0)
        same &= (problem.gap >= d)[:, None]
        since[:, d:][same] = d
    out = []
    for r, c in zip(*np.nonzero(since), strict=True):
        d, before, gap = int(since[r, c]), int(c) - int(since[r, c]) + 1, int(problem.gap[r])
        at = Violation(None, site=site_ids[r], flight=int(c) + 1, entry=item_ids[assign[r, c]])
        params: dict[str, object] = {"n": d, "before": before, "gap": gap}
        out.append(replace(at, code="rotation_gap", params=params))
    return out


def _neighbour_violations(
    assign: np.ndarray, problem: RotationProblem, site_ids: list[str], item_ids: list[Any]
) -> list[Violation]:
    out = []
    starts = np.repeat(np.arange(len(problem.nbr_ptr) - 1), np.diff(problem.nbr_ptr))
    mask = starts < problem.nbr_idx
    a, b = starts[mask], problem.nbr_idx[mask]
    same = (assign[a] == assign[b]) & (assign[a] >= 0)
    for k, c in zip(*np.nonzero(same), strict=True):
        other = site_ids[b[k]]
        at = Violation(
            None, site=site_ids[a[k]], flight=int(c) + 1, entry=item_ids[assign[a[k], c]]
        )
        out.append(replace(at, code="rotation_neighbour", params={"neighbour": other}))
    return out


def _theme_violations(
    assign: np.ndarray, problem: RotationProblem, group_names: list[str]
) -> list[Violation]:
    out = []
    for g, name in enumerate(group_names):
        sites = np.flatnonzero(problem.group == g)
        items = assign[sites].ravel()
        seen = np.asarray(problem.themes[items[items >= 0]].any(axis=0), dtype=bool)
        for t in np.flatnonzero(reachable_themes(problem, sites) & ~seen):
            params: dict[str, object] = {"region": name, "theme": THEMES[t]}
            out.append(Violation(code="rotation_theme", params=params))
    return out

"""Rules a rotation could not keep, found in an assignment and said with the reason.

`check_rotation` looks at a finished assignment (site x flight entry numbers) and
returns one `Violation` per broken rule; `nudge.content.rotation` adds the locks
it had to drop before solving (`dropped_lock`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nudge.content._solver import RotationProblem, reachable_themes
from nudge.content.matching import MatchResult
from nudge.content.schema import THEMES


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule the rotation could not keep, with where and why.

    `code` names the message in the details catalogue and `params` fills its
    placeholders, so the app can say it in the user's language
    (`nudge.i18n.problem_text`).
    """

    rule: str
    site_id: str | None
    flight: int | None
    item_id: str | None
    message: str
    code: str | None = None
    params: dict[str, object] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """Return the violation as a JSON-ready mapping."""
        return {
            "rule": self.rule,
            "site_id": self.site_id,
            "flight": self.flight,
            "item_id": self.item_id,
            "message": self.message,
        }


def dropped_lock(site: str, flight: int, item: str, items: pd.DataFrame, why: str) -> Violation:
    """Return the violation of a lock on an entry that is never placed (`unusable_items`)."""
    status = str(items.at[item, "status"])
    where = ("locked", site, flight, item, f"lock dropped: {why}")
    if status != "active":
        params: dict[str, object] = {"item": item, "status": status}
        return Violation(*where, code="rotation_lock_status", params=params)
    if not bool(items.at[item, "consent"]):
        return Violation(*where, code="rotation_lock_no_consent", params={"item": item})
    return Violation(*where, code="rotation_lock_example", params={"item": item})


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
        message = "the locked entry could not be kept"
        where = ("locked", ids[r], int(c) + 1, item, message)
        out.append(Violation(*where, code="rotation_lock_not_kept", params={"item": item}))
    rows, cols = np.nonzero(
        placed & ~np.take_along_axis(problem.eligible, np.maximum(assign, 0), 1)
    )
    for r, c in zip(rows, cols, strict=True):
        item = item_ids[assign[r, c]]
        fmt = match.site_format.get(ids[r])
        why = match.not_fitting.get((str(fmt), item), "the entry may not go on this format")
        where = ("format", ids[r], int(c) + 1, item, f"locked, but {why}")
        if fmt is None:
            out.append(Violation(*where, code="rotation_lock_no_format", params={"item": item}))
        else:
            params = {"item": item, "format": str(fmt)}
            out.append(Violation(*where, code="rotation_lock_format", params=params))
    return out


def _unplaced(assign: np.ndarray, site_ids: list[str], match: MatchResult) -> list[Violation]:
    rows, cols = np.nonzero(assign < 0)
    out = []
    for r, c in zip(rows, cols, strict=True):
        fmt = match.site_format.iloc[r]
        where = ("unplaced", site_ids[r], int(c) + 1, None)
        if fmt is None:
            message = "no format of this campaign takes this site's kind"
            out.append(Violation(*where, message, code="rotation_unplaced_kind"))
        else:
            message = f"no placeable entry fits the format {fmt}"
            params: dict[str, object] = {"format": str(fmt)}
            out.append(Violation(*where, message, code="rotation_unplaced", params=params))
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
        message = (
            f"shown again {d} flight(s) after flight {before}; the gap is {gap}: "
            "too few entries fit this site"
        )
        where = ("gap", site_ids[r], int(c) + 1, item_ids[assign[r, c]], message)
        params: dict[str, object] = {"n": d, "before": before, "gap": gap}
        out.append(Violation(*where, code="rotation_gap", params=params))
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
        message = (
            f"also shown at neighbour {other} in the same flight: too few "
            "entries fit these neighbouring sites"
        )
        where = ("neighbour", site_ids[a[k]], int(c) + 1, item_ids[assign[a[k], c]], message)
        out.append(Violation(*where, code="rotation_neighbour", params={"neighbour": other}))
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
            message = (
                f"region {name!r} never sees the theme {THEMES[t]!r}: no cell could "
                "take it without breaking the gap or neighbour rules"
            )
            params: dict[str, object] = {"region": name, "theme": THEMES[t]}
            out.append(
                Violation("theme", None, None, None, message, code="rotation_theme", params=params)
            )
    return out

"""Values of cells people type: the one yes/no vocabulary of nudge.

Content files, registry imports and forms all read yes/no cells through
`parse_bool`, so a cell that means "yes" in one file means it in every other.
"""

from __future__ import annotations

import numpy as np

TRUE_WORDS = frozenset({"1", "true", "yes", "y", "да", "иә", "ия", "x", "✓", "+"})
"""Cells read as yes (English, Russian, Kazakh, and the marks people tick)."""
FALSE_WORDS = frozenset({"0", "false", "no", "n", "нет", "жоқ", "-", "✗"})
"""Cells read as no."""
YES_NO_HINT = "yes/no, да/нет, иә/жоқ, true/false, 1/0, +/-"
"""The words `parse_bool` reads, for messages."""


def parse_bool(value: object) -> bool | None:
    """Return a yes/no cell as a bool, or None when it is neither.

    Parameters
    ----------
    value
        A bool, or text in any case: one of `TRUE_WORDS` or `FALSE_WORDS`
        (``1.0`` and ``0.0``, as spreadsheets give numbers, too). An empty
        cell is neither: callers decide what a blank means.

    Returns
    -------
    bool or None
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    text = str(value).strip().casefold().removesuffix(".0")
    return True if text in TRUE_WORDS else False if text in FALSE_WORDS else None

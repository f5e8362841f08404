"""The one yes/no vocabulary (nudge.io.values), shared by content and registry."""

from __future__ import annotations

import numpy as np
import pytest

from nudge.io.values import FALSE_WORDS, TRUE_WORDS, parse_bool


@pytest.mark.parametrize("cell", ["yes", "Да", " иә ", "ИЯ", "1", "1.0", "x", "✓", "+", True])
def test_yes_cells(cell: object) -> None:
    assert parse_bool(cell) is True


@pytest.mark.parametrize("cell", ["no", "НЕТ", "жоқ", "0", "0.0", "-", "✗", False, np.bool_(False)])
def test_no_cells(cell: object) -> None:
    assert parse_bool(cell) is False


@pytest.mark.parametrize("cell", ["", "maybe", "2", None])
def test_other_cells_are_neither(cell: object) -> None:
    assert parse_bool(cell) is None


def test_the_vocabularies_do_not_overlap() -> None:
    assert not TRUE_WORDS & FALSE_WORDS
    assert {"✓", "+"} <= TRUE_WORDS  # content's tick and the registry's plus agree


def test_content_reads_yes_no_through_the_shared_vocabulary() -> None:
    from nudge.content.schema import _parse_bool

    assert _parse_bool("+", "consent") is True
    assert _parse_bool("✓", "consent") is True
    assert _parse_bool("", "consent") is False

"""Package-wide rules: the library never imports Streamlit."""

from __future__ import annotations

import re
from pathlib import Path

import nudge

PACKAGE = Path(nudge.__file__).parent


def test_library_does_not_import_streamlit() -> None:
    pattern = re.compile(r"^\s*(import streamlit|from streamlit)", re.MULTILINE)
    offenders = [
        str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if pattern.search(p.read_text())
    ]
    assert offenders == []


def test_package_is_typed() -> None:
    assert (PACKAGE / "py.typed").exists()

"""Content library forms and rotation downloads of the Content page."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd


def entry_as_text(item: Mapping[str, Any]) -> dict[str, str]:
    """Return a library entry as the text cells of a form (the layout of the import files).

    Lists are ``; ``-separated, dynasty members ``name|role|years``, booleans
    ``yes``/``no``; `nudge.content.schema.item_from_raw` reads them back.
    """
    out: dict[str, str] = {}
    for key, value in item.items():
        if isinstance(value, bool):
            out[key] = "yes" if value else "no"
        elif isinstance(value, list | tuple):
            out[key] = "; ".join(
                "|".join(str(v.get(k) or "") for k in ("name", "role", "years")).rstrip("|")
                if isinstance(v, Mapping)
                else str(v)
                for v in value
            )
        elif value is None:
            out[key] = ""
        else:
            out[key] = str(value)
    return out


def rotation_workbook(result: Any) -> bytes:
    """Return a rotation as one XLSX workbook (calendar, schedule, exposure, print orders)."""
    from nudge.content import write_rotation

    with tempfile.TemporaryDirectory(prefix="nudge-rotation-") as tmp:
        written = write_rotation(result, Path(tmp) / "rotation.csv")
        return written["xlsx"].read_bytes()


def content_choices(library: Any) -> dict[str, str]:
    """Return the active library entries as ``id -> short Kazakh text`` for a picker."""
    frame = library.frame()
    active = frame[frame["status"] == "active"]
    return {
        str(i): (text[:60] + "…" if len(text) > 60 else text)
        for i, text in zip(active["id"], active["text_kk"], strict=True)
    }


def themes_lookup(library: Any) -> Any:
    """Return a function giving the themes of a library entry by id (for registry imports)."""
    frame = library.frame()
    themes = dict(zip(frame["id"], frame["themes"], strict=True))
    return lambda cid: tuple(themes[cid])


def calendar_with_texts(result: Any, *, width: int = 40) -> pd.DataFrame:
    """Return a rotation calendar whose cells show each entry's Kazakh text beside its id.

    A printer or a designer reads "kk-0017 · Еңбек етсең ерінбей…", not a bare code; the
    rotation's own tables keep the codes.
    """
    texts = result.match.items["text_kk"].astype(str)
    short = texts.where(texts.str.len() <= width, texts.str.slice(0, width - 1) + "…")
    label = {i: f"{i} · {s}" for i, s in short.items()}
    return result.calendar.map(lambda v: label.get(v, v) if isinstance(v, str) else v)

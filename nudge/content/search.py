"""Search of the content library: any script, any text field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nudge.content.library import ContentLibrary


def search_key(text: str) -> str:
    """Return `text` folded for search: any script to Latin letters, case and y/i ignored.

    So "Abai", "Абай" and "Abay" meet, and "Құнанбайұлы" is found by "Qunanbaiuly".
    """
    from anyascii import anyascii

    return anyascii(str(text)).casefold().replace("y", "i")


def _all_text(value: Any) -> str:
    if isinstance(value, Mapping):
        return " ".join(_all_text(v) for v in value.values())
    if isinstance(value, list | tuple):
        return " ".join(_all_text(v) for v in value)
    return value if isinstance(value, str) else ""


def search_ids(library: ContentLibrary, text: str) -> set[str]:
    """Return the ids of the entries that mention `text` in any of their text fields.

    The id, texts, author, source, names, members, stories and every other text are searched,
    in Kazakh, Russian or Latin script alike (see `search_key`): "Абай", "Abai",
    "Құнанбайұлы" and "Қара сөздер" all find Abai's quotations.
    """
    needle = search_key(text.strip())
    return {
        str(item.get("id"))
        for _, item in library.iter_items()
        if not needle or needle in search_key(_all_text(item))
    }
